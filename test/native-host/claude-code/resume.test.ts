import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RESUME_PROMPT, SessionResumer } from '../../../native-host/claude-code/resume';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchboard-resume-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

function resumer(enabled: boolean, start: (command: string, args: string[], cwd: string | undefined) => Promise<number | null>, stillWaiting = () => false) {
  let now = 1_000_000;
  const lines: string[] = [];
  const runs: { command: string; args: string[]; cwd: string | undefined }[] = [];
  const scheduled: { work: () => void; ms: number }[] = [];
  const r = new SessionResumer({
    enabled,
    command: '/opt/claude',
    logDir: join(dir, 'logs'),
    log: (line) => lines.push(line),
    now: () => now,
    stillWaiting,
    later: (work, ms) => scheduled.push({ work, ms }),
    start: (command, args, cwd) => {
      runs.push({ command, args, cwd });
      return { exited: start(command, args, cwd) };
    },
  });
  return { r, runs, lines, scheduled, advance: (ms: number) => (now += ms) };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('resuming an ended session for its mail', () => {
  it('runs again a minute after a run that left mail waiting, and at most three times in six hours', async () => {
    const { r, runs, lines, scheduled, advance } = resumer(true, async () => 0, () => true);
    r.track('sess-3', '/work/three');
    expect(r.resume('sess-3')).toBe(true);
    for (let i = 0; i < 3; i++) {
      await tick();
      expect(scheduled.at(-1)!.ms).toBe(60_000);
      advance(60_000);
      scheduled.at(-1)!.work();
    }
    expect(runs).toHaveLength(3);
    expect(lines.at(-1)).toMatch(/not resuming session sess-3 again: resumed 3 times in 6 h; its mail waits/);
    advance(6 * 3_600_000);
    expect(r.resume('sess-3')).toBe(true);
  });

  it('does nothing unless the person enabled it', () => {
    const { r, runs } = resumer(false, async () => 0);
    expect(r.resume('sess-1')).toBe(false);
    expect(runs).toEqual([]);
  });

  it('runs claude --resume in the session\'s folder, one run at a time, at most once a minute', async () => {
    let finish!: (code: number) => void;
    const { r, runs, lines, advance } = resumer(true, () => new Promise((resolve) => (finish = resolve)));
    r.track('sess-1', '/work/app');
    expect(r.resume('sess-1')).toBe(true);
    expect(runs).toEqual([{ command: '/opt/claude', args: ['--resume', 'sess-1', '-p', RESUME_PROMPT], cwd: '/work/app' }]);
    expect(r.resume('sess-1')).toBe(false); // still running
    finish(1);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(lines.at(-1)).toMatch(/resumed session sess-1 exited with 1; see .*resume-sess-1\.log/);
    expect(r.resume('sess-1')).toBe(false); // within the minute
    advance(60_000);
    expect(r.resume('sess-1')).toBe(true);
    expect(runs).toHaveLength(2);
  });

  it('refuses a session id that could be anything but an id, and survives a command that cannot start', async () => {
    const { r, runs, lines } = resumer(true, async () => {
      throw new Error('spawn /opt/claude ENOENT');
    });
    expect(r.resume('--dangerously-skip-permissions')).toBe(false); // claude would take it for an option
    expect(r.resume('a b; rm -rf /')).toBe(false);
    expect(lines).toEqual([expect.stringMatching(/not resuming "--dangerously-skip-permissions": not a session id/), expect.stringMatching(/not resuming "a b; rm -rf \/": not a session id/)]);
    expect(r.resume('sess-2')).toBe(false); // no folder known: --resume would not find it
    expect(lines.at(-1)).toMatch(/not resuming session sess-2: its folder is not known/);
    expect(r.resume('sess-2', '/work/two')).toBe(true); // the project the hub knows
    expect(runs[0].cwd).toBe('/work/two');
    await tick();
    expect(lines.at(-1)).toMatch(/could not resume session sess-2: spawn \/opt\/claude ENOENT/);
    expect(runs).toHaveLength(1);
  });
});
