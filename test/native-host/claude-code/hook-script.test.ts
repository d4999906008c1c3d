import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hookScript, scriptPaths, shellQuote, statusLineScript, type HookScriptOptions } from '../../../native-host/claude-code/hook-script';
import { deadPort, run, startFakeDaemon, type FakeDaemon } from './fake-daemon';
import { ensureHome } from '../../../native-host/config';

let root: string;
let home: string;
let daemon: FakeDaemon | undefined;
const TOKEN = 'ab'.repeat(32);

beforeEach(() => {
  // A space and a quote in the home: every path in the scripts must be quoted.
  root = mkdtempSync(join(tmpdir(), "sb-hook '"));
  home = join(root, 'h o"me');
  mkdirSync(join(home, 'bin'), { recursive: true });
  mkdirSync(join(home, 'spool'));
  writeFileSync(join(home, 'token'), `${TOKEN}\n`, { mode: 0o600 });
  ensureHome(home); // writes curl-auth.conf from the token, as the daemon and every install do
});
afterEach(async () => {
  await daemon?.close();
  daemon = undefined;
  rmSync(root, { recursive: true, force: true });
});

function writeScripts(options: Omit<HookScriptOptions, 'home'>) {
  const where = scriptPaths(home);
  writeFileSync(where.hook, hookScript({ home, ...options }));
  writeFileSync(where.statusLine, statusLineScript({ home, ...options }));
  chmodSync(where.hook, 0o755);
  chmodSync(where.statusLine, 0o755);
  return where;
}

/** A PATH holding only what the scripts may run: sh, cat, curl, mv, rm, date — no node, no python. */
function narrowPath(): string {
  const bin = join(root, 'narrow-bin');
  mkdirSync(bin);
  for (const tool of ['sh', 'cat', 'curl', 'mv', 'rm', 'date']) {
    symlinkSync(execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(), join(bin, tool));
  }
  return bin;
}

const spoolFiles = () => readdirSync(join(home, 'spool')).sort();
const event = (name: string, extra: Record<string, unknown> = {}) =>
  `${JSON.stringify({ session_id: 's-1', transcript_path: '/t.jsonl', cwd: '/w', hook_event_name: name, ...extra })}\n`;

describe.skipIf(process.platform === 'win32')('switchboard-hook', () => {
  it('posts the event to /hooks with the token and prints the answer', async () => {
    const answer = JSON.stringify({ hookSpecificOutput: { hookEventName: 'UserPromptSubmit', additionalContext: 'a message from api:local/ci' } });
    daemon = await startFakeDaemon((_posted, response) => response.end(answer));
    const where = writeScripts({ apiPort: daemon.port });
    // Binary-safe: the payload arrives byte for byte, whatever it holds.
    const payload = event('UserPromptSubmit', { prompt: "it's \"quoted\" — ünïcödé\n$(rm -rf /) `x`" });

    const result = await run(where.hook, [], payload, { env: { PATH: narrowPath() } });

    expect(result).toMatchObject({ code: 0, stdout: answer, stderr: '' });
    expect(daemon.posted).toHaveLength(1);
    expect(daemon.posted[0]).toMatchObject({ method: 'POST', url: '/hooks', authorization: `Bearer ${TOKEN}`, contentType: 'application/json' });
    expect(daemon.posted[0].body.toString('utf8')).toBe(payload);
    expect(spoolFiles()).toEqual([]); // nothing written on the way
  });

  it('reads the token when it runs, not when it was installed (a new token reaches curl-auth.conf when the home is next opened)', async () => {
    daemon = await startFakeDaemon();
    const where = writeScripts({ apiPort: daemon.port });
    writeFileSync(join(home, 'token'), `${'cd'.repeat(32)}\n`);
    ensureHome(home);
    await run(where.hook, [], event('Stop'));
    expect(daemon.posted[0].authorization).toBe(`Bearer ${'cd'.repeat(32)}`);
  });

  it('keeps the token off the command line, where other users could read it', () => {
    const text = hookScript({ home, apiPort: 8737 });
    expect(text).toContain('-K "$auth"');
    expect(text).not.toMatch(/Authorization/);
    expect(readFileSync(join(home, 'curl-auth.conf'), 'utf8')).toBe(`header = "Authorization: Bearer ${TOKEN}"\n`);
  });

  it('prints nothing for an empty answer', async () => {
    daemon = await startFakeDaemon((_posted, response) => response.writeHead(204).end());
    const where = writeScripts({ apiPort: daemon.port });
    expect(await run(where.hook, [], event('PreToolUse'))).toMatchObject({ code: 0, stdout: '', stderr: '' });
  });

  it('with nothing listening: one spool file per event, in order, exit 0, no output', async () => {
    const where = writeScripts({ apiPort: await deadPort() });
    const payloads = ['SessionStart', 'UserPromptSubmit', 'PreToolUse', 'PostToolUse', 'Stop'].map((name, index) => event(name, { n: index }));
    for (const payload of payloads) {
      const result = await run(where.hook, [], payload, { env: { PATH: narrowPath() } });
      expect(result).toMatchObject({ code: 0, stdout: '', stderr: '' });
      rmSync(join(root, 'narrow-bin'), { recursive: true });
    }
    const files = spoolFiles();
    expect(files).toHaveLength(5);
    for (const name of files) expect(name).toMatch(/^\d{19}-\d+\.json$/);
    // Name order is the order the events came in, and each file is exactly its event.
    expect(files.map((name) => readFileSync(join(home, 'spool', name), 'utf8'))).toEqual(payloads);
  });

  it('spools when the daemon refuses the event (an error status) and prints nothing', async () => {
    daemon = await startFakeDaemon((_posted, response) => response.writeHead(503).end('{"error":"busy"}'));
    const where = writeScripts({ apiPort: daemon.port });
    const payload = event('Notification');
    expect(await run(where.hook, [], payload)).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(daemon.posted).toHaveLength(1);
    expect(spoolFiles().map((name) => readFileSync(join(home, 'spool', name), 'utf8'))).toEqual([payload]);
  });

  it('spools without its token (the daemon would refuse it), still silently', async () => {
    daemon = await startFakeDaemon((posted, response) => response.writeHead(posted.authorization === `Bearer ${TOKEN}` ? 200 : 401).end('{}'));
    const where = writeScripts({ apiPort: daemon.port });
    rmSync(join(home, 'curl-auth.conf'));
    expect(await run(where.hook, [], event('SessionEnd'))).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(spoolFiles()).toHaveLength(1);
  });

  it('gives up on a daemon that does not answer within 2 s and spools the event', async () => {
    daemon = await startFakeDaemon(() => {}); // never answers
    const where = writeScripts({ apiPort: daemon.port });
    const result = await run(where.hook, [], event('PreToolUse'));
    expect(result).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(result.ms).toBeLessThan(4_000);
    expect(spoolFiles()).toHaveLength(1);
  });

  it('names the event by its process id in the POST and in the spool file, so the daemon can drop the copy of a POST that did arrive', async () => {
    daemon = await startFakeDaemon(() => {}); // takes the event, never answers in time
    const where = writeScripts({ apiPort: daemon.port });
    const payload = event('PostToolUse', { tool_use_id: 'toolu_01' });
    await run(where.hook, [], payload, { env: { PATH: narrowPath() } });
    const [name] = spoolFiles();
    expect(daemon.posted[0].hookPid).toMatch(/^\d+$/);
    expect(name).toBe(`${name.slice(0, 19)}-${daemon.posted[0].hookPid}.json`);
    expect(readFileSync(join(home, 'spool', name), 'utf8')).toBe(payload);
    expect(daemon.posted[0].body.toString('utf8')).toBe(payload);
  });

  it('exits 0 and prints nothing when even the spool folder is gone', async () => {
    const where = writeScripts({ apiPort: await deadPort() });
    rmSync(join(home, 'spool'), { recursive: true });
    expect(await run(where.hook, [], event('Stop'))).toMatchObject({ code: 0, stdout: '', stderr: '' });
  });

  it('is valid POSIX sh, also under bash', async () => {
    const where = writeScripts({ apiPort: 8737 });
    for (const shell of ['sh', 'bash']) execFileSync(shell, ['-n', where.hook]);
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });
});

describe.skipIf(process.platform === 'win32')('switchboard-hook --wait', () => {
  it('exits 2 with the mail on stderr when the daemon answers with text', async () => {
    daemon = await startFakeDaemon((_posted, response) => response.end('A message from claude-code:local/ab12: please rebase'));
    const where = writeScripts({ apiPort: daemon.port });
    const payload = event('Stop', { stop_hook_active: false });
    const result = await run(where.hook, ['--wait'], payload, { env: { PATH: narrowPath() } });
    expect(result).toMatchObject({ code: 2, stdout: '', stderr: 'A message from claude-code:local/ab12: please rebase\n' });
    expect(daemon.posted[0]).toMatchObject({ url: '/hooks/wait', authorization: `Bearer ${TOKEN}` });
    expect(daemon.posted[0].body.toString('utf8')).toBe(payload);
    expect(spoolFiles()).toEqual([]);
  });

  it('exits 0 silently when the wait ends without mail', async () => {
    daemon = await startFakeDaemon((_posted, response) => response.writeHead(204).end());
    const where = writeScripts({ apiPort: daemon.port });
    expect(await run(where.hook, ['--wait'], event('Stop'))).toMatchObject({ code: 0, stdout: '', stderr: '' });
  });

  it('exits 0 silently, spooling nothing, when no daemon comes within the wait', async () => {
    const where = writeScripts({ apiPort: await deadPort(), waitSeconds: 2, waitRetrySeconds: 1 });
    const result = await run(where.hook, ['--wait'], event('Stop'));
    expect(result).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(spoolFiles()).toEqual([]);
  });

  describe('in a one-shot `claude -p`, where Claude Code waits for the hook, it does not wait', () => {
    /** A stand-in for the Claude Code process, with these arguments (ps shows them); its pid goes in CLAUDE_PID. */
    const withClaude = async <T>(args: string[], body: (pid: number) => Promise<T>): Promise<T> => {
      const claude = spawn('sh', ['-c', 'sleep 30', 'claude', ...args], { stdio: 'ignore' });
      try {
        return await body(claude.pid!);
      } finally {
        claude.kill();
      }
    };

    it.each([
      ['-p', 'say hi'],
      ['--print', '--output-format', 'json', 'say hi'],
      ['--model', 'opus', '-p', 'say hi', '--input-format', 'text'],
    ])('%s …: exits 0 at once, asking the daemon nothing', async (...args) => {
      daemon = await startFakeDaemon((_posted, response) => response.end('mail'));
      const where = writeScripts({ apiPort: daemon.port });
      const result = await withClaude(args, (pid) => run(where.hook, ['--wait'], event('Stop'), { env: { PATH: process.env.PATH, CLAUDE_PID: String(pid) } }));
      expect(result).toMatchObject({ code: 0, stdout: '', stderr: '' });
      expect(daemon.posted).toEqual([]);
      expect(spoolFiles()).toEqual([]);
    });

    it.each([
      [['-p', '--input-format', 'stream-json', '--output-format', 'stream-json']],
      [['--print', '--input-format=stream-json']],
      [[]],
      // Interactive, `-p` only inside the prompt: told apart where /proc gives the arguments one by one.
      ...(existsSync('/proc/self/cmdline') ? [[['say hi with -p in the text', '--print it']]] : []),
    ])('%j: waits for mail as usual', async (args) => {
      daemon = await startFakeDaemon((_posted, response) => response.end('mail'));
      const where = writeScripts({ apiPort: daemon.port });
      const result = await withClaude(args, (pid) => run(where.hook, ['--wait'], event('Stop'), { env: { PATH: process.env.PATH, CLAUDE_PID: String(pid) } }));
      expect(result).toMatchObject({ code: 2, stderr: 'mail\n' });
    });
  });

  it('keeps trying while the daemon is down and takes the mail once it is up', async () => {
    const port = await deadPort();
    const where = writeScripts({ apiPort: port, waitSeconds: 20, waitRetrySeconds: 1 });
    const waiting = run(where.hook, ['--wait'], event('Stop'));
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    // The same port again: the daemon restarted where the hook expects it.
    const server = createServer((_request, response) => response.end('late mail'));
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    try {
      expect(await waiting).toMatchObject({ code: 2, stderr: 'late mail\n' });
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe.skipIf(process.platform === 'win32')('switchboard-statusline', () => {
  it('alone: posts its input to /hooks/statusline in the background and prints nothing', async () => {
    daemon = await startFakeDaemon();
    const where = writeScripts({ apiPort: daemon.port });
    const input = JSON.stringify({ session_id: 's-1', model: { id: 'claude-opus-4-1' }, rate_limits: { five_hour: { used_percentage: 42 } } });
    const result = await run(where.statusLine, [], input, { env: { PATH: narrowPath() } });
    expect(result).toMatchObject({ code: 0, stdout: '', stderr: '' });
    const [posted] = await daemon.received(1);
    expect(posted).toMatchObject({ url: '/hooks/statusline', authorization: `Bearer ${TOKEN}` });
    expect(posted.body.toString('utf8')).toBe(input);
  });

  it('with --tee: copies its input to stdout unchanged', async () => {
    daemon = await startFakeDaemon();
    const where = writeScripts({ apiPort: daemon.port });
    const input = '{"a":"b"}\n\n  trailing space  ';
    expect(await run(where.statusLine, ['--tee'], input)).toMatchObject({ code: 0, stdout: input, stderr: '' });
    await daemon.received(1);
  });

  it('adds no wait for a daemon that does not answer', async () => {
    daemon = await startFakeDaemon(() => {}); // holds every request
    const where = writeScripts({ apiPort: daemon.port });
    const result = await run(where.statusLine, ['--tee'], '{}');
    expect(result).toMatchObject({ code: 0, stdout: '{}' });
    expect(result.ms).toBeLessThan(700);
  });

  it('with --tee and no spool folder: still passes the input on', async () => {
    const where = writeScripts({ apiPort: await deadPort() });
    rmSync(join(home, 'spool'), { recursive: true });
    expect(await run(where.statusLine, ['--tee'], 'input')).toMatchObject({ code: 0, stdout: 'input', stderr: '' });
  });
});
