/**
 * `switchboard doctor`: follows the chain a message takes — config → manifest → launcher → daemon →
 * hub → API (issue 4) — and for each link says whether it holds, what was seen, and what a person
 * can do when it does not. Every probe of the outside world is injectable, so tests can break each
 * link on its own.
 *
 * The launcher is checked, not run. Run with the extension's origin, it would start a shim that the
 * daemon takes for the browser — the hub — and hands the journal to, pushing the real browser's
 * connection aside. So doctor checks what running it needs instead: the launcher is executable, the
 * node it names runs and is new enough, the shim and daemon it would start are there, and it serves
 * this home. Whether the daemon then starts is the next link's question.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, closeSync, constants, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { NATIVE_HOST_NAME } from '../src/protocol/native';
import { DEFAULT_CONFIG, loadConfig, paths, readToken, type HostConfig } from './config';
import { FrameReader, encodeFrame } from './frames';
import { browserTargets, readRegistryDefault, runReg, type RegistryRunner } from './install';

export const CHECK_NAMES = ['config', 'manifest', 'launcher', 'daemon', 'hub', 'api'] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

export interface Check {
  name: CheckName;
  ok: boolean;
  /** not looked at, because a link it depends on is broken (`ok` is false) */
  skipped?: boolean;
  /** what was seen */
  detail: string;
  /** what to do about it; empty when ok */
  fix: string;
}

/** What the daemon answers to `{"type":"ping"}`, the first frame of a connection (native-host/shim-listener.ts). */
export const Pong = z.looseObject({
  type: z.literal('pong'),
  version: z.string(),
  device: z.string(),
  startedAt: z.number(),
  hubConnected: z.boolean(),
  journal: z.looseObject({ records: z.number(), bytes: z.number(), writable: z.boolean() }),
  /** the API's port, when the daemon says (it may differ from config.json: port 0 picks one) */
  apiPort: z.int().min(1).max(65_535).optional(),
});
export type Pong = z.infer<typeof Pong>;

/** The outside world, as doctor sees it. */
export interface DoctorProbes {
  /** a file's text, or undefined when there is no such file */
  readFile(path: string): string | undefined;
  /** the last `bytes` of a file (a log may be large), or undefined when there is no such file */
  readTail(path: string, bytes: number): string | undefined;
  isExecutable(path: string): boolean;
  /** `node --version` of that node, or undefined when it does not run */
  nodeVersion(nodePath: string): string | undefined;
  registry: RegistryRunner;
  /** sends `{"type":"ping"}` on the daemon's socket; resolves with the first frame back */
  ping(socket: string, timeoutMs: number): Promise<unknown>;
  /** GET with the token; resolves with the status and body, rejects when nothing answers */
  get(url: string, token: string, timeoutMs: number): Promise<{ status: number; body: string }>;
}

export interface DoctorOptions {
  home: string;
  platform?: NodeJS.Platform;
  userHome?: string;
  /** as in InstallOptions.env */
  env?: NodeJS.ProcessEnv;
  probes?: Partial<DoctorProbes>;
  /** for each network probe; default 2000 */
  timeoutMs?: number;
}

const INSTALL = 'run `switchboard host install`';
const START_DAEMON = 'open the browser with the Switchboard extension (it starts the daemon), or run `switchboard daemon` to run it in the foreground and see why it stops';

export async function runDoctor(options: DoctorOptions): Promise<Check[]> {
  const platform = options.platform ?? process.platform;
  const probes: DoctorProbes = { ...realProbes, ...options.probes };
  const timeoutMs = options.timeoutMs ?? 2_000;
  const where = paths(options.home, platform);
  const checks: Check[] = [];
  const pass = (name: CheckName, detail: string) => checks.push({ name, ok: true, detail, fix: '' });
  const fail = (name: CheckName, detail: string, fix: string) => checks.push({ name, ok: false, detail, fix });
  const skip = (name: CheckName, because: string) => checks.push({ name, ok: false, skipped: true, detail: `not checked: ${because}`, fix: '' });

  // config
  let config: HostConfig = DEFAULT_CONFIG;
  try {
    config = loadConfig(options.home);
    pass('config', probes.readFile(where.config) === undefined ? `no ${where.config}: every setting is a default` : `${where.config} is valid`);
  } catch (error) {
    fail('config', (error as Error).message, `correct ${where.config} as the message says, or delete it to use the defaults; the daemon will not start with it`);
  }

  // manifest
  const manifests = findManifests(options, platform, probes);
  const problems: string[] = [];
  const good: string[] = [];
  for (const manifest of manifests) {
    const problem = manifest.problem ?? manifestProblem(manifest, probes, config, where.launcher, platform);
    if (problem) problems.push(`${manifest.label}: ${problem}`);
    else good.push(manifest.label);
  }
  if (problems.length) fail('manifest', problems.join('; '), INSTALL);
  else if (good.length === 0) fail('manifest', `no ${NATIVE_HOST_NAME} manifest for any browser found`, `${INSTALL} (add --browser <name> or --profile <dir> when your browser was not found)`);
  else pass('manifest', `valid for ${good.join(', ')}`);

  // launcher
  const launcher = launcherProblem(where.launcher, options.home, platform, probes);
  if (launcher.problem) fail('launcher', launcher.problem, launcher.fix);
  else pass('launcher', launcher.detail);

  // daemon
  let pong: Pong | undefined;
  const longSocket = platform !== 'win32' && Buffer.byteLength(where.socket) > 103;
  try {
    const answer = await probes.ping(where.socket, timeoutMs);
    const parsed = Pong.safeParse(answer);
    if (!parsed.success) throw new Error(`something answers on ${where.socket}, but not as a Switchboard daemon: ${JSON.stringify(answer).slice(0, 200)}`);
    pong = parsed.data;
    const pid = probes.readFile(where.pid)?.trim();
    pass('daemon', `daemon ${pong.version} answers on ${where.socket}${pid ? ` (pid ${pid})` : ''}, up since ${new Date(pong.startedAt).toISOString()}, ${pong.journal.records} journal records waiting`);
  } catch (error) {
    const log = lastLines(probes.readTail(where.log, 4096), 3);
    fail(
      'daemon',
      `${(error as Error).message}${log ? `; the end of ${where.log}: ${log}` : ''}`,
      longSocket ? `the socket path ${where.socket} is longer than Unix sockets allow (103 bytes): set SWITCHBOARD_HOME to a shorter folder` : START_DAEMON,
    );
  }

  // hub
  if (!pong) skip('hub', 'the daemon does not answer');
  else if (pong.hubConnected) pass('hub', 'the extension is connected to the daemon');
  else {
    fail(
      'hub',
      'the daemon answers, but no browser extension is connected to it',
      'start the browser with the Switchboard extension; if it is running, reload the extension (chrome://extensions) — it connects when its service worker starts. If that does not help, the manifest or launcher link above is the place to look',
    );
  }

  // api
  if (!pong) skip('api', 'the daemon does not answer');
  else {
    const port = pong.apiPort ?? config.api.port;
    const url = `http://${config.api.host.includes(':') ? `[${config.api.host}]` : config.api.host}:${port}/health/ready`;
    let token: string | undefined;
    try {
      token = readToken(options.home);
    } catch (error) {
      fail('api', (error as Error).message, 'restart the daemon: it makes the token when it starts');
    }
    if (token !== undefined) {
      try {
        const answer = await probes.get(url, token, timeoutMs);
        if (answer.status === 200) pass('api', `${url} answers: ready`);
        else if (answer.status === 401) {
          fail('api', `${url} refused the token in ${where.token}`, 'the token changed after the daemon started: restart the daemon (stop it, then open the browser or run `switchboard daemon`)');
        } else if (answer.status === 503) {
          const reason = errorOf(answer.body) ?? 'not ready';
          fail('api', `${url} answers, but ${reason}`, pong.hubConnected ? `see ${where.log}` : 'connect the extension (the hub check above)');
        } else fail('api', `${url} answered ${answer.status}: ${errorOf(answer.body) ?? answer.body.slice(0, 200)}`, `see ${where.log}`);
      } catch (error) {
        fail(
          'api',
          `nothing answers at ${url}: ${(error as Error).message}`,
          `another program may hold port ${port}, or api.port in ${where.config} changed after the daemon started (restart it); see ${where.log}`,
        );
      }
    }
  }
  return checks;
}

// ---------------------------------------------------------------------------------------------
// Manifests

interface FoundManifest {
  /** for a person: "chrome (/path/…json)" */
  label: string;
  path: string;
  family: 'chrome' | 'firefox';
  /** found broken before reading it (a registry key pointing nowhere) */
  problem?: string;
}

/** The manifests the browsers found would read, and any installed.json lists (profiles). */
function findManifests(options: DoctorOptions, platform: NodeJS.Platform, probes: DoctorProbes): FoundManifest[] {
  const userHome = options.userHome ?? homedir();
  const found: FoundManifest[] = [];
  const exists = (path: string) => probes.readFile(path) !== undefined || isFolder(path);
  // As in install: a given userHome is looked at on its own, without the process's XDG_CONFIG_HOME.
  const env = options.env ?? (options.userHome === undefined ? process.env : {});
  for (const target of browserTargets(platform, userHome, env)) {
    if (!target.detect.some(exists)) continue;
    if (target.registryKey) {
      const path = readRegistryDefault(probes.registry, target.registryKey);
      if (path === undefined) continue;
      const problem = probes.readFile(path) === undefined ? `the registry key ${target.registryKey} points at ${path}, which does not exist` : undefined;
      found.push({ label: `${target.browser} (${path})`, path, family: target.family, problem });
    } else {
      const path = join(target.manifestDir!, `${NATIVE_HOST_NAME}.json`);
      if (probes.readFile(path) !== undefined) found.push({ label: `${target.browser} (${path})`, path, family: target.family });
    }
  }
  // Chromium profiles (--profile at install) are known only from the record.
  const record = probes.readFile(paths(options.home, platform).installed);
  if (record !== undefined) {
    let files: { path: string }[] = [];
    try {
      files = (JSON.parse(record) as { files?: { path: string }[] }).files ?? [];
    } catch {
      // A broken record is install's to report; here it only adds places to look.
    }
    for (const { path } of files) {
      if (typeof path !== 'string' || basename(path) !== `${NATIVE_HOST_NAME}.json` || basename(dirname(path)) !== 'NativeMessagingHosts') continue;
      if (found.some((manifest) => manifest.path === path) || probes.readFile(path) === undefined) continue;
      found.push({ label: `profile ${dirname(dirname(path))} (${path})`, path, family: 'chrome' });
    }
  }
  return found;
}

function manifestProblem(
  manifest: FoundManifest,
  probes: DoctorProbes,
  config: HostConfig,
  launcher: string,
  platform: NodeJS.Platform,
): string | undefined {
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(probes.readFile(manifest.path) ?? '');
  } catch {
    return 'not valid JSON';
  }
  if (data === null || typeof data !== 'object') return 'not a JSON object';
  if (data.name !== NATIVE_HOST_NAME) return `name is ${JSON.stringify(data.name)}, expected "${NATIVE_HOST_NAME}"`;
  if (data.type !== 'stdio') return `type is ${JSON.stringify(data.type)}, expected "stdio"`;
  if (typeof data.path !== 'string') return 'no path';
  // Chrome on Windows resolves a relative path against the manifest's folder; elsewhere it must be absolute.
  if (!isAbsolute(data.path) && platform !== 'win32') return `path ${data.path} is not absolute`;
  const target = isAbsolute(data.path) ? data.path : resolve(dirname(manifest.path), data.path);
  if (probes.readFile(target) === undefined) return `it points at ${target}, which does not exist`;
  // Windows has no executable bit: a .bat runs because of its name.
  if (platform !== 'win32' && !probes.isExecutable(target)) return `it points at ${target}, which is not executable`;
  if (target !== launcher) return `it points at ${target}, not at this home's launcher ${launcher} (installed from another SWITCHBOARD_HOME?)`;
  if (manifest.family === 'firefox') {
    const allowed = Array.isArray(data.allowed_extensions) ? data.allowed_extensions : [];
    if (!config.extensions.firefox.some((id) => allowed.includes(id))) return `allowed_extensions does not list ${config.extensions.firefox.join(' or ')}`;
  } else {
    const allowed = Array.isArray(data.allowed_origins) ? data.allowed_origins : [];
    const origins = config.extensions.chrome.map((id) => `chrome-extension://${id}/`);
    if (!origins.some((origin) => allowed.includes(origin))) return `allowed_origins does not list ${origins.join(' or ')}`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// The launcher

/** The launcher's parts, read back from what install wrote (install.ts, launcherScript). */
export function parseLauncher(text: string, platform: NodeJS.Platform): { home: string; node: string; shim: string } | undefined {
  if (platform === 'win32') {
    const home = /^set "SWITCHBOARD_HOME=(.*)"\r?$/m.exec(text)?.[1];
    const run = /^"([^"]+)" "([^"]+)" %\*\r?$/m.exec(text);
    if (home === undefined || !run) return undefined;
    const unbat = (value: string) => value.replace(/%%/g, '%');
    return { home: unbat(home), node: unbat(run[1]), shim: unbat(run[2]) };
  }
  const quoted = `'((?:[^']|'\\\\'')*)'`;
  const home = new RegExp(`^SWITCHBOARD_HOME=${quoted}$`, 'm').exec(text)?.[1];
  const run = new RegExp(`^exec ${quoted} ${quoted} "\\$@"$`, 'm').exec(text);
  if (home === undefined || !run) return undefined;
  const unquote = (value: string) => value.replace(/'\\''/g, "'");
  return { home: unquote(home), node: unquote(run[1]), shim: unquote(run[2]) };
}

function launcherProblem(launcher: string, home: string, platform: NodeJS.Platform, probes: DoctorProbes): { problem?: string; fix: string; detail: string } {
  const text = probes.readFile(launcher);
  if (text === undefined) return { problem: `no launcher at ${launcher}`, fix: INSTALL, detail: '' };
  if (platform !== 'win32' && !probes.isExecutable(launcher)) return { problem: `${launcher} is not executable`, fix: `${INSTALL} (or \`chmod 755 ${launcher}\`)`, detail: '' };
  const parts = parseLauncher(text, platform);
  if (!parts) return { problem: `${launcher} is not a launcher \`switchboard host install\` wrote`, fix: INSTALL, detail: '' };
  if (resolve(parts.home) !== resolve(home)) return { problem: `${launcher} serves the home ${parts.home}, not ${home}`, fix: INSTALL, detail: '' };
  const version = probes.nodeVersion(parts.node);
  if (version === undefined) {
    return { problem: `the node it runs, ${parts.node}, does not run (moved or removed since install?)`, fix: `${INSTALL} with the node you use now`, detail: '' };
  }
  const major = Number(/^v(\d+)\./.exec(version)?.[1] ?? 0);
  if (major < 20) return { problem: `the node it runs, ${parts.node}, is ${version}; the host needs 20 or newer`, fix: `${INSTALL} with node 20 or newer`, detail: '' };
  for (const file of [parts.shim, join(dirname(parts.shim), 'daemon.mjs')]) {
    if (probes.readFile(file) === undefined) return { problem: `${file} is missing`, fix: `run \`npm run build:host\`, then \`switchboard host install\``, detail: '' };
  }
  return { fix: '', detail: `${launcher} runs ${parts.shim} with node ${version} (${parts.node})` };
}

// ---------------------------------------------------------------------------------------------
// The real probes

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

export const realProbes: DoctorProbes = {
  readFile(path) {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return undefined;
    }
  },
  readTail(path, bytes) {
    let descriptor: number | undefined;
    try {
      descriptor = openSync(path, 'r');
      const size = fstatSync(descriptor).size;
      const buffer = Buffer.alloc(Math.min(bytes, size));
      readSync(descriptor, buffer, 0, buffer.length, size - buffer.length);
      return buffer.toString('utf8');
    } catch {
      return undefined;
    } finally {
      if (descriptor !== undefined) closeSync(descriptor);
    }
  },
  isExecutable(path) {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  },
  nodeVersion(nodePath) {
    const result = spawnSync(nodePath, ['--version'], { encoding: 'utf8', timeout: 10_000, windowsHide: true });
    return result.status === 0 ? result.stdout.trim() : undefined;
  },
  registry: runReg,
  ping(socketPath, timeoutMs) {
    return new Promise((resolvePong, reject) => {
      const socket = connect(socketPath);
      const reader = new FrameReader({ maxFrameBytes: 1024 * 1024 });
      const timer = setTimeout(() => finish(new Error(`no answer on ${socketPath} within ${timeoutMs} ms`)), timeoutMs);
      const finish = (error: Error | undefined, value?: unknown) => {
        clearTimeout(timer);
        socket.destroy();
        if (error) reject(error);
        else resolvePong(value);
      };
      socket.once('connect', () => socket.write(encodeFrame({ type: 'ping' })));
      socket.on('data', (chunk: Buffer) => {
        try {
          reader.push(chunk, (value) => finish(undefined, value));
        } catch (error) {
          finish(error as Error);
        }
      });
      socket.once('end', () => finish(new Error(`${socketPath} closed without an answer`)));
      socket.once('error', (error: NodeJS.ErrnoException) =>
        finish(new Error(error.code === 'ENOENT' || error.code === 'ECONNREFUSED' ? `nothing answers on ${socketPath} (${error.code})` : error.message)),
      );
    });
  },
  get(url, token, timeoutMs) {
    return new Promise((resolveAnswer, reject) => {
      const call = request(url, { headers: { Authorization: `Bearer ${token}` }, timeout: timeoutMs }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolveAnswer({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      });
      call.on('timeout', () => call.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      call.on('error', reject);
      call.end();
    });
  },
};

function errorOf(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { error?: unknown };
    return typeof parsed.error === 'string' ? parsed.error : undefined;
  } catch {
    return undefined;
  }
}

function lastLines(text: string | undefined, count: number): string {
  if (!text) return '';
  return text.trimEnd().split('\n').slice(-count).join(' | ');
}
