import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendFile, copyFile, mkdir, mkdtemp, readFile, rename, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jsonFileCursorStore, memoryCursorStore } from '../../../../native-host/claude-code/usage/cursor-store';
import { listTranscripts, TranscriptReader } from '../../../../native-host/claude-code/usage/transcript-reader';
import { mergeUsageRecord, parseTranscriptLine } from '../../../../native-host/claude-code/usage/transcript-line';
import { assistantLine, CWD, rateLimitLine, SESSION, userLine } from '../fixtures/transcript-lines';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'transcripts');
const T0 = Date.parse('2026-03-02T09:00:00Z');

let dir: string;
let file: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchboard-transcripts-'));
  file = join(dir, `${SESSION}.jsonl`);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function readOnce(reader: TranscriptReader, files = [file]) {
  const batch = await reader.read(files);
  await batch.commit();
  return batch;
}

describe('transcripts the real CLI wrote', () => {
  it('counts a response written on two lines (text, then tool_use) once, with every kind of token', async () => {
    const reader = await TranscriptReader.open({ store: memoryCursorStore() });
    const batch = await readOnce(reader, [join(FIXTURES, 'tool-use-sonnet-4-5.jsonl')]);

    expect(batch.records).toEqual([
      {
        key: 'msg_01Fake0001:req_011Fake0001',
        sessionId: SESSION,
        messageId: 'msg_01Fake0001',
        requestId: 'req_011Fake0001',
        model: 'claude-sonnet-4-5-20250929',
        timestamp: expect.any(Number),
        inputTokens: 13,
        outputTokens: 41,
        cacheCreationTokens: 3001,
        cacheCreation1hTokens: 0,
        cacheReadTokens: 9001,
        cwd: CWD,
      },
      expect.objectContaining({ key: 'msg_01Fake0002:req_011Fake0002', inputTokens: 14, outputTokens: 42, cacheCreationTokens: 3002, cacheReadTokens: 9002 }),
    ]);
    expect(new Date(batch.records[0].timestamp).toISOString()).toMatch(/^2026-11-21T03:2\d:\d\d\.\d{3}Z$/);
    expect(batch.stats).toMatchObject({ usage: 2, duplicates: 1, rateLimits: 0, unknown: {}, malformed: 0, invalid: 0 });
    // queue operations, the prompt, attachments, request snapshots, the tool result, cost state…
    expect(batch.stats.other).toBe(batch.stats.lines - 3);
  });

  it('turns the synthetic 429 line into a rate-limit event, not usage', async () => {
    const reader = await TranscriptReader.open({ store: memoryCursorStore() });
    const batch = await readOnce(reader, [join(FIXTURES, 'rate-limit-429.jsonl')]);

    expect(batch.records).toEqual([]);
    expect(batch.rateLimits).toEqual([
      {
        key: 'fa83fd9c-d260-4f30-af55-310e3a10f74a',
        sessionId: '183460bd-38a0-4d59-b43f-4c2dbacb9b9a',
        at: Date.parse('2026-11-21T03:21:05.578Z'),
        status: 429,
        text: 'API Error: Request rejected (429) · Number of request tokens has exceeded your per-minute rate limit',
        resetsAt: null,
        limit: null,
        cwd: CWD,
      },
    ]);
    expect(batch.stats).toMatchObject({ rateLimits: 1, usage: 0, apiErrors: 0 });
  });

  it("reads a subscriber's limit with the reset time the CLI keeps beside the text, 5-hour and weekly", async () => {
    const reader = await TranscriptReader.open({ store: memoryCursorStore() });
    const fiveHour = await readOnce(reader, [join(FIXTURES, 'rate-limit-subscriber-five-hour.jsonl')]);
    expect(fiveHour.rateLimits).toEqual([
      {
        key: expect.any(String),
        sessionId: expect.any(String),
        at: expect.any(Number),
        status: 429,
        text: "You've hit your 5-hour limit · resets 7:46am (UTC)",
        // anthropic-ratelimit-unified-reset, epoch seconds, as the fake API sent it
        resetsAt: 1_795_247_194_000,
        limit: 'five_hour',
        cwd: CWD,
      },
    ]);
    expect(new Date(fiveHour.rateLimits[0].resetsAt!).toISOString()).toBe('2026-11-21T07:46:34.000Z');
    const weekly = await readOnce(reader, [join(FIXTURES, 'rate-limit-subscriber-weekly.jsonl')]);
    expect(weekly.rateLimits).toEqual([
      expect.objectContaining({ text: "You've hit your weekly limit · resets Nov 24, 1:29am (America/New_York)", resetsAt: Date.parse('2026-11-24T06:29:35Z'), limit: 'seven_day' }),
    ]);
    expect(weekly.stats).toMatchObject({ rateLimits: 1, usage: 0, unknown: {}, malformed: 0, invalid: 0 });
  });

  it('takes a retry the CLI made (a system api_error line) for no limit, and the 429 it gave up on for one without a reset time', async () => {
    const reader = await TranscriptReader.open({ store: memoryCursorStore() });
    const batch = await readOnce(reader, [join(FIXTURES, 'rate-limit-429-retried.jsonl')]);
    expect(batch.rateLimits).toEqual([
      expect.objectContaining({ status: 429, text: 'API Error: Request rejected (429) · This request would exceed your rate limit. Please try again later.', resetsAt: null, limit: null }),
    ]);
    expect(batch.stats).toMatchObject({ rateLimits: 1, usage: 0, apiErrors: 0, unknown: {}, malformed: 0, invalid: 0 });
  });

  it('reads a reset time of an unexpected shape as none, never as a bad line', () => {
    const line = JSON.parse(rateLimitLine(T0, 'u-odd'));
    const parse = (extra: Record<string, unknown>) => parseTranscriptLine(JSON.stringify({ ...line, ...extra }), SESSION, 'f:0');
    expect(parse({ apiErrorParams: { rate_limit_info: { resetsAt: 'soon', rateLimitType: 5 } }, quotaLimits: 'full' })).toMatchObject({ kind: 'rate-limit', event: { resetsAt: null, limit: null } });
    expect(parse({ quotaLimits: { resetsAt: 1_795_247_194, rateLimitType: 'five_hour' } })).toMatchObject({ kind: 'rate-limit', event: { resetsAt: 1_795_247_194_000, limit: 'five_hour' } });
    expect(parse({ apiErrorParams: { rate_limit_info: { resetsAt: 1_795_247_194_000 } } })).toMatchObject({ kind: 'rate-limit', event: { resetsAt: 1_795_247_194_000 } });
    expect(parse({ apiErrorParams: { rate_limit_info: { resetsAt: -5 } } })).toMatchObject({ kind: 'rate-limit', event: { resetsAt: null } });
  });

  it('reads the 1.0.x format: summaries, a sidechain answer, the subscriber limit with its reset time', async () => {
    const reader = await TranscriptReader.open({ store: memoryCursorStore() });
    const batch = await readOnce(reader, [join(FIXTURES, 'legacy-1.0.jsonl')]);

    expect(batch.records.map((record) => [record.messageId, record.model, record.outputTokens])).toEqual([
      ['msg_01Legacy0001', 'claude-opus-4-1-20250805', 8],
      ['msg_01Legacy0002', 'claude-sonnet-4-20250514', 212],
      ['msg_01Legacy0003', 'claude-opus-4-1-20250805', 164],
    ]);
    expect(batch.rateLimits).toEqual([
      expect.objectContaining({ text: 'Claude AI usage limit reached|1754312400', status: null, resetsAt: Date.parse('2025-08-04T13:00:00Z') }),
    ]);
    expect(batch.stats).toMatchObject({ lines: 12, usage: 3, duplicates: 1, rateLimits: 1, other: 7, unknown: {}, malformed: 0 });
  });
});

describe('reading incrementally', () => {
  it('leaves a partial last line for the next read and then reads it whole', async () => {
    const whole = assistantLine({ id: 'msg_a', at: T0, output: 120 });
    await writeFile(file, `${userLine(T0)}\n${whole.slice(0, 150)}`);
    const reader = await TranscriptReader.open({ store: memoryCursorStore() });

    const first = await readOnce(reader);
    expect(first.records).toEqual([]);
    expect(first.stats).toMatchObject({ lines: 1, other: 1, malformed: 0 });
    expect(reader.offsetOf(file)).toBe(Buffer.byteLength(userLine(T0)) + 1);

    await appendFile(file, `${whole.slice(150)}\n`);
    const second = await readOnce(reader);
    expect(second.records.map((record) => [record.messageId, record.outputTokens])).toEqual([['msg_a', 120]]);
    expect(second.stats).toMatchObject({ lines: 1, usage: 1, malformed: 0 });
  });

  it('reads only what was appended since the last commit', async () => {
    await writeFile(file, `${assistantLine({ id: 'msg_1', at: T0 })}\n`);
    const reader = await TranscriptReader.open({ store: memoryCursorStore() });
    expect((await readOnce(reader)).records).toHaveLength(1);
    expect((await readOnce(reader)).stats.lines).toBe(0);

    await appendFile(file, `${assistantLine({ id: 'msg_2', at: T0 + 60_000 })}\n${assistantLine({ id: 'msg_3', at: T0 + 120_000 })}\n`);
    expect((await readOnce(reader)).records.map((record) => record.messageId)).toEqual(['msg_2', 'msg_3']);
  });

  it('reads a batch again when it was not committed (the caller could not store it)', async () => {
    await writeFile(file, `${assistantLine({ id: 'msg_1', at: T0 })}\n`);
    const reader = await TranscriptReader.open({ store: memoryCursorStore() });
    const dropped = await reader.read([file]);
    expect(dropped.records).toHaveLength(1);

    const again = await readOnce(reader);
    expect(again.records.map((record) => record.messageId)).toEqual(['msg_1']);
    expect(again.stats.duplicates).toBe(0);
  });

  it('gives the same result in chunks of a few bytes, multi-byte characters included', async () => {
    const lines = [
      userLine(T0, 'Grüße — ✓ 日本語'),
      assistantLine({ id: 'msg_1', at: T0, text: 'Voilà: ✓✓✓ 🎉' }),
      assistantLine({ id: 'msg_1', at: T0, text: 'second block of the same response' }),
      assistantLine({ id: 'msg_2', at: T0 + 1000, text: 'naïve café' }),
    ];
    await writeFile(file, `${lines.join('\n')}\n`);
    const whole = await readOnce(await TranscriptReader.open({ store: memoryCursorStore() }));
    const chunked = await readOnce(await TranscriptReader.open({ store: memoryCursorStore(), chunkBytes: 7 }));
    expect(chunked.records).toEqual(whole.records);
    expect(chunked.stats).toEqual(whole.stats);
    expect(chunked.stats).toMatchObject({ lines: 4, usage: 2, duplicates: 1, malformed: 0 });
  });

  it('skips a line longer than maxLineBytes, even when it spans reads, and reads the next one', async () => {
    const reader = await TranscriptReader.open({ store: memoryCursorStore(), maxLineBytes: 2000, chunkBytes: 256 });
    const huge = JSON.stringify({ type: 'user', message: { role: 'user', content: 'x'.repeat(5000) }, timestamp: new Date(T0).toISOString() });
    await writeFile(file, huge.slice(0, 3000));
    const first = await readOnce(reader);
    expect(first.stats).toMatchObject({ lines: 0, oversized: 0 });

    await appendFile(file, `${huge.slice(3000)}\n${assistantLine({ id: 'msg_after', at: T0 })}\n`);
    const second = await readOnce(reader);
    expect(second.stats).toMatchObject({ oversized: 1, usage: 1, malformed: 0 });
    expect(second.records.map((record) => record.messageId)).toEqual(['msg_after']);
    expect(second.stats.problems).toEqual([expect.stringContaining('longer than 2000 bytes')]);
  });
});

describe('duplicates', () => {
  it('counts the lines of one response once, also when they arrive in different reads', async () => {
    await writeFile(file, `${assistantLine({ id: 'msg_1', requestId: 'req_1', at: T0 })}\n`);
    const reader = await TranscriptReader.open({ store: memoryCursorStore() });
    expect((await readOnce(reader)).records).toHaveLength(1);

    await appendFile(file, `${assistantLine({ id: 'msg_1', requestId: 'req_1', at: T0 + 300, text: 'tool_use block' })}\n`);
    const second = await readOnce(reader);
    expect(second.records).toEqual([]);
    expect(second.stats).toMatchObject({ lines: 1, usage: 0, duplicates: 1 });
  });

  it('remembers the last keys of each file across a restart (the store), so a response split by the restart is counted once', async () => {
    const store = jsonFileCursorStore(join(dir, 'state', 'cursors.json'));
    await writeFile(file, `${assistantLine({ id: 'msg_1', requestId: 'req_1', at: T0 })}\n`);
    await readOnce(await TranscriptReader.open({ store }));

    await appendFile(file, `${assistantLine({ id: 'msg_1', requestId: 'req_1', at: T0 + 300 })}\n${assistantLine({ id: 'msg_2', at: T0 + 400 })}\n`);
    const restarted = await TranscriptReader.open({ store });
    const batch = await readOnce(restarted);
    expect(batch.records.map((record) => record.messageId)).toEqual(['msg_2']);
    expect(batch.stats).toMatchObject({ lines: 2, usage: 1, duplicates: 1 });
  });

  it('tells responses apart by request id too: the same message id with another request id is another response', async () => {
    await writeFile(file, `${assistantLine({ id: 'msg_1', requestId: 'req_1', at: T0 })}\n${assistantLine({ id: 'msg_1', requestId: 'req_2', at: T0 + 1 })}\n`);
    const batch = await readOnce(await TranscriptReader.open({ store: memoryCursorStore() }));
    expect(batch.records.map((record) => record.key)).toEqual(['msg_1:req_1', 'msg_1:req_2']);
  });

  it('returns a later line of the same response that reports more tokens, to supersede the first', async () => {
    await writeFile(file, `${assistantLine({ id: 'msg_1', requestId: 'req_1', at: T0, output: 1 })}\n`);
    const reader = await TranscriptReader.open({ store: memoryCursorStore() });
    const first = await readOnce(reader);

    await appendFile(file, `${assistantLine({ id: 'msg_1', requestId: 'req_1', at: T0 + 500, output: 350 })}\n`);
    const second = await readOnce(reader);
    expect(second.records.map((record) => [record.key, record.outputTokens])).toEqual([['msg_1:req_1', 350]]);
    expect(second.stats).toMatchObject({ usage: 0, superseding: 1, duplicates: 0 });
    expect(mergeUsageRecord(first.records[0], second.records[0]).outputTokens).toBe(350);
    expect(mergeUsageRecord(second.records[0], first.records[0]).outputTokens).toBe(350);
  });

  it('counts a rate-limit line once, across files (a resumed session copies earlier lines)', async () => {
    const line = rateLimitLine(T0, 'rl-uuid-1');
    const copy = join(dir, 'resumed.jsonl');
    await writeFile(file, `${line}\n`);
    await writeFile(copy, `${line}\n`);
    const batch = await readOnce(await TranscriptReader.open({ store: memoryCursorStore() }), [file, copy]);
    expect(batch.rateLimits.map((event) => event.key)).toEqual(['rl-uuid-1']);
    expect(batch.stats).toMatchObject({ rateLimits: 1, duplicates: 1 });
  });
});

describe('lines it cannot use', () => {
  it('counts unknown types, malformed JSON and unreadable usage, and reads on', async () => {
    const lines = [
      JSON.stringify({ type: 'hologram-snapshot', sessionId: SESSION, payload: {} }),
      '{"type":"assistant","message":{"id":"msg_cut"',
      'plain text in a transcript',
      '[1,2,3]',
      JSON.stringify({ sessionId: SESSION }),
      JSON.stringify({ type: 'assistant', timestamp: 'yesterday', message: { id: 'msg_bad_time', usage: { input_tokens: 1, output_tokens: 1 } } }),
      JSON.stringify({ type: 'assistant', timestamp: new Date(T0).toISOString(), message: { id: 'msg_bad_usage', usage: { input_tokens: '12', output_tokens: 3 } } }),
      JSON.stringify({ type: 'assistant', timestamp: new Date(T0).toISOString(), message: 'not an object' }),
      JSON.stringify({ type: 'hologram-snapshot' }),
      assistantLine({ id: 'msg_good', at: T0 }),
    ];
    await writeFile(file, `${lines.join('\n')}\n\n`);
    const batch = await readOnce(await TranscriptReader.open({ store: memoryCursorStore() }));

    expect(batch.records.map((record) => record.messageId)).toEqual(['msg_good']);
    expect(batch.stats).toMatchObject({
      lines: 10,
      usage: 1,
      unknown: { 'hologram-snapshot': 2, '(no type)': 1 },
      malformed: 3,
      invalid: 3,
    });
    expect(batch.stats.problems).toEqual([
      expect.stringMatching(new RegExp(`^${file}:\\d+: not a JSON object`)),
      expect.stringContaining('not a JSON object'),
      expect.stringContaining('not a JSON object (not a JSON object)'),
      expect.stringMatching(/:\d+: timestamp: expected an ISO 8601 time$/),
      expect.stringMatching(/:\d+: message\.usage\.input_tokens: expected a token count/),
      expect.stringMatching(/:\d+: message: expected the message object$/),
    ]);
  });

  it('takes other synthetic API errors for what they are: no usage, no rate limit', () => {
    const overloaded = JSON.stringify({
      type: 'assistant',
      timestamp: new Date(T0).toISOString(),
      isApiErrorMessage: true,
      message: { id: 'x', model: '<synthetic>', usage: { input_tokens: 0, output_tokens: 0 }, content: [{ type: 'text', text: 'API Error: 529 Overloaded' }] },
    });
    expect(parseTranscriptLine(overloaded, SESSION, 'f:0')).toEqual({ kind: 'api-error', text: 'API Error: 529 Overloaded' });
  });

  it('uses the file name as the session id when a line has none', () => {
    const line = JSON.parse(assistantLine({ id: 'msg_1', at: T0 }));
    delete line.sessionId;
    const parsed = parseTranscriptLine(JSON.stringify(line), 'from-file-name', 'f:0');
    expect(parsed).toMatchObject({ kind: 'usage', record: { sessionId: 'from-file-name' } });
  });
});

describe('rotation', () => {
  it('reads a truncated file from the start', async () => {
    await writeFile(file, `${assistantLine({ id: 'msg_1', at: T0 })}\n${assistantLine({ id: 'msg_2', at: T0 + 1 })}\n`);
    const reader = await TranscriptReader.open({ store: memoryCursorStore() });
    await readOnce(reader);

    await truncate(file, 0);
    await writeFile(file, `${assistantLine({ id: 'msg_3', at: T0 + 2 })}\n`);
    const batch = await readOnce(reader);
    expect(batch.restarted).toEqual([file]);
    expect(batch.records.map((record) => record.messageId)).toEqual(['msg_3']);
    expect(reader.offsetOf(file)).toBe(Buffer.byteLength(assistantLine({ id: 'msg_3', at: T0 + 2 })) + 1);
  });

  it('reads a file replaced by another (a new inode), even one larger than the offset', async () => {
    await writeFile(file, `${assistantLine({ id: 'msg_1', at: T0 })}\n`);
    const reader = await TranscriptReader.open({ store: memoryCursorStore() });
    await readOnce(reader);

    const replacement = join(dir, 'replacement.jsonl');
    const lines = [1, 2, 3].map((n) => assistantLine({ id: `msg_new_${n}`, at: T0 + n }));
    await writeFile(replacement, `${lines.join('\n')}\n`);
    await rename(replacement, file);
    const batch = await readOnce(reader);
    expect(batch.restarted).toEqual([file]);
    expect(batch.records.map((record) => record.messageId)).toEqual(['msg_new_1', 'msg_new_2', 'msg_new_3']);
  });

  it('forgets a file that was deleted', async () => {
    await writeFile(file, `${assistantLine({ id: 'msg_1', at: T0 })}\n`);
    const store = memoryCursorStore();
    const reader = await TranscriptReader.open({ store });
    await readOnce(reader);
    await rm(file);

    const batch = await readOnce(reader);
    expect(batch.missing).toEqual([file]);
    expect(reader.offsetOf(file)).toBeUndefined();
    expect(store.saved?.files).toEqual({});
  });
});

describe('the cursor store', () => {
  it('keeps offsets in a JSON file, so a restarted reader does not count again', async () => {
    const store = jsonFileCursorStore(join(dir, 'state', 'cursors.json'));
    await copyFile(join(FIXTURES, 'tool-use-sonnet-4-5.jsonl'), file);
    const first = await readOnce(await TranscriptReader.open({ store }));
    expect(first.records).toHaveLength(2);

    const saved = JSON.parse(await readFile(join(dir, 'state', 'cursors.json'), 'utf8'));
    expect(saved.files[file].offset).toBe((await readFile(file)).length);

    const again = await readOnce(await TranscriptReader.open({ store }));
    expect(again.records).toEqual([]);
    expect(again.stats.lines).toBe(0);
  });

  it('refuses a cursor file it cannot read, naming the field', async () => {
    const path = join(dir, 'cursors.json');
    await writeFile(path, JSON.stringify({ version: 1, files: { '/x.jsonl': { offset: -4, ino: 1, skipping: false, recent: [] } } }));
    await expect(TranscriptReader.open({ store: jsonFileCursorStore(path) })).rejects.toThrow(
      `invalid transcript cursors in ${path}: files./x.jsonl.offset: expected an integer ≥ 0`,
    );
    await writeFile(path, '{"version":1,');
    await expect(TranscriptReader.open({ store: jsonFileCursorStore(path) })).rejects.toThrow(`transcript cursors in ${path} are not JSON`);
  });
});

describe('listTranscripts', () => {
  it('finds sessions and their subagents under the projects folder, and nothing when it does not exist', async () => {
    const projects = join(dir, 'projects');
    await mkdir(join(projects, '-home-dev-a', SESSION, 'subagents'), { recursive: true });
    await mkdir(join(projects, '-home-dev-b'), { recursive: true });
    await writeFile(join(projects, '-home-dev-a', `${SESSION}.jsonl`), '');
    await writeFile(join(projects, '-home-dev-a', SESSION, 'subagents', 'agent-1.jsonl'), '');
    await writeFile(join(projects, '-home-dev-b', 'other.jsonl'), '');
    await writeFile(join(projects, '-home-dev-b', 'notes.txt'), '');

    expect(await listTranscripts(projects)).toEqual([
      join(projects, '-home-dev-a', `${SESSION}.jsonl`),
      join(projects, '-home-dev-a', SESSION, 'subagents', 'agent-1.jsonl'),
      join(projects, '-home-dev-b', 'other.jsonl'),
    ]);
    expect(await listTranscripts(join(dir, 'nowhere'))).toEqual([]);
  });
});
