/**
 * The native host, installed for real for one test: a home folder of its own, the bundled host
 * copied into it, and the host manifest in the test profile's `NativeMessagingHosts/`, where a
 * Chromium started with that --user-data-dir looks (ARCHITECTURE.md, "Native messaging"). The
 * browser then launches the shim itself, and the shim starts the daemon.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { installHost } from '../../native-host/install';
import { paths } from '../../native-host/config';

export const HOST_DIST = resolve(import.meta.dirname, '../../dist/native-host');

export interface InstalledHost {
  home: string;
  profileDir: string;
  port: number;
  token: string;
  /** for launchExtension: the browser's environment names this home to the shim */
  env: Record<string, string>;
  api(path: string, init?: RequestInit): Promise<Response>;
  /** POSTs a bridge message; resolves with its id */
  post(body: Record<string, unknown>): Promise<string>;
  daemonPid(): number | undefined;
  /** Stops the daemon (SIGTERM, or SIGKILL) and waits until it is gone. */
  killDaemon(signal?: NodeJS.Signals): Promise<void>;
  remove(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.once('error', reject);
  });
}

export async function installTestHost(): Promise<InstalledHost> {
  if (!existsSync(join(HOST_DIST, 'shim.mjs'))) throw new Error(`the host is not built: run \`npm run build:host\` (no ${HOST_DIST}/shim.mjs)`);
  const home = await mkdtemp(join(tmpdir(), 'sb-home-'));
  const profileDir = await mkdtemp(join(tmpdir(), 'switchboard-profile-'));
  const userHome = await mkdtemp(join(tmpdir(), 'sb-user-'));
  const port = await freePort();
  await writeFile(join(home, 'config.json'), JSON.stringify({ api: { port } }));
  await installHost({ home, userHome, profiles: [profileDir], distDir: HOST_DIST });
  const token = readFileSync(paths(home).token, 'utf8').trim();
  const api = (path: string, init: RequestInit = {}) =>
    fetch(`http://127.0.0.1:${port}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers } });
  const daemonPid = () => {
    try {
      return Number(readFileSync(paths(home).pid, 'utf8').trim()) || undefined;
    } catch {
      return undefined;
    }
  };
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const host: InstalledHost = {
    home,
    profileDir,
    port,
    token,
    env: { SWITCHBOARD_HOME: home },
    api,
    async post(body) {
      let response = await api('/api/send', { method: 'POST', body: JSON.stringify(body) });
      // A well-behaved client: wait as long as a 429 says, then try again.
      while (response.status === 429) {
        await new Promise((r) => setTimeout(r, Number(response.headers.get('retry-after') ?? 1) * 1_000));
        response = await api('/api/send', { method: 'POST', body: JSON.stringify(body) });
      }
      if (response.status !== 200) throw new Error(`POST /api/send answered ${response.status}: ${await response.text()}`);
      return ((await response.json()) as { message_id: string }).message_id;
    },
    daemonPid,
    async killDaemon(signal = 'SIGTERM') {
      const pid = daemonPid();
      if (!pid || !alive(pid)) return;
      process.kill(pid, signal);
      for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
    },
    async remove() {
      await host.killDaemon();
      await Promise.all([home, profileDir, userHome].map((dir) => rm(dir, { recursive: true, force: true })));
    },
  };
  return host;
}
