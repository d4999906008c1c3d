import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commandWord, scriptPaths, statusLineScript } from '../../../native-host/claude-code/hook-script';
import { ensureHome } from '../../../native-host/config';
import type { Settings } from '../../../native-host/claude-code/settings';
import { statusLineCommand, unwrapStatusLine, wrapStatusLine, wrappedCommand } from '../../../native-host/claude-code/statusline';
import { run, startFakeDaemon, type FakeDaemon } from './fake-daemon';

let root: string;
let home: string;
let daemon: FakeDaemon;
let wrapper: string;

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'sb-statusline '));
  home = join(root, 'home');
  mkdirSync(join(home, 'bin'), { recursive: true });
  mkdirSync(join(home, 'spool'));
  writeFileSync(join(home, 'token'), `${'ef'.repeat(32)}\n`);
  ensureHome(home); // curl-auth.conf, as the daemon and every install write it
  daemon = await startFakeDaemon();
  const script = scriptPaths(home).statusLine;
  writeFileSync(script, statusLineScript({ home, apiPort: daemon.port }));
  chmodSync(script, 0o755);
  wrapper = commandWord(script);
});
afterEach(async () => {
  await daemon.close();
  rmSync(root, { recursive: true, force: true });
});

const INPUT = `${JSON.stringify({
  session_id: 's-9',
  model: { id: 'claude-sonnet-4-5', display_name: 'Sonnet' },
  workspace: { current_dir: '/w' },
  rate_limits: { five_hour: { used_percentage: 61, resets_at: 1_760_000_000 } },
})}\n`;

/** The person's status line commands: bash-isms, a compound, a trailing comment, an exit code, odd output. */
const ORIGINALS: Record<string, string> = {
  'a script reading stdin': '', // written by the test: a script with a space in its path
  'bash-isms and a pipe': `input=$(cat); [[ "$input" == *Sonnet* ]] && printf '%s|' "$(printf '%s' "$input" | wc -c)"; echo " ok"`,
  'a compound ending in a comment': `read -r line; echo "\${#line} chars"; exit 3 # keep the exit code`,
  'output without a final newline, and ANSI colours': `cat >/dev/null; printf '\\033[32mgreen\\033[0m  two  spaces'`,
  'a command that ignores its input': `echo ignored`,
};

async function asClaudeCodeRuns(command: string, shell: string) {
  // Claude Code runs the status line through a shell, bash on Linux and macOS (its settings schema).
  return run(shell, ['-c', command], INPUT, { cwd: root });
}

describe.skipIf(process.platform === 'win32')('the wrapped status line, run for real', () => {
  it.each(Object.keys(ORIGINALS))('prints exactly what the person\'s command prints, with its exit code: %s', async (name) => {
    let original = ORIGINALS[name];
    if (!original) {
      const script = join(root, 'my status line.sh');
      writeFileSync(script, '#!/bin/sh\nread -r json\necho "[$(printf %s "$json" | cut -c1-20)]"\necho line2 >&2\nexit 0\n');
      chmodSync(script, 0o755);
      original = `'${script}' --flag`;
    }
    const data: Settings = { statusLine: { type: 'command', command: original, padding: 1 } };
    const wrap = wrapStatusLine(data, wrapper);
    expect(wrap).toEqual({ changed: true, command: statusLineCommand(wrapper, original), original });
    expect(data.statusLine).toEqual({ type: 'command', command: wrap.command, padding: 1 });

    for (const shell of ['bash', 'sh']) {
      if (shell === 'sh' && name === 'bash-isms and a pipe') continue; // a bash command stays a bash command
      const alone = await asClaudeCodeRuns(original, shell);
      const wrapped = await asClaudeCodeRuns(wrap.command, shell);
      expect(wrapped).toMatchObject({ code: alone.code, stdout: alone.stdout, stderr: alone.stderr });
    }
    // …and the daemon saw the input, once per run.
    const posted = await daemon.received(name === 'bash-isms and a pipe' ? 1 : 2);
    for (const request of posted) {
      expect(request.url).toBe('/hooks/statusline');
      expect(request.body.toString('utf8')).toBe(INPUT);
    }
  });

  it('with no status line of the person\'s: ours prints nothing and posts the input', async () => {
    const data: Settings = { model: 'opus' };
    const wrap = wrapStatusLine(data, wrapper);
    expect(wrap).toEqual({ changed: true, command: wrapper, original: null });
    expect(data.statusLine).toEqual({ type: 'command', command: wrapper });
    expect(await asClaudeCodeRuns(wrap.command, 'bash')).toMatchObject({ code: 0, stdout: '', stderr: '' });
    const [posted] = await daemon.received(1);
    expect(posted.body.toString('utf8')).toBe(INPUT);
  });
});

describe('wrapStatusLine / unwrapStatusLine', () => {
  const w = '/h/.switchboard/bin/switchboard-statusline';

  it('a second wrap changes nothing', () => {
    const data: Settings = { statusLine: { type: 'command', command: 'echo hi' } };
    const first = wrapStatusLine(data, w);
    const text = JSON.stringify(data);
    expect(wrapStatusLine(data, w)).toEqual({ changed: false, command: first.command, original: 'echo hi' });
    expect(JSON.stringify(data)).toBe(text);
  });

  it('unwrap puts the person\'s command back exactly, keeping the other status line settings', () => {
    const original = 'cd ~ && ./line.sh | head -1  # tabs\tand "quotes"\n';
    const data: Settings = { statusLine: { type: 'command', command: original, padding: 2, refreshInterval: 5 } };
    const before = JSON.stringify(data);
    const wrap = wrapStatusLine(data, w);
    expect(wrappedCommand(wrap.command, w)).toBe(original);
    expect(unwrapStatusLine(data, w, { command: wrap.command, original })).toBe('restored');
    expect(JSON.stringify(data)).toBe(before);
  });

  it('unwrap removes ours when it was the only one, and reads the wrapped command back without a record', () => {
    const data: Settings = { model: 'x' };
    wrapStatusLine(data, w);
    expect(unwrapStatusLine(data, w)).toBe('removed');
    expect(data).toEqual({ model: 'x' });

    const wrapped: Settings = { statusLine: { type: 'command', command: statusLineCommand(w, 'echo mine') } };
    expect(unwrapStatusLine(wrapped, w)).toBe('restored');
    expect(wrapped.statusLine).toEqual({ type: 'command', command: 'echo mine' });
  });

  it('leaves a status line that is no longer ours alone', () => {
    const data: Settings = { statusLine: { type: 'command', command: 'echo replaced by the person' } };
    expect(unwrapStatusLine(data, w, { command: statusLineCommand(w, 'echo old'), original: 'echo old' })).toBe('not ours');
    expect(data.statusLine).toEqual({ type: 'command', command: 'echo replaced by the person' });
    expect(unwrapStatusLine({}, w)).toBe('absent');
    expect(wrappedCommand(`${w}-other`, w)).toBeUndefined();
  });
});
