import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NATIVE_HOST_NAME } from '../../src/protocol/native';
import { ensureHome, paths, readToken } from '../../native-host/config';
import { parseLauncher, realProbes, runDoctor, type Check, type DoctorOptions } from '../../native-host/doctor';
import { FrameReader, encodeFrame } from '../../native-host/frames';
import { installHost, launcherScript, type RegistryRunner } from '../../native-host/install';

let root: string;
let home: string;
let userHome: string;
let distDir: string;
let daemon: NetServer | undefined;
let api: HttpServer | undefined;
/** what the stand-in daemon says about itself */
let status: Record<string, unknown>;
/** what the stand-in API answers on /health/ready */
let ready: { status: number; body: unknown };

const MANIFEST = `${NATIVE_HOST_NAME}.json`;

beforeEach(async () => {
  // Short: a Unix socket path is limited to ~104 bytes.
  root = mkdtempSync(join(tmpdir(), 'sb-doctor-'));
  home = join(root, 'h');
  userHome = join(root, 'u');
  distDir = join(root, 'dist');
  mkdirSync(join(userHome, '.config', 'chromium'), { recursive: true });
  mkdirSync(distDir);
  for (const file of ['shim.mjs', 'daemon.mjs', 'cli.mjs', 'mcp.mjs']) writeFileSync(join(distDir, file), `// ${file}\n`);
  installHost({ home, distDir, userHome, platform: 'linux', env: {} });
  status = {
    version: '0.1.0',
    device: 'local',
    startedAt: Date.parse('2026-01-02T03:04:05Z'),
    hubConnected: true,
    journal: { records: 3, bytes: 120, writable: true },
    inbox: { messages: 0 },
  };
  ready = { status: 200, body: { ok: true } };
  await startApi();
  await startDaemon();
});

afterEach(async () => {
  await new Promise<void>((resolve) => (daemon ? daemon.close(() => resolve()) : resolve()));
  await new Promise<void>((resolve) => (api ? api.close(() => resolve()) : resolve()));
  daemon = api = undefined;
  rmSync(root, { recursive: true, force: true });
});

/** A stand-in daemon on the real socket path: the first frame must be a ping, answered with a pong. */
async function startDaemon(answer: (frame: unknown) => unknown = (frame) => ((frame as { type?: string }).type === 'ping' ? { type: 'pong', ...status } : { type: 'error' })) {
  daemon = createNetServer((socket) => {
    const reader = new FrameReader();
    socket.on('data', (chunk: Buffer) =>
      reader.push(chunk, (frame) => {
        socket.end(encodeFrame(answer(frame)));
      }),
    );
  });
  await new Promise<void>((resolve) => daemon!.listen(paths(home).socket, resolve));
}

/** A stand-in API that checks the token like the real one. */
async function startApi() {
  const token = readToken(home);
  api = createHttpServer((request, response) => {
    if (request.headers.authorization !== `Bearer ${token}`) {
      response.writeHead(401).end(JSON.stringify({ error: 'missing or wrong token' }));
    } else if (request.url === '/health/ready') {
      response.writeHead(ready.status).end(JSON.stringify(ready.body));
    } else response.writeHead(404).end('{}');
  });
  await new Promise<void>((resolve) => api!.listen(0, '127.0.0.1', resolve));
  const port = (api.address() as { port: number }).port;
  writeFileSync(join(home, 'config.json'), JSON.stringify({ api: { port } }));
}

const doctor = (extra: Partial<DoctorOptions> = {}) => runDoctor({ home, userHome, platform: 'linux', env: {}, timeoutMs: 1000, ...extra });
const byName = (checks: Check[]) => Object.fromEntries(checks.map((check) => [check.name, check]));
const failing = (checks: Check[]) => checks.filter((check) => !check.ok).map((check) => check.name);

describe.skipIf(process.platform === 'win32')('runDoctor', () => {
  it('passes every link of a healthy installation, in order', async () => {
    const checks = await doctor();
    expect(checks.map((check) => check.name)).toEqual(['config', 'manifest', 'launcher', 'daemon', 'hub', 'api']);
    expect(failing(checks)).toEqual([]);
    const named = byName(checks);
    expect(named.manifest.detail).toBe(`valid for chromium (${join(userHome, '.config', 'chromium', 'NativeMessagingHosts', MANIFEST)})`);
    expect(named.launcher.detail).toContain(`with node ${process.version}`);
    expect(named.daemon.detail).toContain('daemon 0.1.0 answers');
    expect(named.daemon.detail).toContain('up since 2026-01-02T03:04:05.000Z, 3 journal records waiting');
    expect(checks.every((check) => check.fix === '')).toBe(true);
  });

  it('names a config.json the daemon would refuse, and goes on', async () => {
    writeFileSync(join(home, 'config.json'), '{"api":{"port":"x"}}');
    const checks = await doctor();
    expect(byName(checks).config).toMatchObject({ ok: false, fix: expect.stringContaining('or delete it to use the defaults') });
    expect(byName(checks).config.detail).toContain('config.json: api.port: expected an integer');
    expect(byName(checks).manifest.ok).toBe(true);
  });

  it('names a missing manifest', async () => {
    rmSync(join(userHome, '.config', 'chromium', 'NativeMessagingHosts', MANIFEST));
    const checks = await doctor();
    expect(failing(checks)).toEqual(['manifest']);
    expect(byName(checks).manifest.detail).toBe(`no ${NATIVE_HOST_NAME} manifest for any browser found`);
    expect(byName(checks).manifest.fix).toMatch(/^run `switchboard host install`/);
  });

  it('names a manifest that is broken, points elsewhere, or does not allow the extension', async () => {
    const manifest = join(userHome, '.config', 'chromium', 'NativeMessagingHosts', MANIFEST);
    const good = JSON.parse(readFileSync(manifest, 'utf8'));
    const cases: [unknown, string][] = [
      ['{', 'not valid JSON'],
      [{ ...good, name: 'other' }, 'name is "other"'],
      [{ ...good, path: join(root, 'nowhere') }, `it points at ${join(root, 'nowhere')}, which does not exist`],
      [{ ...good, path: join(distDir, 'cli.mjs') }, 'which is not executable'],
      [{ ...good, allowed_origins: ['chrome-extension://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/'] }, 'allowed_origins does not list chrome-extension://'],
    ];
    for (const [content, problem] of cases) {
      writeFileSync(manifest, typeof content === 'string' ? content : JSON.stringify(content));
      const check = byName(await doctor()).manifest;
      expect(check.ok).toBe(false);
      expect(check.detail).toContain(problem);
    }
    const otherLauncher = join(root, 'other-launcher');
    writeFileSync(otherLauncher, '#!/bin/sh\n', { mode: 0o755 });
    writeFileSync(manifest, JSON.stringify({ ...good, path: otherLauncher }));
    expect(byName(await doctor()).manifest.detail).toContain(`not at this home's launcher ${paths(home).launcher}`);
  });

  it('finds manifests in Chromium profiles from the install record', async () => {
    rmSync(join(userHome, '.config', 'chromium'), { recursive: true });
    const profile = join(root, 'profile');
    installHost({ home, distDir, userHome, platform: 'linux', env: {}, profiles: [profile] });
    const check = byName(await doctor()).manifest;
    expect(check).toMatchObject({ ok: true, detail: `valid for profile ${profile} (${join(profile, 'NativeMessagingHosts', MANIFEST)})` });
  });

  it('names a launcher that is missing, not executable, for another home, or whose node or shim is gone', async () => {
    const launcher = paths(home).launcher;
    chmodSync(launcher, 0o644);
    expect(byName(await doctor()).launcher).toMatchObject({ ok: false, detail: `${launcher} is not executable` });
    chmodSync(launcher, 0o755);

    const shim = join(home, 'host', 'shim.mjs');
    writeFileSync(launcher, launcherScript('linux', process.execPath, join(root, 'elsewhere'), shim));
    expect(byName(await doctor()).launcher.detail).toBe(`${launcher} serves the home ${join(root, 'elsewhere')}, not ${home}`);

    writeFileSync(launcher, launcherScript('linux', join(root, 'gone', 'node'), home, shim));
    expect(byName(await doctor()).launcher).toMatchObject({ ok: false, fix: 'run `switchboard host install` with the node you use now' });

    writeFileSync(launcher, launcherScript('linux', process.execPath, home, shim));
    const old = byName(await doctor({ probes: { nodeVersion: () => 'v18.19.0' } })).launcher;
    expect(old.detail).toContain('is v18.19.0; the host needs 20 or newer');

    rmSync(join(home, 'host', 'daemon.mjs'));
    expect(byName(await doctor()).launcher).toMatchObject({ ok: false, detail: `${join(home, 'host', 'daemon.mjs')} is missing` });

    rmSync(launcher);
    expect(byName(await doctor()).launcher).toMatchObject({ ok: false, detail: `no launcher at ${launcher}`, fix: 'run `switchboard host install`' });
  });

  it('names a daemon that does not answer, with the end of its log; hub and API are not checked', async () => {
    await new Promise<void>((resolve) => daemon!.close(() => resolve()));
    daemon = undefined;
    writeFileSync(paths(home).log, 'line 1\nline 2\nline 3\nError: EACCES opening the journal\n');
    const checks = await doctor();
    expect(failing(checks)).toEqual(['daemon', 'hub', 'api']);
    const named = byName(checks);
    expect(named.daemon.detail).toBe(
      `nothing answers on ${paths(home).socket} (ENOENT); the end of ${paths(home).log}: line 2 | line 3 | Error: EACCES opening the journal`,
    );
    expect(named.daemon.fix).toContain('`switchboard daemon`');
    expect(named.hub).toMatchObject({ skipped: true, detail: 'not checked: the daemon does not answer' });
    expect(named.api.skipped).toBe(true);
  });

  it('names something on the socket that is not a daemon', async () => {
    await new Promise<void>((resolve) => daemon!.close(() => resolve()));
    await startDaemon(() => ({ hello: 'world' }));
    expect(byName(await doctor()).daemon.detail).toContain('but not as a Switchboard daemon: {"hello":"world"}');
  });

  it('names a daemon without its hub, and the API that is not ready because of it', async () => {
    status.hubConnected = false;
    ready = { status: 503, body: { ok: false, error: 'not ready: hub not connected' } };
    const checks = await doctor();
    expect(failing(checks)).toEqual(['hub', 'api']);
    expect(byName(checks).hub.fix).toMatch(/^start the browser with the Switchboard extension/);
    expect(byName(checks).api.detail).toMatch(/answers, but not ready: hub not connected$/);
    expect(byName(checks).api.fix).toBe('connect the extension (the hub check above)');
  });

  it('names an API that refuses the token, and one that is not there', async () => {
    writeFileSync(paths(home).token, `${'0'.repeat(64)}\n`);
    expect(byName(await doctor()).api).toMatchObject({ ok: false, fix: expect.stringContaining('restart the daemon') });
    expect(byName(await doctor()).api.detail).toContain('refused the token');

    await new Promise<void>((resolve) => api!.close(() => resolve()));
    api = undefined;
    const check = byName(await doctor()).api;
    expect(check.ok).toBe(false);
    expect(check.detail).toMatch(/^nothing answers at http:\/\/127\.0\.0\.1:\d+\/health\/ready: .*ECONNREFUSED/);
  });

  it('uses the API port the daemon reports over config.json', async () => {
    const port = (api!.address() as { port: number }).port;
    writeFileSync(join(home, 'config.json'), JSON.stringify({ api: { port: 1 } }));
    status.apiPort = port;
    expect(byName(await doctor()).api).toMatchObject({ ok: true, detail: `http://127.0.0.1:${port}/health/ready answers: ready` });
  });
});

describe('runDoctor on Windows (probes injected)', () => {
  it('follows the registry key to the manifest', async () => {
    const winHome = join(root, 'wh');
    const local = join(userHome, 'AppData', 'Local');
    mkdirSync(join(local, 'Microsoft', 'Edge', 'User Data'), { recursive: true });
    const keys = new Map<string, string>();
    const registry: RegistryRunner = (args) => {
      if (args[0] === 'add') keys.set(args[1], args[args.indexOf('/d') + 1]);
      if (args[0] === 'query' && keys.has(args[1])) return { status: 0, stdout: `    (Default)    REG_SZ    ${keys.get(args[1])}\r\n`, stderr: '' };
      return { status: args[0] === 'add' ? 0 : 1, stdout: '', stderr: '' };
    };
    ensureHome(winHome, 'win32');
    installHost({ home: winHome, distDir, userHome, platform: 'win32', env: {}, registry, nodePath: process.execPath });
    const checks = await runDoctor({
      home: winHome,
      userHome,
      platform: 'win32',
      env: {},
      probes: { registry, ping: async () => Promise.reject(new Error('no pipe here')) },
    });
    const named = byName(checks);
    expect(named.manifest).toMatchObject({ ok: true, detail: `valid for edge (${join(winHome, 'manifests', `${NATIVE_HOST_NAME}.chrome.json`)})` });
    expect(named.launcher).toMatchObject({ ok: true });
    expect(named.daemon.ok).toBe(false);

    keys.set([...keys.keys()][0], 'C:\\missing.json');
    expect(byName(await runDoctor({ home: winHome, userHome, platform: 'win32', env: {}, probes: { registry, ping: async () => ({}) } })).manifest.detail).toContain(
      'points at C:\\missing.json, which does not exist',
    );
  });
});

describe('parseLauncher', () => {
  it('reads back what launcherScript writes, whatever the quoting', () => {
    for (const platform of ['linux', 'win32'] as const) {
      const parts = { node: "/o'dd dir/100%/node", home: "/h o'me", shim: "/h o'me/host/shim.mjs" };
      if (platform === 'win32') Object.assign(parts, { node: 'C:\\100%\\node.exe', home: 'C:\\h ome', shim: 'C:\\h ome\\host\\shim.mjs' });
      expect(parseLauncher(launcherScript(platform, parts.node, parts.home, parts.shim), platform)).toEqual(parts);
    }
    expect(parseLauncher('#!/bin/sh\nexec node x\n', 'linux')).toBeUndefined();
  });
});

describe('the real ping probe', () => {
  it('rejects a framing error from the other end instead of hanging', async () => {
    const socket = join(root, 's.sock');
    const connections: import('node:net').Socket[] = [];
    const server = createNetServer((connection) => {
      connections.push(connection);
      connection.write(Buffer.from([0xff, 0xff, 0xff, 0x7f])); // a 2 GiB frame announced
    });
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    await expect(realProbes.ping(socket, 1000)).rejects.toThrow('frame of 2147483647 bytes is over the limit');
    for (const connection of connections) connection.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
});
