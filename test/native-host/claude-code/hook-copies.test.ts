import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HookCopies, KEEP_MS, MATCH_WINDOW_MS, hookPid } from '../../../native-host/claude-code/hook-copies';

const event = { session_id: 's-1', hook_event_name: 'PostToolUse', tool_use_id: 'toolu_01', tool_response: { stdout: 'hi' } };

describe('copies of one hook event', () => {
  let dir: string;
  let now: number;
  let journaled: number[];
  const journal = (at: number) => async () => void journaled.push(at);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sb-copies-'));
    now = 1_760_000_000_000;
    journaled = [];
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('takes the first copy and drops the second, whichever comes first', async () => {
    const copies = new HookCopies(() => now);
    expect(await copies.take(4242, event, now, journal(1))).toBe(true);
    expect(await copies.take(4242, { ...event }, now + 2_100, journal(2))).toBe(false);
    // The spooled copy drained before the slow POST was taken: the POST is the copy then.
    expect(await copies.take(77, event, now + 2_000, journal(3))).toBe(true);
    expect(await copies.take(77, event, now + 5_000, journal(4))).toBe(false);
    expect(journaled).toEqual([1, 3]);
  });

  it('never drops a distinct event: another pid, another payload, too far apart, or no pid', async () => {
    const copies = new HookCopies(() => now);
    await copies.take(4242, event, now, journal(1));
    expect(await copies.take(4243, event, now + 1, journal(2))).toBe(true);
    expect(await copies.take(4242, { ...event, tool_use_id: 'toolu_02' }, now + 2, journal(3))).toBe(true);
    expect(await copies.take(4242, event, now + MATCH_WINDOW_MS + 1, journal(4))).toBe(true);
    expect(await copies.take(undefined, event, now, journal(5))).toBe(true);
    expect(await copies.take(undefined, event, now, journal(6))).toBe(true);
    expect(journaled).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('takes the second copy when journaling the first failed (the journal was full), and passes the error on', async () => {
    const copies = new HookCopies(() => now);
    await expect(copies.take(4242, event, now, async () => Promise.reject(new Error('journal full')))).rejects.toThrow('journal full');
    expect(await copies.take(4242, event, now + 2_000, journal(2))).toBe(true);
    expect(journaled).toEqual([2]);
  });

  it('lets a copy that comes while the first is being journaled wait for it: dropped when it was journaled, taken when not', async () => {
    const copies = new HookCopies(() => now);
    let finish!: () => void;
    const first = copies.take(1, event, now, () => new Promise<void>((resolve) => (finish = resolve)));
    const second = copies.take(1, event, now + 2_000, journal(2));
    finish();
    expect(await first).toBe(true);
    expect(await second).toBe(false);

    let fail!: (error: Error) => void;
    const third = copies.take(2, event, now, () => new Promise<void>((_resolve, reject) => (fail = reject)));
    const fourth = copies.take(2, event, now + 2_000, journal(4));
    fail(new Error('disk full'));
    await expect(third).rejects.toThrow('disk full');
    expect(await fourth).toBe(true);
    expect(journaled).toEqual([4]);
  });

  it('remembers the copies taken across a restart, however long the daemon was stopped, then forgets them after KEEP_MS', async () => {
    const file = join(dir, 'hook-copies.json');
    const before = new HookCopies(() => now);
    await before.take(4242, event, now, journal(1));
    await before.save(file);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ version: 1, copies: [[expect.any(String), now]] });

    now += 3_600_000; // stopped for an hour
    const after = new HookCopies(() => now);
    await after.load(file);
    expect(after.size).toBe(1);
    expect(await after.take(4242, event, now - 3_600_000 + 2_000, journal(2))).toBe(false);

    await after.take(5, event, now, journal(3));
    now += KEEP_MS + 1;
    await after.save(file);
    expect(JSON.parse(await readFile(file, 'utf8')).copies).toEqual([]);
    expect(after.size).toBe(0);
    expect(journaled).toEqual([1, 3]);
  });

  it('starts afresh, with a warning, from a file that is not its own; a missing file is nothing remembered', async () => {
    const file = join(dir, 'hook-copies.json');
    const warnings: string[] = [];
    const copies = new HookCopies(() => now);
    await copies.load(file, (line) => warnings.push(line));
    expect(warnings).toEqual([]);
    await writeFile(file, '{"version":1,"copies":[["k","yesterday"]]}');
    await copies.load(file, (line) => warnings.push(line));
    await writeFile(file, '{"version":1,"cop');
    await copies.load(file, (line) => warnings.push(line));
    expect(copies.size).toBe(0);
    expect(warnings).toEqual([
      expect.stringMatching(/hook-copies\.json is not a list of hook events taken; starting afresh/),
      expect.stringMatching(/hook-copies\.json is not a list of hook events taken; starting afresh/),
    ]);
  });

  it('reads a hook process id from the header or a file name, and nothing else', () => {
    expect(hookPid('4242')).toBe(4242);
    expect(hookPid(' 17 ')).toBe(17);
    for (const bad of [undefined, '', '0', '-1', '12a', '1.5', '99999999999', ['1', '2']]) expect(hookPid(bad as string)).toBeUndefined();
  });
});
