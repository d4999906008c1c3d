/**
 * `switchboard host install` / `uninstall`: puts the bundled host in the home folder, writes the
 * launcher the browsers start, and registers it with every browser found — a manifest file in the
 * browser's NativeMessagingHosts folder (Linux, macOS, and `--profile` folders for Chromium started
 * with `--user-data-dir`), or a registry key pointing at a manifest file (Windows). See
 * ARCHITECTURE.md, "Native messaging", for where each browser looks.
 *
 * Installing twice changes nothing: every file is compared before it is written. installed.json
 * records what was written (with each file's hash), so uninstall removes exactly that — never a
 * manifest it did not write, nor one that was rewritten since by someone else.
 */
import { readJsonRecord } from './json-file';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { NATIVE_HOST_NAME } from '../src/protocol/native';
import { parseOrThrow } from '../src/protocol/envelope';
import { ensureHome, loadConfig, paths } from './config';

export const BROWSERS = ['chrome', 'chromium', 'edge', 'brave', 'vivaldi', 'firefox'] as const;
export type BrowserName = (typeof BROWSERS)[number];

/** The files of the bundle (dist/native-host, `npm run build:host`) the installed host needs. */
export const HOST_FILES = ['shim.mjs', 'daemon.mjs', 'cli.mjs', 'mcp.mjs'] as const;

const MANIFEST_FILE = `${NATIVE_HOST_NAME}.json`;

/** Where one browser keeps its native-messaging hosts on one platform. */
export interface BrowserTarget {
  browser: BrowserName;
  /** Chrome-family browsers read allowed_origins; Firefox allowed_extensions */
  family: 'chrome' | 'firefox';
  /** the browser counts as installed when one of these folders exists */
  detect: string[];
  /** Linux, macOS: the folder the manifest file goes in */
  manifestDir?: string;
  /** Windows: the registry key whose default value is the manifest's path */
  registryKey?: string;
}

/** Every browser's locations for `platform`, in BROWSERS order. */
export function browserTargets(platform: NodeJS.Platform, userHome: string, env: NodeJS.ProcessEnv = process.env): BrowserTarget[] {
  const family = (browser: BrowserName) => (browser === 'firefox' ? 'firefox' : 'chrome');
  if (platform === 'win32') {
    const local = env.LOCALAPPDATA ?? join(userHome, 'AppData', 'Local');
    const roaming = env.APPDATA ?? join(userHome, 'AppData', 'Roaming');
    const windows: Record<BrowserName, { data: string; key: string }> = {
      chrome: { data: join(local, 'Google', 'Chrome', 'User Data'), key: 'Google\\Chrome' },
      chromium: { data: join(local, 'Chromium', 'User Data'), key: 'Chromium' },
      edge: { data: join(local, 'Microsoft', 'Edge', 'User Data'), key: 'Microsoft\\Edge' },
      brave: { data: join(local, 'BraveSoftware', 'Brave-Browser', 'User Data'), key: 'BraveSoftware\\Brave-Browser' },
      vivaldi: { data: join(local, 'Vivaldi', 'User Data'), key: 'Vivaldi' },
      firefox: { data: join(roaming, 'Mozilla', 'Firefox'), key: 'Mozilla' },
    };
    return BROWSERS.map((browser) => ({
      browser,
      family: family(browser),
      detect: [windows[browser].data],
      registryKey: `HKCU\\Software\\${windows[browser].key}\\NativeMessagingHosts\\${NATIVE_HOST_NAME}`,
    }));
  }
  if (platform === 'darwin') {
    const support = join(userHome, 'Library', 'Application Support');
    const chrome = (folder: string[]): { detect: string[]; manifestDir: string } => ({
      detect: [join(support, ...folder)],
      manifestDir: join(support, ...folder, 'NativeMessagingHosts'),
    });
    const folders: Record<BrowserName, { detect: string[]; manifestDir: string }> = {
      chrome: chrome(['Google', 'Chrome']),
      chromium: chrome(['Chromium']),
      edge: chrome(['Microsoft Edge']),
      brave: chrome(['BraveSoftware', 'Brave-Browser']),
      vivaldi: chrome(['Vivaldi']),
      // Firefox keeps profiles in …/Firefox but reads hosts from …/Mozilla/NativeMessagingHosts.
      firefox: { detect: [join(support, 'Mozilla'), join(support, 'Firefox')], manifestDir: join(support, 'Mozilla', 'NativeMessagingHosts') },
    };
    return BROWSERS.map((browser) => ({ browser, family: family(browser), ...folders[browser] }));
  }
  const config = env.XDG_CONFIG_HOME || join(userHome, '.config');
  const chrome = (folder: string[]): { detect: string[]; manifestDir: string } => ({
    detect: [join(config, ...folder)],
    manifestDir: join(config, ...folder, 'NativeMessagingHosts'),
  });
  const folders: Record<BrowserName, { detect: string[]; manifestDir: string }> = {
    chrome: chrome(['google-chrome']),
    chromium: chrome(['chromium']),
    edge: chrome(['microsoft-edge']),
    brave: chrome(['BraveSoftware', 'Brave-Browser']),
    vivaldi: chrome(['vivaldi']),
    firefox: { detect: [join(userHome, '.mozilla')], manifestDir: join(userHome, '.mozilla', 'native-messaging-hosts') },
  };
  return BROWSERS.map((browser) => ({ browser, family: family(browser), ...folders[browser] }));
}

// ---------------------------------------------------------------------------------------------
// The Windows registry, behind an interface so tests can check the commands anywhere.

export interface RegistryResult {
  status: number;
  stdout: string;
  stderr: string;
}
/** Runs `reg.exe` with these arguments. */
export type RegistryRunner = (args: string[]) => RegistryResult;

export const runReg: RegistryRunner = (args) => {
  const result = spawnSync('reg', args, { encoding: 'utf8', windowsHide: true });
  return { status: result.status ?? 1, stdout: result.stdout ?? '', stderr: result.stderr ?? result.error?.message ?? '' };
};

/** The key's default value, or undefined when the key is absent. */
export function readRegistryDefault(registry: RegistryRunner, key: string): string | undefined {
  const result = registry(['query', key, '/ve']);
  if (result.status !== 0) return undefined;
  // "(Default)    REG_SZ    C:\…" — the "(Default)" label is translated, so match on the type.
  const line = result.stdout.split(/\r?\n/).find((text) => /\sREG_SZ\s/.test(text));
  return line?.replace(/^.*?\sREG_SZ\s+/, '').trimEnd();
}

// ---------------------------------------------------------------------------------------------
// What install wrote: installed.json

const InstalledRecord = z.strictObject({
  version: z.literal(1),
  files: z.array(z.strictObject({ path: z.string().min(1), sha256: z.string().regex(/^[0-9a-f]{64}$/) })),
  registry: z.array(z.strictObject({ key: z.string().min(1), value: z.string().min(1) })),
  /** folders install created; uninstall removes them when they are empty */
  folders: z.array(z.string().min(1)),
});
type InstalledRecord = z.infer<typeof InstalledRecord>;

function readRecord(file: string): InstalledRecord | undefined {
  return readJsonRecord(file, InstalledRecord, 'it lists what install wrote — fix it, or delete it and remove those files by hand');
}

const recordText = (record: InstalledRecord) =>
  `${JSON.stringify(
    {
      version: 1,
      files: [...record.files].sort((a, b) => a.path.localeCompare(b.path)),
      registry: [...record.registry].sort((a, b) => a.key.localeCompare(b.key)),
      folders: [...new Set(record.folders)].sort(),
    },
    null,
    2,
  )}\n`;

// ---------------------------------------------------------------------------------------------
// Install

export interface InstallAction {
  /** for a person: "manifest for chrome", "launcher", … */
  what: string;
  /** a file, a folder, or a registry key */
  path: string;
  /** false when it was already exactly so */
  changed: boolean;
}

export interface InstallReport {
  actions: InstallAction[];
  /** the browsers (and `profile:<dir>` entries) that now have a manifest */
  registered: string[];
  /** things a person should know: no browser found, a browser asked for but not found */
  notes: string[];
}

export interface InstallOptions {
  home: string;
  /** the built bundle: dist/native-host */
  distDir: string;
  platform?: NodeJS.Platform;
  userHome?: string;
  /** only these browsers, written even when their folder is not found; default: every browser found */
  browsers?: BrowserName[];
  /** extra Chromium `--user-data-dir` folders: the manifest goes in <dir>/NativeMessagingHosts */
  profiles?: string[];
  /** the node the launcher runs; default the one running now */
  nodePath?: string;
  /**
   * where XDG_CONFIG_HOME (Linux) and LOCALAPPDATA/APPDATA (Windows) come from; default the
   * process's — but none when `userHome` is given, so a test's fake home is never mixed with the
   * real person's folders
   */
  env?: NodeJS.ProcessEnv;
  registry?: RegistryRunner;
}

export function installHost(options: InstallOptions): InstallReport {
  const platform = options.platform ?? process.platform;
  const userHome = options.userHome ?? homedir();
  const registry = options.registry ?? runReg;
  const where = paths(options.home, platform);
  const windows = platform === 'win32';

  // Everything that can fail on input is checked before the first write: nothing half-installed.
  const missing = HOST_FILES.filter((file) => !existsSync(join(options.distDir, file)));
  if (missing.length) {
    throw new Error(`the host is not built: ${missing.map((file) => join(options.distDir, file)).join(', ')} missing; run \`npm run build:host\``);
  }
  const config = loadConfig(options.home);
  const previous = readRecord(where.installed);
  for (const browser of options.browsers ?? []) {
    if (!BROWSERS.includes(browser)) throw new Error(`unknown browser "${browser}": expected one of ${BROWSERS.join(', ')}`);
  }

  const actions: InstallAction[] = [];
  const record: InstalledRecord = previous ?? { version: 1, files: [], registry: [], folders: [] };
  const notes: string[] = [];
  const registered: string[] = [];

  const home = ensureHome(options.home, platform);
  actions.push({ what: 'home folder', path: options.home, changed: home.created.includes(options.home) });
  actions.push({ what: 'API token', path: where.token, changed: home.created.includes(where.token) });
  notes.push(...home.fixed, ...home.warnings);

  const folder = (path: string) => {
    for (const created of makeFolder(path)) record.folders.push(created);
  };
  const file = (what: string, path: string, content: string | Buffer, mode: number) => {
    folder(dirname(path));
    const changed = writeIfDifferent(path, content, windows ? undefined : mode);
    const sha256 = createHash('sha256').update(content).digest('hex');
    record.files = [...record.files.filter((entry) => entry.path !== path), { path, sha256 }];
    actions.push({ what, path, changed });
  };

  for (const name of HOST_FILES) {
    file(`host ${name}`, join(where.hostDir, name), readFileSync(join(options.distDir, name)), 0o644);
  }
  const nodePath = options.nodePath ?? process.execPath;
  file('launcher', where.launcher, launcherScript(platform, nodePath, options.home, join(where.hostDir, 'shim.mjs')), 0o755);

  const manifests = {
    chrome: manifestText({ allowed_origins: config.extensions.chrome.map((id) => `chrome-extension://${id}/`) }, where.launcher),
    firefox: manifestText({ allowed_extensions: config.extensions.firefox }, where.launcher),
  };

  const env = options.env ?? (options.userHome === undefined ? process.env : {});
  const found = browserTargets(platform, userHome, env).filter((target) =>
    options.browsers ? options.browsers.includes(target.browser) : target.detect.some((path) => existsSync(path)),
  );
  for (const target of found) {
    if (options.browsers && !target.detect.some((path) => existsSync(path))) {
      notes.push(`${target.browser}: not found at ${target.detect.join(' or ')}; registered anyway, as asked`);
    }
    if (windows) {
      // One manifest file per family, shared by the family's registry keys.
      const manifestPath = join(where.manifests, `${NATIVE_HOST_NAME}.${target.family}.json`);
      if (!actions.some((action) => action.path === manifestPath)) {
        file(`manifest for ${target.family === 'firefox' ? 'Firefox' : 'Chrome-family browsers'}`, manifestPath, manifests[target.family], 0o644);
      }
      const key = target.registryKey!;
      const current = readRegistryDefault(registry, key);
      if (current !== manifestPath) {
        const result = registry(['add', key, '/ve', '/t', 'REG_SZ', '/d', manifestPath, '/f']);
        if (result.status !== 0) throw new Error(`reg add ${key} failed: ${result.stderr.trim() || `exit ${result.status}`}`);
      }
      record.registry = [...record.registry.filter((entry) => entry.key !== key), { key, value: manifestPath }];
      actions.push({ what: `registry key for ${target.browser}`, path: key, changed: current !== manifestPath });
    } else {
      file(`manifest for ${target.browser}`, join(target.manifestDir!, MANIFEST_FILE), manifests[target.family], 0o644);
    }
    registered.push(target.browser);
  }
  for (const profile of options.profiles ?? []) {
    file(`manifest for the Chromium profile ${profile}`, join(profile, 'NativeMessagingHosts', MANIFEST_FILE), manifests.chrome, 0o644);
    registered.push(`profile:${profile}`);
  }
  if (registered.length === 0) {
    notes.push(
      `no browser found (looked for ${BROWSERS.join(', ')}); name one with --browser <name>, or a Chromium --user-data-dir with --profile <dir>`,
    );
  }

  const changed = writeIfDifferent(where.installed, recordText(record), windows ? undefined : 0o600);
  actions.push({ what: 'record of what was installed', path: where.installed, changed });
  return { actions, registered, notes };
}

/** The native-messaging manifest (https://developer.chrome.com/docs/extensions/develop/concepts/native-messaging). */
function manifestText(allowed: { allowed_origins: string[] } | { allowed_extensions: string[] }, launcher: string): string {
  return `${JSON.stringify({ name: NATIVE_HOST_NAME, description: 'Switchboard native host', path: launcher, type: 'stdio', ...allowed }, null, 2)}\n`;
}

/**
 * The launcher pins the node that ran install (a browser starts hosts with a bare PATH, which may
 * not reach node, or reach another version) and the home folder (the browser does not pass
 * SWITCHBOARD_HOME on, and a host installed into another home must keep using it).
 */
export function launcherScript(platform: NodeJS.Platform, nodePath: string, home: string, shimPath: string): string {
  if (platform === 'win32') {
    // cmd: inside "…" only " itself cannot appear in a Windows path; % must be doubled in a .bat.
    const bat = (text: string) => text.replace(/%/g, '%%');
    return `@echo off\r\nset "SWITCHBOARD_HOME=${bat(home)}"\r\n"${bat(nodePath)}" "${bat(shimPath)}" %*\r\n`;
  }
  // sh: single quotes keep everything literal; a ' inside is closed, escaped and reopened.
  const quote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;
  return `#!/bin/sh\nSWITCHBOARD_HOME=${quote(home)}\nexport SWITCHBOARD_HOME\nexec ${quote(nodePath)} ${quote(shimPath)} "$@"\n`;
}

/** Creates `path` and any missing parents; returns the folders it created, outermost first. */
function makeFolder(path: string): string[] {
  const created: string[] = [];
  let at = path;
  while (!existsSync(at)) {
    created.unshift(at);
    const parent = dirname(at);
    if (parent === at) break;
    at = parent;
  }
  if (created.length) mkdirSync(path, { recursive: true });
  return created;
}

/** Writes `content` (atomically: a reader sees the old file or the new one) unless it is already there. */
function writeIfDifferent(path: string, content: string | Buffer, mode: number | undefined): boolean {
  const bytes = typeof content === 'string' ? Buffer.from(content) : content;
  if (existsSync(path) && readFileSync(path).equals(bytes)) {
    if (mode === undefined || (statSync(path).mode & 0o777) === mode) return false;
    chmodSync(path, mode);
    return true;
  }
  const temporary = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temporary, bytes, mode === undefined ? {} : { mode });
  if (mode !== undefined) chmodSync(temporary, mode); // the umask may have narrowed it
  renameSync(temporary, path);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Uninstall

export interface UninstallOptions {
  home: string;
  platform?: NodeJS.Platform;
  registry?: RegistryRunner;
}

/**
 * Removes what installed.json lists. A file whose contents changed since install is left alone and
 * reported (someone else wrote it); so is a registry key that points elsewhere now. Folders install
 * created go too, when nothing else is in them. The home's own data (token, config, journal) stays.
 */
export function uninstallHost(options: UninstallOptions): InstallReport {
  const platform = options.platform ?? process.platform;
  const registry = options.registry ?? runReg;
  const where = paths(options.home, platform);
  const record = readRecord(where.installed);
  if (!record) return { actions: [], registered: [], notes: [`nothing to remove: ${where.installed} does not exist`] };

  const actions: InstallAction[] = [];
  const notes: string[] = [];
  for (const { path, sha256 } of record.files) {
    if (!existsSync(path)) {
      actions.push({ what: 'already gone', path, changed: false });
    } else if (createHash('sha256').update(readFileSync(path)).digest('hex') !== sha256) {
      actions.push({ what: 'left alone: changed since install', path, changed: false });
      notes.push(`${path} was changed after install, so it was not removed`);
    } else {
      unlinkSync(path);
      actions.push({ what: 'removed', path, changed: true });
    }
  }
  for (const { key, value } of record.registry) {
    const current = readRegistryDefault(registry, key);
    if (current === undefined) {
      actions.push({ what: 'already gone', path: key, changed: false });
    } else if (current !== value) {
      actions.push({ what: 'left alone: points elsewhere now', path: key, changed: false });
      notes.push(`${key} now points at ${current}, not at what install wrote, so it was not removed`);
    } else {
      const result = registry(['delete', key, '/f']);
      if (result.status !== 0) throw new Error(`reg delete ${key} failed: ${result.stderr.trim() || `exit ${result.status}`}`);
      actions.push({ what: 'removed registry key', path: key, changed: true });
    }
  }
  // Innermost first, so a parent is empty by the time its turn comes.
  for (const folder of [...new Set(record.folders)].sort((a, b) => b.length - a.length)) {
    if (existsSync(folder) && readdirSync(folder).length === 0) {
      rmdirSync(folder);
      actions.push({ what: 'removed folder', path: folder, changed: true });
    }
  }
  unlinkSync(where.installed);
  actions.push({ what: 'removed record', path: where.installed, changed: true });
  return { actions, registered: [], notes };
}
