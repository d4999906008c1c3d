import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXTENSION_ID, FIREFOX_ADDON_ID } from '../../src/extension-identity';
import { NATIVE_HOST_NAME } from '../../src/protocol/native';
import { browserTargets, installHost, launcherScript, uninstallHost, type RegistryRunner } from '../../native-host/install';

let root: string;
let home: string;
let userHome: string;
let distDir: string;

beforeEach(() => {
  // A space and a quote in every path: the launcher must quote them.
  root = mkdtempSync(join(tmpdir(), "switchboard install '"));
  home = join(root, 'home');
  userHome = join(root, 'user');
  distDir = join(root, 'dist');
  mkdirSync(userHome);
  mkdirSync(distDir);
  // A stand-in shim that shows what the launcher gave it.
  writeFileSync(
    join(distDir, 'shim.mjs'),
    'process.stdout.write(JSON.stringify({ args: process.argv.slice(2), home: process.env.SWITCHBOARD_HOME, node: process.execPath }));\n',
  );
  writeFileSync(join(distDir, 'daemon.mjs'), '// daemon\n');
  writeFileSync(join(distDir, 'cli.mjs'), '// cli\n');
  writeFileSync(join(distDir, 'mcp.mjs'), '// mcp\n');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const MANIFEST = `${NATIVE_HOST_NAME}.json`;
const linuxBrowsers = () => {
  mkdirSync(join(userHome, '.config', 'google-chrome'), { recursive: true });
  mkdirSync(join(userHome, '.config', 'BraveSoftware', 'Brave-Browser'), { recursive: true });
  mkdirSync(join(userHome, '.mozilla'), { recursive: true });
};
const install = (extra: Partial<Parameters<typeof installHost>[0]> = {}) =>
  installHost({ home, distDir, userHome, platform: 'linux', env: {}, ...extra });
const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

/** Every file under `dir` with its bytes and mtime. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out[path] = `${statSync(path).mtimeMs}:${statSync(path).mode}:${readFileSync(path, 'base64')}`;
  }
  return out;
}

describe.skipIf(process.platform === 'win32')('installHost on Linux', () => {
  it('installs the bundle and launcher, and a manifest for every browser found — only those', () => {
    linuxBrowsers();
    const report = install();
    expect(report.registered).toEqual(['chrome', 'brave', 'firefox']);
    expect(report.notes).toEqual([]);

    const launcher = join(home, 'bin', 'switchboard-host');
    const chrome = readJson(join(userHome, '.config', 'google-chrome', 'NativeMessagingHosts', MANIFEST));
    expect(chrome).toEqual({
      name: NATIVE_HOST_NAME,
      description: 'Switchboard native host',
      path: launcher,
      type: 'stdio',
      allowed_origins: [`chrome-extension://${EXTENSION_ID}/`],
    });
    expect(readJson(join(userHome, '.config', 'BraveSoftware', 'Brave-Browser', 'NativeMessagingHosts', MANIFEST))).toEqual(chrome);
    const firefox = readJson(join(userHome, '.mozilla', 'native-messaging-hosts', MANIFEST));
    expect(firefox.allowed_extensions).toEqual([FIREFOX_ADDON_ID]);
    expect(firefox.allowed_origins).toBeUndefined();
    expect(existsSync(join(userHome, '.config', 'chromium'))).toBe(false);
    expect(existsSync(join(userHome, '.config', 'microsoft-edge'))).toBe(false);

    for (const file of ['shim.mjs', 'daemon.mjs', 'cli.mjs', 'mcp.mjs']) {
      expect(readFileSync(join(home, 'host', file))).toEqual(readFileSync(join(distDir, file)));
    }
    expect(statSync(launcher).mode & 0o777).toBe(0o755);
    expect(statSync(join(home, 'token')).mode & 0o777).toBe(0o600);
    expect(report.actions.every((action) => action.changed)).toBe(true);
    expect(report.actions.map((action) => action.what)).toEqual([
      'home folder',
      'API token',
      'host shim.mjs',
      'host daemon.mjs',
      'host cli.mjs',
      'host mcp.mjs',
      'launcher',
      'manifest for chrome',
      'manifest for brave',
      'manifest for firefox',
      'record of what was installed',
    ]);
  });

  it('writes a launcher that runs the shim with the installing node, the home, and the browser’s arguments', () => {
    linuxBrowsers();
    install();
    const origin = `chrome-extension://${EXTENSION_ID}/`;
    const output = JSON.parse(execFileSync(join(home, 'bin', 'switchboard-host'), [origin, '--parent-window=0'], { encoding: 'utf8', env: {} }));
    expect(output).toEqual({ args: [origin, '--parent-window=0'], home, node: process.execPath });
  });

  it('changes nothing when run twice: every action unchanged, every file byte-identical and untouched', () => {
    linuxBrowsers();
    install();
    const before = { ...snapshot(home), ...snapshot(userHome) };
    const second = install();
    expect(second.actions.filter((action) => action.changed)).toEqual([]);
    expect({ ...snapshot(home), ...snapshot(userHome) }).toEqual(before);
  });

  it('rewrites what differs: a new build, a manifest edited by hand', () => {
    linuxBrowsers();
    install();
    writeFileSync(join(distDir, 'daemon.mjs'), '// daemon, rebuilt\n');
    const manifest = join(userHome, '.mozilla', 'native-messaging-hosts', MANIFEST);
    writeFileSync(manifest, '{}');
    const changed = install().actions.filter((action) => action.changed).map((action) => action.path);
    expect(changed).toEqual([join(home, 'host', 'daemon.mjs'), manifest, join(home, 'installed.json')]);
    expect(readJson(manifest).name).toBe(NATIVE_HOST_NAME);
  });

  it('registers a browser asked for by name even when it is not found, and says so', () => {
    const report = install({ browsers: ['edge'] });
    expect(report.registered).toEqual(['edge']);
    expect(report.notes[0]).toContain('edge: not found at');
    expect(existsSync(join(userHome, '.config', 'microsoft-edge', 'NativeMessagingHosts', MANIFEST))).toBe(true);
  });

  it('writes into Chromium --user-data-dir profiles', () => {
    const profile = join(root, 'profile');
    const report = install({ profiles: [profile] });
    expect(report.registered).toEqual([`profile:${profile}`]);
    expect(readJson(join(profile, 'NativeMessagingHosts', MANIFEST)).allowed_origins).toEqual([`chrome-extension://${EXTENSION_ID}/`]);
  });

  it('says when no browser is found', () => {
    const report = install();
    expect(report.registered).toEqual([]);
    expect(report.notes[0]).toMatch(/^no browser found .* --browser <name>.* --profile <dir>/);
  });

  it('uses the extension ids from config.json', () => {
    linuxBrowsers();
    mkdirSync(home);
    writeFileSync(join(home, 'config.json'), JSON.stringify({ extensions: { chrome: ['a'.repeat(32), EXTENSION_ID] } }));
    install();
    expect(readJson(join(userHome, '.config', 'google-chrome', 'NativeMessagingHosts', MANIFEST)).allowed_origins).toEqual([
      `chrome-extension://${'a'.repeat(32)}/`,
      `chrome-extension://${EXTENSION_ID}/`,
    ]);
  });

  it('writes nothing when the bundle is missing, a browser name is wrong, or config.json is bad', () => {
    linuxBrowsers();
    rmSync(join(distDir, 'daemon.mjs'));
    expect(() => install()).toThrow(`${join(distDir, 'daemon.mjs')} missing; run \`npm run build:host\``);
    writeFileSync(join(distDir, 'daemon.mjs'), '');
    expect(() => install({ browsers: ['netscape' as 'chrome'] })).toThrow('unknown browser "netscape"');
    expect(existsSync(home)).toBe(false);
    mkdirSync(home);
    writeFileSync(join(home, 'config.json'), '{"api":{"port":"x"}}');
    expect(() => install()).toThrow('config.json: api.port');
    expect(readdirSync(home)).toEqual(['config.json']);
    expect(existsSync(join(userHome, '.config', 'google-chrome', 'NativeMessagingHosts'))).toBe(false);
  });

  it('refuses a damaged installed.json instead of forgetting what it listed', () => {
    mkdirSync(home);
    writeFileSync(join(home, 'installed.json'), '{"version":1,"files":[{"path":""}]}');
    expect(() => install()).toThrow(/installed\.json: files\[0\]\.path/);
    writeFileSync(join(home, 'installed.json'), 'nope');
    expect(() => install()).toThrow('installed.json is not valid JSON');
    expect(() => uninstallHost({ home, platform: 'linux' })).toThrow('installed.json is not valid JSON');
  });
});

describe.skipIf(process.platform === 'win32')('uninstallHost', () => {
  it('removes exactly what install wrote, and folders it made once empty', () => {
    linuxBrowsers();
    // Another host's manifest beside ours, in a folder that existed before: both stay.
    const chromeHosts = join(userHome, '.config', 'google-chrome', 'NativeMessagingHosts');
    mkdirSync(chromeHosts);
    writeFileSync(join(chromeHosts, 'com.other.host.json'), '{}');
    mkdirSync(home);
    writeFileSync(join(home, 'config.json'), '{}');
    const userBefore = snapshot(userHome);

    install();
    const report = uninstallHost({ home, platform: 'linux' });
    expect(report.notes).toEqual([]);
    expect(snapshot(userHome)).toEqual(userBefore);
    expect(existsSync(join(userHome, '.mozilla', 'native-messaging-hosts'))).toBe(false); // made by install
    expect(existsSync(join(userHome, '.mozilla'))).toBe(true);
    expect(readdirSync(home).sort()).toEqual(['config.json', 'curl-auth.conf', 'token']); // the person's data stays
    expect(report.actions.filter((action) => action.what === 'removed').length).toBe(8); // 4 host files, the launcher, 3 manifests

    expect(uninstallHost({ home, platform: 'linux' })).toEqual({
      actions: [],
      registered: [],
      notes: [`nothing to remove: ${join(home, 'installed.json')} does not exist`],
    });
  });

  it('leaves alone a manifest rewritten since install, and says so', () => {
    linuxBrowsers();
    install();
    const firefox = join(userHome, '.mozilla', 'native-messaging-hosts', MANIFEST);
    writeFileSync(firefox, '{"name":"someone else"}');
    const report = uninstallHost({ home, platform: 'linux' });
    expect(readFileSync(firefox, 'utf8')).toBe('{"name":"someone else"}');
    expect(report.actions).toContainEqual({ what: 'left alone: changed since install', path: firefox, changed: false });
    expect(report.notes).toEqual([`${firefox} was changed after install, so it was not removed`]);
  });

  it('remembers browsers from earlier installs', () => {
    linuxBrowsers();
    install({ browsers: ['firefox'] });
    install({ browsers: ['chrome'] });
    uninstallHost({ home, platform: 'linux' });
    expect(existsSync(join(userHome, '.mozilla', 'native-messaging-hosts', MANIFEST))).toBe(false);
    expect(existsSync(join(userHome, '.config', 'google-chrome', 'NativeMessagingHosts', MANIFEST))).toBe(false);
  });
});

describe('browserTargets', () => {
  it('knows the macOS folders (Firefox reads hosts from …/Mozilla)', () => {
    const targets = browserTargets('darwin', '/Users/me', {});
    const support = '/Users/me/Library/Application Support';
    expect(targets.map((target) => target.manifestDir)).toEqual([
      `${support}/Google/Chrome/NativeMessagingHosts`,
      `${support}/Chromium/NativeMessagingHosts`,
      `${support}/Microsoft Edge/NativeMessagingHosts`,
      `${support}/BraveSoftware/Brave-Browser/NativeMessagingHosts`,
      `${support}/Vivaldi/NativeMessagingHosts`,
      `${support}/Mozilla/NativeMessagingHosts`,
    ]);
  });

  it('follows XDG_CONFIG_HOME on Linux', () => {
    expect(browserTargets('linux', '/home/me', { XDG_CONFIG_HOME: '/cfg' })[1].manifestDir).toBe('/cfg/chromium/NativeMessagingHosts');
  });
});

/** A registry in memory that speaks reg.exe's arguments and output. */
function fakeRegistry() {
  const keys = new Map<string, string>();
  const calls: string[][] = [];
  const run: RegistryRunner = (args) => {
    calls.push(args);
    const [verb, key] = args;
    if (verb === 'query') {
      return keys.has(key)
        ? { status: 0, stdout: `\r\n${key}\r\n    (Default)    REG_SZ    ${keys.get(key)}\r\n\r\n`, stderr: '' }
        : { status: 1, stdout: '', stderr: 'ERROR: The system was unable to find the specified registry key or value.' };
    }
    if (verb === 'add') {
      keys.set(key, args[args.indexOf('/d') + 1]);
      return { status: 0, stdout: 'The operation completed successfully.', stderr: '' };
    }
    if (verb === 'delete') return keys.delete(key) ? { status: 0, stdout: '', stderr: '' } : { status: 1, stdout: '', stderr: 'not found' };
    return { status: 1, stdout: '', stderr: `unknown verb ${verb}` };
  };
  return { keys, calls, run };
}

describe('installHost on Windows (registry runner injected)', () => {
  it('writes one manifest per family and a registry key per browser found, once', () => {
    const registry = fakeRegistry();
    const local = join(userHome, 'AppData', 'Local');
    mkdirSync(join(local, 'Google', 'Chrome', 'User Data'), { recursive: true });
    mkdirSync(join(local, 'Microsoft', 'Edge', 'User Data'), { recursive: true });
    mkdirSync(join(userHome, 'AppData', 'Roaming', 'Mozilla', 'Firefox'), { recursive: true });
    const options = { home, distDir, userHome, platform: 'win32' as const, env: {}, registry: registry.run, nodePath: 'C:\\Program Files\\nodejs\\node.exe' };

    const report = installHost(options);
    expect(report.registered).toEqual(['chrome', 'edge', 'firefox']);
    const chromeManifest = join(home, 'manifests', `${NATIVE_HOST_NAME}.chrome.json`);
    const firefoxManifest = join(home, 'manifests', `${NATIVE_HOST_NAME}.firefox.json`);
    expect(Object.fromEntries(registry.keys)).toEqual({
      [`HKCU\\Software\\Google\\Chrome\\NativeMessagingHosts\\${NATIVE_HOST_NAME}`]: chromeManifest,
      [`HKCU\\Software\\Microsoft\\Edge\\NativeMessagingHosts\\${NATIVE_HOST_NAME}`]: chromeManifest,
      [`HKCU\\Software\\Mozilla\\NativeMessagingHosts\\${NATIVE_HOST_NAME}`]: firefoxManifest,
    });
    expect(registry.calls.filter(([verb]) => verb === 'add')[0]).toEqual([
      'add',
      `HKCU\\Software\\Google\\Chrome\\NativeMessagingHosts\\${NATIVE_HOST_NAME}`,
      '/ve',
      '/t',
      'REG_SZ',
      '/d',
      chromeManifest,
      '/f',
    ]);
    expect(readJson(chromeManifest).path).toBe(join(home, 'bin', 'switchboard-host.bat'));
    expect(report.actions.filter((action) => action.what.startsWith('manifest'))).toHaveLength(2);
    expect(readFileSync(join(home, 'bin', 'switchboard-host.bat'), 'utf8')).toContain('"C:\\Program Files\\nodejs\\node.exe"');

    registry.calls.length = 0;
    expect(installHost(options).actions.filter((action) => action.changed)).toEqual([]);
    expect(registry.calls.every(([verb]) => verb === 'query')).toBe(true);

    // A key someone else pointed elsewhere stays; ours go.
    const edge = `HKCU\\Software\\Microsoft\\Edge\\NativeMessagingHosts\\${NATIVE_HOST_NAME}`;
    registry.keys.set(edge, 'C:\\other.json');
    const removed = uninstallHost({ home, platform: 'win32', registry: registry.run });
    expect(Object.fromEntries(registry.keys)).toEqual({ [edge]: 'C:\\other.json' });
    expect(removed.notes).toEqual([`${edge} now points at C:\\other.json, not at what install wrote, so it was not removed`]);
  });

  it('stops with the reg error when a key cannot be written', () => {
    mkdirSync(join(userHome, 'AppData', 'Roaming', 'Mozilla', 'Firefox'), { recursive: true });
    const failing: RegistryRunner = (args) => (args[0] === 'add' ? { status: 1, stdout: '', stderr: 'ERROR: Access is denied.' } : { status: 1, stdout: '', stderr: '' });
    expect(() => installHost({ home, distDir, userHome, platform: 'win32', env: {}, registry: failing })).toThrow(
      /reg add HKCU\\Software\\Mozilla\\NativeMessagingHosts\\dev\.switchboard\.host failed: ERROR: Access is denied\./,
    );
  });
});

describe('launcherScript', () => {
  it('quotes for sh and for cmd', () => {
    expect(launcherScript('linux', "/n o'de", '/h', '/h/host/shim.mjs')).toBe(
      `#!/bin/sh\nSWITCHBOARD_HOME='/h'\nexport SWITCHBOARD_HOME\nexec '/n o'\\''de' '/h/host/shim.mjs' "$@"\n`,
    );
    expect(launcherScript('win32', 'C:\\node.exe', 'C:\\100%', 'C:\\100%\\host\\shim.mjs')).toBe(
      '@echo off\r\nset "SWITCHBOARD_HOME=C:\\100%%"\r\n"C:\\node.exe" "C:\\100%%\\host\\shim.mjs" %*\r\n',
    );
  });
});

describe.skipIf(process.platform === 'win32')('a given userHome', () => {
  it('is not mixed with the process’s XDG_CONFIG_HOME', () => {
    const elsewhere = join(root, 'xdg');
    mkdirSync(join(elsewhere, 'chromium'), { recursive: true });
    const saved = process.env.XDG_CONFIG_HOME;
    process.env.XDG_CONFIG_HOME = elsewhere;
    try {
      const report = installHost({ home, distDir, userHome, platform: 'linux' });
      expect(report.registered).toEqual([]);
      expect(existsSync(join(elsewhere, 'chromium', 'NativeMessagingHosts'))).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.XDG_CONFIG_HOME;
      else process.env.XDG_CONFIG_HOME = saved;
    }
  });
});
