import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startApi, type RunningApi } from '../../native-host/api/server';
import { runCli, type CliIo } from '../../native-host/cli';
import { ensureHome } from '../../native-host/config';
import { HostMetrics } from '../../native-host/metrics';
import { NATIVE_HOST_NAME } from '../../src/protocol/native';
import { MemoryHostCore, envelopeFor } from '../support/memory-host-core';

let root: string;
let home: string;
let userHome: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'sb-cli-'));
  home = join(root, 'h');
  userHome = join(root, 'u');
  mkdirSync(userHome);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** Runs the CLI in-process with its own environment; collects what it prints. */
async function cli(args: string[], extra: Partial<CliIo> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, { out: (line) => out.push(line), err: (line) => err.push(line), env: { HOME: userHome, SWITCHBOARD_HOME: home }, ...extra });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('help', () => {
  const commands = ['host install', 'host uninstall', 'doctor', 'status', 'send', 'tail', 'daemon', 'config', 'mcp install', 'mcp uninstall'];

  it('lists every command with --help, -h and help, and exits 0', async () => {
    for (const args of [['--help'], ['-h'], ['help']]) {
      const { code, out } = await cli(args);
      expect(code).toBe(0);
      expect(out).toContain('Usage: switchboard <command> [options]');
      for (const command of commands) expect(out).toContain(`  ${command}`);
      expect(out).toContain('Exit codes: 0 ok, 1 failure, 2 usage');
    }
  });

  it('has help for every command and subcommand', async () => {
    for (const command of commands) {
      for (const args of [[...command.split(' '), '--help'], [...command.split(' '), '-h'], ['help', ...command.split(' ')]]) {
        const { code, out, err } = await cli(args);
        expect({ args, code, err }).toEqual({ args, code: 0, err: '' });
        expect(out).toMatch(new RegExp(`^Usage: switchboard ${command}`));
        expect(out).toContain('--home <dir>');
        expect(out).toContain('-h, --help');
      }
    }
    const group = await cli(['host', '--help']);
    expect(group.code).toBe(0);
    expect(group.out).toContain('host install');
    expect(group.out).toContain('host uninstall');
  });

  it('documents each command’s own options', async () => {
    expect((await cli(['send', '--help'])).out).toMatch(/--from <id>[\s\S]*--to <id\|all>[\s\S]*--type <type>[\s\S]*--require-ack/);
    expect((await cli(['tail', '--help'])).out).toMatch(/--client <id>[\s\S]*--limit <n>/);
    expect((await cli(['host', 'install', '--help'])).out).toContain('chrome, chromium, edge, brave, vivaldi, firefox');
  });
});

describe('usage errors exit 2 with a clear message', () => {
  it.each([
    [[], 'Usage: switchboard <command>'],
    [['bogus'], 'switchboard: no command "bogus"; run `switchboard --help` for the list'],
    [['help', 'bogus'], 'switchboard: no command "bogus"'],
    [['host'], 'Usage: switchboard host <command>'],
    [['host', 'bogus'], 'switchboard host: no command "bogus"'],
    [['doctor', '--nope'], "switchboard doctor: Unknown option '--nope'"],
    [['doctor', 'extra'], 'switchboard doctor: Unexpected argument'],
    [['config', '--home'], "switchboard config: Option '--home <value>' argument missing"],
    [['send', '--to', 'all', 'hi'], 'switchboard send: --from <id> is required'],
    [['send', '--from', 'me', 'hi'], 'switchboard send: --to <id|all> is required'],
    [['send', '--from', 'me', '--to', 'all'], 'switchboard send: the text to send is required'],
    [['tail', '--limit', '0'], 'switchboard tail: --limit: expected a positive whole number, got "0"'],
    [['host', 'install', '--browser', 'netscape'], 'switchboard host install: unknown browser "netscape"'],
  ])('%j', async (args, message) => {
    const { code, err, out } = await cli(args as string[]);
    expect(code).toBe(2);
    expect(err).toContain(message);
    expect(out).toBe('');
  });
});

describe.skipIf(process.platform === 'win32')('host install and uninstall', () => {
  let dist: string;
  beforeEach(() => {
    dist = join(root, 'dist');
    mkdirSync(dist);
    for (const file of ['shim.mjs', 'daemon.mjs', 'cli.mjs', 'mcp.mjs']) writeFileSync(join(dist, file), `// ${file}\n`);
    mkdirSync(join(userHome, '.config', 'google-chrome'), { recursive: true });
    mkdirSync(join(userHome, '.mozilla'));
  });

  it('prints what it wrote, then that nothing changed, then what it removed', async () => {
    const first = await cli(['host', 'install', '--dist', dist]);
    expect(first.code).toBe(0);
    const manifest = join(userHome, '.config', 'google-chrome', 'NativeMessagingHosts', `${NATIVE_HOST_NAME}.json`);
    expect(first.out).toMatch(new RegExp(`^wrote +manifest for chrome +${manifest.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    expect(first.out).toContain('registered the Switchboard host for chrome, firefox');
    expect(existsSync(manifest)).toBe(true);

    const second = await cli(['host', 'install', '--dist', dist]);
    expect(second.code).toBe(0);
    expect(second.out).not.toMatch(/^wrote/m);
    expect(second.out.match(/^unchanged/gm)).toHaveLength(10); // home, token, 4 host files, launcher, 2 manifests, record

    const removed = await cli(['host', 'uninstall']);
    expect(removed.code).toBe(0);
    expect(removed.out).toMatch(new RegExp(`^removed +${manifest.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    expect(existsSync(manifest)).toBe(false);
    expect((await cli(['host', 'uninstall'])).out).toContain('note: nothing to remove');
  });

  it('takes --home, --browser and --profile', async () => {
    const other = join(root, 'other home');
    const profile = join(root, 'profile');
    const { code, out } = await cli(['host', 'install', '--dist', dist, '--home', other, '--browser', 'firefox', '--profile', profile]);
    expect(code).toBe(0);
    expect(out).toContain(`registered the Switchboard host for firefox, profile:${profile}`);
    expect(JSON.parse(readFileSync(join(profile, 'NativeMessagingHosts', `${NATIVE_HOST_NAME}.json`), 'utf8')).path).toBe(join(other, 'bin', 'switchboard-host'));
    expect(existsSync(join(userHome, '.config', 'google-chrome', 'NativeMessagingHosts'))).toBe(false);
  });

  it('fails (1) with the reason when the host is not built, and when no browser is found', async () => {
    const missing = await cli(['host', 'install', '--dist', join(root, 'nowhere')]);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/^switchboard host install: the host is not built: .* missing; run `npm run build:host`$/);

    rmSync(join(userHome, '.config'), { recursive: true });
    rmSync(join(userHome, '.mozilla'), { recursive: true });
    const none = await cli(['host', 'install', '--dist', dist]);
    expect(none.code).toBe(1);
    expect(none.out).toContain('note: no browser found');
  });
});

describe('config', () => {
  it('prints the defaults, and where settings came from', async () => {
    const defaults = await cli(['config']);
    expect(defaults.code).toBe(0);
    expect(defaults.out.split('\n')[0]).toBe(`# ${join(home, 'config.json')} does not exist: every setting is a default`);
    expect(JSON.parse(defaults.out.split('\n').slice(1).join('\n')).api.port).toBe(8737);

    mkdirSync(home);
    writeFileSync(join(home, 'config.json'), '{"device":"laptop","api":{"port":9999}}');
    const given = await cli(['config']);
    expect(given.out.split('\n')[0]).toBe(`# ${join(home, 'config.json')}: sets device, api.port; everything else is a default`);
    expect(JSON.parse(given.out.split('\n').slice(1).join('\n'))).toMatchObject({ device: 'laptop', api: { port: 9999, host: '127.0.0.1' } });
  });

  it('shows the Claude Code defaults, and fails (1) on a price file that cannot be used, naming the file and the field', async () => {
    const defaults = await cli(['config']);
    expect(JSON.parse(defaults.out.split('\n').slice(1).join('\n')).claudeCode).toEqual({
      alerts: { tokenPercent: 80, sessionHours: 4.5, costPerBlockUsd: 50, rateLimitPercent: 90 },
      pricesFile: null,
      resumeExited: false,
      command: 'claude',
    });
    mkdirSync(home);
    writeFileSync(join(home, 'config.json'), '{"claudeCode":{"pricesFile":"prices.json"}}');
    writeFileSync(join(home, 'prices.json'), '{"models":{"claude-opus-9":{"input":5,"output":25,"cacheWrite5m":6.25}}}');
    const bad = await cli(['config']);
    expect(bad.code).toBe(1);
    expect(bad.err).toBe(`switchboard config: claudeCode.pricesFile: ${join(home, 'prices.json')}: models.claude-opus-9.cacheRead: expected a price in USD per million tokens (a number ≥ 0)`);
    rmSync(join(home, 'prices.json'));
    expect((await cli(['config'])).err).toMatch(new RegExp(`^switchboard config: claudeCode\\.pricesFile: ${join(home, 'prices.json').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot read: ENOENT`));
    writeFileSync(join(home, 'prices.json'), '{"models":{"claude-opus-9":{"input":5,"output":25,"cacheWrite5m":6.25,"cacheRead":0.5}}}');
    expect((await cli(['config'])).code).toBe(0);
  });

  it('fails (1) naming the file and the field', async () => {
    mkdirSync(home);
    writeFileSync(join(home, 'config.json'), '{"api":{"port":"abc"}}');
    const { code, err } = await cli(['config']);
    expect(code).toBe(1);
    expect(err).toBe(`switchboard config: ${join(home, 'config.json')}: api.port: expected an integer from 1 to 65535, or 0 for any free port, got "abc"`);
  });
});

describe('status, send and tail through the local API', () => {
  let core: MemoryHostCore;
  let api: RunningApi;

  beforeEach(async () => {
    const { token } = ensureHome(home);
    core = new MemoryHostCore();
    api = await startApi({ core, token, port: 0, metrics: new HostMetrics({ processMetrics: false }), pingIntervalMs: 60_000 });
    writeFileSync(join(home, 'config.json'), JSON.stringify({ api: { port: api.port } }));
  });
  afterEach(() => api.close());

  it('status prints the daemon’s state', async () => {
    const { code, out } = await cli(['status']);
    expect(code).toBe(0);
    expect(out).toContain('daemon test on device local, up since 2023-11-14T22:13:20.000Z');
    expect(out).toContain('hub: connected');
    expect(out).toContain(`api: port ${api.port}, 0 clients connected`);
    const json = await cli(['status', '--json']);
    expect(JSON.parse(json.out)).toMatchObject({ version: 'test', hubConnected: true });
  });

  it('send posts the text and prints the id', async () => {
    const { code, out } = await cli(['send', '--from', 'me', '--to', 'ci-bot', '--type', 'request', '--require-ack', 'run', 'the', 'tests']);
    expect(code).toBe(0);
    expect(out).toMatch(/^sent [0-9a-f-]{36}$/);
    expect(core.submitted).toHaveLength(1);
    expect(core.submitted[0]).toMatchObject({ from: 'api:local/me', to: ['api:local/ci-bot'], body: { text: 'run the tests' }, ackRequired: true });
    expect(core.submitted[0].headers).toMatchObject({ 'bridge-type': 'request' });
  });

  it('send fails (1) with the API’s reason', async () => {
    const { code, err } = await cli(['send', '--from', 'bad id!', '--to', 'all', 'x']);
    expect(code).toBe(1);
    expect(err).toMatch(/^switchboard send: POST \/api\/send answered 400: invalid send request: from: expected a client id/);
    expect(core.submitted).toHaveLength(0);
  });

  it('fails (1) when the token is wrong, and when nothing answers', async () => {
    writeFileSync(join(home, 'token'), `${'0'.repeat(64)}\n`);
    const refused = await cli(['status']);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/^switchboard status: GET \/api\/status answered 401/);

    await api.close();
    const gone = await cli(['status']);
    expect(gone.code).toBe(1);
    expect(gone.err).toContain(`nothing answers at http://127.0.0.1:${api.port} (ECONNREFUSED): is the daemon running?`);
  });

  it('tail prints one line per host event', async () => {
    const tail = cli(['tail', '--limit', '2']);
    await until(async () => ((await (await fetch(`http://127.0.0.1:${api.port}/api/status`, { headers: auth() })).json()) as { api: { eventStreams: number } }).api.eventStreams === 1);
    core.emit({ type: 'hub', connected: false, at: Date.parse('2026-01-01T00:00:00Z') });
    core.emit({ type: 'alert', severity: 'warning', text: 'disk nearly full', at: Date.parse('2026-01-01T00:00:01Z') });
    const { code, out } = await tail;
    expect(code).toBe(0);
    expect(out.split('\n')).toEqual([
      '2026-01-01T00:00:00.000Z hub {"connected":false}',
      '2026-01-01T00:00:01.000Z alert {"severity":"warning","text":"disk nearly full"}',
    ]);
  });

  it('tail --client prints the client’s messages; Ctrl-C ends it with 0', async () => {
    const tail = cli(['tail', '--client', 'ci-bot', '--limit', '1']);
    await until(() => core.subscriberCount('api:local/ci-bot') > 0);
    core.deliver('api:local/ci-bot', envelopeFor({ from: 'claude-code:local/s1', to: ['api:local/ci-bot'], body: { text: 'build is green' } }), Date.parse('2026-01-01T00:00:00Z'));
    const { code, out, err } = await tail;
    expect(code).toBe(0);
    expect(err).toBe('listening as ci-bot');
    expect(out).toBe('2026-01-01T00:00:00.000Z claude-code:local/s1 → ci-bot [message] build is green');

    const controller = new AbortController();
    const endless = cli(['tail'], { signal: controller.signal });
    await until(async () => ((await (await fetch(`http://127.0.0.1:${api.port}/api/status`, { headers: auth() })).json()) as { api: { eventStreams: number } }).api.eventStreams === 1);
    controller.abort();
    expect((await endless).code).toBe(0);
  });

  it('tail --client names a refused connection', async () => {
    writeFileSync(join(home, 'token'), `${'0'.repeat(64)}\n`);
    const { code, err } = await cli(['tail', '--client', 'ci-bot']);
    expect(code).toBe(1);
    expect(err).toMatch(/^WS \/ws\/ci-bot answered 401/);
  });

  const auth = () => ({ Authorization: `Bearer ${readFileSync(join(home, 'token'), 'utf8').trim()}` });
});

describe.skipIf(process.platform === 'win32')('daemon', () => {
  it('runs the real daemon in the foreground until stopped, and refuses a second one', async () => {
    const port = await freePort();
    mkdirSync(home, { mode: 0o700 });
    writeFileSync(join(home, 'config.json'), JSON.stringify({ api: { port } }));
    const controller = new AbortController();
    const errors: string[] = [];
    const running = runCli(['daemon'], { out: () => {}, err: (line) => errors.push(line), env: { HOME: userHome, SWITCHBOARD_HOME: home }, signal: controller.signal });
    await until(() => errors.some((line) => line.startsWith(`API on port ${port}`)));

    const status = await cli(['status']);
    expect(status.code).toBe(0);
    expect(status.out).toContain('hub: not connected');
    const second = await cli(['daemon']);
    expect(second.code).toBe(1);
    expect(second.err).toContain('a Switchboard daemon already answers on');

    controller.abort();
    expect(await running).toBe(0);
    expect(existsSync(join(home, 'daemon.pid'))).toBe(false);
  }, 20_000);
});

describe('mcp install and uninstall', () => {
  const bundle = () => {
    mkdirSync(join(home, 'host'), { recursive: true });
    writeFileSync(join(home, 'host', 'mcp.mjs'), '// mcp\n');
  };

  it('writes a project\'s .mcp.json and Claude Desktop\'s config, then takes its entry out again', async () => {
    bundle();
    const project = join(root, 'project');
    mkdirSync(project);
    expect((await cli(['mcp', 'install', '--project', project])).code).toBe(0);
    const written = JSON.parse(readFileSync(join(project, '.mcp.json'), 'utf8'));
    expect(written.mcpServers.switchboard).toEqual({ command: process.execPath, args: [join(home, 'host', 'mcp.mjs'), '--home', home] });
    expect((await cli(['mcp', 'install', '--project', project])).out).toMatch(/^unchanged/);

    expect((await cli(['mcp', 'install', '--desktop'])).code).toBe(0);
    const desktop = JSON.parse(readFileSync(join(userHome, '.config', 'Claude', 'claude_desktop_config.json'), 'utf8'));
    expect(desktop.mcpServers.switchboard.args).toEqual([join(home, 'host', 'mcp.mjs'), '--home', home, '--agent', 'api:local/claude-desktop']);

    expect((await cli(['mcp', 'uninstall', '--project', project])).code).toBe(0);
    expect(JSON.parse(readFileSync(join(project, '.mcp.json'), 'utf8'))).toEqual({ mcpServers: {} });
  });

  it('adds it for every Claude Code session with `claude mcp add-json --scope user`, once', async () => {
    bundle();
    const log = join(root, 'claude-calls');
    const fake = join(root, 'claude');
    // A stand-in claude: logs its arguments; `mcp get` finds the server once it was added.
    writeFileSync(fake, `#!/bin/sh\necho "$*" >> '${log}'\nif [ "$2" = get ]; then grep -q add-json '${log}' && { echo 'switchboard: ${process.execPath} ${join(home, 'host', 'mcp.mjs')} --home ${home}'; exit 0; }; exit 1; fi\nexit 0\n`, { mode: 0o755 });
    const first = await cli(['mcp', 'install', '--claude', fake]);
    expect(first).toMatchObject({ code: 0, out: expect.stringContaining('added MCP server "switchboard" to Claude Code (user scope)') });
    const calls = readFileSync(log, 'utf8').trim().split('\n');
    expect(calls[1]).toBe(`mcp add-json --scope user switchboard ${JSON.stringify({ type: 'stdio', command: process.execPath, args: [join(home, 'host', 'mcp.mjs'), '--home', home] })}`);
    expect((await cli(['mcp', 'install', '--claude', fake])).out).toMatch(/^unchanged/);
    expect(readFileSync(log, 'utf8').trim().split('\n')).toHaveLength(3); // get, add-json, get
  });

  it('says what to do when the bundle or claude is missing, and refuses two places at once', async () => {
    expect(await cli(['mcp', 'install', '--desktop'])).toMatchObject({ code: 1, err: expect.stringContaining('run `switchboard host install` first') });
    bundle();
    const missing = await cli(['mcp', 'install', '--claude', join(root, 'no-claude')]);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('claude mcp add-json --scope user switchboard');
    expect((await cli(['mcp', 'install', '--desktop', '--project', root])).code).toBe(2);
    expect((await cli(['mcp', 'install', '--desktop', '--agent', 'desktop'])).err).toMatch(/--agent/);
  });
});

describe('the bundle', () => {
  it('build.mjs bundles a CLI that runs on its own', () => {
    const out = join(root, 'bundle');
    const build = spawnSync(process.execPath, [resolve('native-host/build.mjs'), '--outdir', out], { encoding: 'utf8' });
    expect(build.status, build.stderr).toBe(0);
    expect(existsSync(join(out, 'cli.mjs'))).toBe(true);
    expect(readFileSync(join(out, 'cli.mjs'), 'utf8')).toMatch(/^import { createRequire as __switchboardCreateRequire }/);

    const env = { PATH: process.env.PATH, HOME: userHome, SWITCHBOARD_HOME: home };
    const help = spawnSync(process.execPath, [join(out, 'cli.mjs'), 'doctor', '--help'], { encoding: 'utf8', env });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: switchboard doctor/);
    const wrong = spawnSync(process.execPath, [join(out, 'cli.mjs'), 'bogus'], { encoding: 'utf8', env });
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toContain('no command "bogus"');
    const config = spawnSync(process.execPath, [join(out, 'cli.mjs'), 'config'], { encoding: 'utf8', env });
    expect(config.status).toBe(0);
    expect(config.stdout).toContain('"port": 8737');
  }, 60_000);
});

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolveWait) => setTimeout(resolveWait, 20));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}
