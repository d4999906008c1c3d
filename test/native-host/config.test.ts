import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync, mkdirSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXTENSION_ID, FIREFOX_ADDON_ID } from '../../src/extension-identity';
import { ValidationError } from '../../src/protocol/envelope';
import {
  ConfigError,
  DEFAULT_CONFIG,
  defaultHome,
  ensureHome,
  jsonErrorOffset,
  loadConfig,
  loadConfigWithOrigin,
  paths,
  pricesFilePath,
  readToken,
} from '../../native-host/config';

let home: string;
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'switchboard-config-'));
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

const writeConfig = (value: unknown) =>
  writeFileSync(join(home, 'config.json'), typeof value === 'string' ? value : JSON.stringify(value));

const errorOf = (fn: () => unknown): Error => {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
};

describe('loadConfig', () => {
  it('gives every documented default when there is no config.json', () => {
    const { config, found, fromFile } = loadConfigWithOrigin(home);
    expect(found).toBe(false);
    expect(fromFile).toEqual([]);
    expect(config).toEqual(DEFAULT_CONFIG);
    expect(config).toEqual({
      device: 'local',
      api: { host: '127.0.0.1', port: 8737, maxBodyBytes: 20 * 1024 * 1024, rateLimit: { perSecond: 50, burst: 200 } },
      journal: { groupCommitMs: 0, compactAfterBytes: 16 * 1024 * 1024, maxBytes: 1024 * 1024 * 1024 },
      inbox: { retentionHours: 24 },
      webhooks: [],
      extensions: { chrome: [EXTENSION_ID], firefox: [FIREFOX_ADDON_ID] },
      claudeCode: {
        alerts: { tokenPercent: 80, sessionHours: 4.5, costPerBlockUsd: 50, rateLimitPercent: 90 },
        pricesFile: null,
        resumeExited: false,
        command: 'claude',
      },
    });
  });

  it('fills the defaults around the settings a file gives, and says which came from the file', () => {
    writeConfig({ device: 'laptop', api: { port: 9000, rateLimit: { burst: 10 } } });
    const { config, found, fromFile } = loadConfigWithOrigin(home);
    expect(found).toBe(true);
    expect(fromFile.sort()).toEqual(['api.port', 'api.rateLimit.burst', 'device']);
    expect(config.device).toBe('laptop');
    expect(config.api).toEqual({ host: '127.0.0.1', port: 9000, maxBodyBytes: 20 * 1024 * 1024, rateLimit: { perSecond: 50, burst: 10 } });
    expect(config.journal).toEqual(DEFAULT_CONFIG.journal);
  });

  it('names the file, the field and the value that is wrong', () => {
    writeConfig({ api: { port: 'abc' } });
    const error = errorOf(() => loadConfig(home));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toBe(`${join(home, 'config.json')}: api.port: expected an integer from 1 to 65535, or 0 for any free port, got "abc"`);
    expect((error as ConfigError).issues).toEqual([
      { field: 'api.port', problem: 'expected an integer from 1 to 65535, or 0 for any free port, got "abc"' },
    ]);
  });

  it('reports every bad field at once, one line each', () => {
    writeConfig({ api: { port: 70000, host: '0.0.0.0' }, journal: { groupCommitMs: -1 }, device: 'Not A Name' });
    const lines = errorOf(() => loadConfig(home)).message.split('\n');
    expect(lines).toHaveLength(4);
    expect(lines.every((line) => line.startsWith(`${join(home, 'config.json')}: `))).toBe(true);
    expect(lines.some((line) => line.includes('api.host: expected a loopback IP address') && line.includes('got "0.0.0.0"'))).toBe(true);
    expect(lines.some((line) => line.includes('api.port:') && line.includes('got 70000'))).toBe(true);
    expect(lines.some((line) => line.includes('journal.groupCommitMs: expected an integer from 0 to 1000, got -1'))).toBe(true);
    expect(lines.some((line) => line.includes('device: expected a device name'))).toBe(true);
  });

  it('refuses unknown settings and lists the known ones (a typo is the usual cause)', () => {
    writeConfig({ api: { prot: 1 }, colour: 'blue' });
    const message = errorOf(() => loadConfig(home)).message;
    expect(message).toContain('api.prot: unknown setting (known here: host, port, maxBodyBytes, rateLimit)');
    expect(message).toContain('colour: unknown setting (known here: device, api, journal, inbox, webhooks, extensions, claudeCode)');
  });

  it('names the position of a JSON syntax error', () => {
    writeConfig('{\n  "device": "laptop",\n  "api": { "port": }\n}');
    const message = errorOf(() => loadConfig(home)).message;
    expect(message).toMatch(new RegExp(`^${join(home, 'config.json').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not valid JSON at line 3, column 20 \\(position 43\\)`));
  });

  it('accepts loopback IP addresses only', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1']) {
      writeConfig({ api: { host } });
      expect(loadConfig(home).api.host).toBe(host);
    }
    for (const host of ['localhost', '0.0.0.0', '192.168.1.2', '::', 5]) {
      writeConfig({ api: { host } });
      expect(errorOf(() => loadConfig(home)).message).toContain(`api.host: expected a loopback IP address`);
    }
  });

  it('accepts a byte-order mark and accepts port 0 (any free port)', () => {
    writeConfig('\uFEFF{"api":{"port":0}}');
    expect(loadConfig(home).api.port).toBe(0);
  });

  it('rejects a config that is not an object', () => {
    writeConfig('[1,2]');
    expect(errorOf(() => loadConfig(home)).message).toContain('config.json: expected an object of settings, got [1,2]');
    writeConfig({ api: 'x' });
    expect(errorOf(() => loadConfig(home)).message).toContain('config.json: api: expected an object of settings, got "x"');
  });

  it('validates webhooks with their own schema', () => {
    writeConfig({ webhooks: [{ url: 'http://127.0.0.1:1/x', format: 'json', events: ['alert'], topic: 'topic:builds' }] });
    expect(loadConfig(home).webhooks).toEqual([{ url: 'http://127.0.0.1:1/x', format: 'json', events: ['alert'], topic: 'builds' }]);
    writeConfig({ webhooks: [{ url: 'ftp://x', format: 'json', events: ['alert'] }] });
    expect(errorOf(() => loadConfig(home)).message).toContain('webhooks[0].url: expected an http:// or https:// URL, got "ftp://x"');
    writeConfig({ webhooks: {} });
    expect(errorOf(() => loadConfig(home)).message).toContain('webhooks: expected a list of webhooks');
  });

  it("takes Claude Code's alert thresholds (null turns one off), price file and resume setting over their defaults", () => {
    writeConfig({ claudeCode: { alerts: { costPerBlockUsd: 20, sessionHours: null }, pricesFile: 'prices/mine.json', resumeExited: true, command: '/opt/claude/bin/claude' } });
    const { config, fromFile } = loadConfigWithOrigin(home);
    expect(config.claudeCode).toEqual({
      alerts: { tokenPercent: 80, sessionHours: null, costPerBlockUsd: 20, rateLimitPercent: 90 },
      pricesFile: 'prices/mine.json',
      resumeExited: true,
      command: '/opt/claude/bin/claude',
    });
    expect(fromFile.sort()).toEqual(['claudeCode.alerts.costPerBlockUsd', 'claudeCode.alerts.sessionHours', 'claudeCode.command', 'claudeCode.pricesFile', 'claudeCode.resumeExited']);
    // A relative price file is in the home folder; an absolute one is where it says.
    expect(pricesFilePath(home, config)).toBe(join(home, 'prices', 'mine.json'));
    expect(pricesFilePath(home, { ...config, claudeCode: { ...config.claudeCode, pricesFile: '/etc/prices.json' } })).toBe('/etc/prices.json');
    expect(pricesFilePath(home, DEFAULT_CONFIG)).toBeUndefined();
  });

  it("names each bad Claude Code setting, and the known ones for a misspelt key", () => {
    writeConfig({ claudeCode: { alerts: { tokenPercent: 0, costPerBlock: 20, rateLimitPercent: '90' }, pricesFile: 5, resumeExited: 'yes' } });
    const lines = errorOf(() => loadConfig(home)).message.split('\n');
    const file = join(home, 'config.json');
    expect(lines.sort()).toEqual(
      [
        `${file}: claudeCode.alerts.tokenPercent: expected the share of the estimated limit: a percentage above 0, or null to turn it off, got 0`,
        `${file}: claudeCode.alerts.costPerBlock: unknown setting (known here: tokenPercent, sessionHours, costPerBlockUsd, rateLimitPercent)`,
        `${file}: claudeCode.alerts.rateLimitPercent: expected the share of the rate limit: a percentage above 0, or null to turn it off, got "90"`,
        `${file}: claudeCode.pricesFile: expected the path of a price file, or null for the bundled prices, got 5`,
        `${file}: claudeCode.resumeExited: expected true or false, got "yes"`,
      ].sort(),
    );
    writeConfig({ claudeCode: { alerts: 80 } });
    expect(errorOf(() => loadConfig(home)).message).toBe(`${file}: claudeCode.alerts: expected an object of alert thresholds: tokenPercent, sessionHours, costPerBlockUsd, rateLimitPercent, got 80`);
    writeConfig({ claudeCode: { resume: true } });
    expect(errorOf(() => loadConfig(home)).message).toBe(`${file}: claudeCode.resume: unknown setting (known here: alerts, pricesFile, resumeExited, command)`);
  });

  it('validates extension ids', () => {
    writeConfig({ extensions: { chrome: ['not-an-id'] } });
    expect(errorOf(() => loadConfig(home)).message).toContain('extensions.chrome[0]: expected a Chrome extension id');
  });
});

describe('jsonErrorOffset', () => {
  it.each([
    ['{"a":}', 5],
    ['{"a":1,}', 7],
    ['', 0],
    ['{"a"', 4],
    ['{"a":1} x', 8],
    ['[1, 2, tru]', 10],
    ['{"a":"\\q"}', 7],
  ])('%j fails at %i', (text, offset) => {
    expect(() => JSON.parse(text)).toThrow();
    expect(jsonErrorOffset(text)).toBe(offset);
  });

  it('finds no error in valid JSON', () => {
    expect(jsonErrorOffset('{"a":[1,-2.5e3,true,false,null,"x\\u00e9"]}')).toBe(-1);
  });
});

describe('paths', () => {
  it('puts everything in the home folder', () => {
    const where = paths('/h', 'linux');
    expect(where).toEqual({
      home: '/h',
      config: '/h/config.json',
      curlAuth: '/h/curl-auth.conf',
      token: '/h/token',
      journal: '/h/journal',
      socket: '/h/daemon.sock',
      log: '/h/daemon.log',
      pid: '/h/daemon.pid',
      hostDir: '/h/host',
      binDir: '/h/bin',
      launcher: '/h/bin/switchboard-host',
      manifests: '/h/manifests',
      installed: '/h/installed.json',
    });
  });

  it('uses a named pipe and a .bat launcher on Windows', () => {
    const where = paths('/h', 'win32');
    expect(where.socket).toMatch(/^\\\\\.\\pipe\\switchboard-[A-Za-z0-9._-]+$/);
    expect(where.launcher.endsWith('switchboard-host.bat')).toBe(true);
  });

  it('takes the home from SWITCHBOARD_HOME, else ~/.switchboard', () => {
    expect(defaultHome({ SWITCHBOARD_HOME: '/elsewhere' }, '/home/me')).toBe('/elsewhere');
    expect(defaultHome({}, '/home/me')).toBe(join('/home/me', '.switchboard'));
  });
});

describe.skipIf(process.platform === 'win32')('ensureHome and readToken', () => {
  it('creates the folder 0700 and a 64-hex-digit token 0600, and keeps it on the next call', () => {
    const fresh = join(home, 'nested', 'home');
    const first = ensureHome(fresh);
    expect(first.created).toEqual([fresh, join(fresh, 'token')]);
    expect(statSync(fresh).mode & 0o777).toBe(0o700);
    expect(statSync(join(fresh, 'token')).mode & 0o777).toBe(0o600);
    expect(first.token).toMatch(/^[0-9a-f]{64}$/);
    expect(readToken(fresh)).toBe(first.token);

    const second = ensureHome(fresh);
    expect(second).toEqual({ token: first.token, created: [], fixed: [], warnings: [] });
    expect(readdirSync(fresh).sort()).toEqual(['curl-auth.conf', 'token']); // no temporary files left behind
    // The hook scripts' curl reads the token here: the same token, never readable by others.
    expect(readFileSync(join(fresh, 'curl-auth.conf'), 'utf8')).toBe(`header = "Authorization: Bearer ${first.token}"\n`);
    expect(statSync(join(fresh, 'curl-auth.conf')).mode & 0o777).toBe(0o600);
    writeFileSync(join(fresh, 'token'), `${'0f'.repeat(32)}\n`);
    ensureHome(fresh);
    expect(readFileSync(join(fresh, 'curl-auth.conf'), 'utf8')).toContain('0f'.repeat(32));
  });

  it('makes a token that others can read private again, and says so', () => {
    ensureHome(home);
    const token = readToken(home);
    chmodSync(join(home, 'token'), 0o644);
    const report = ensureHome(home);
    expect(report.token).toBe(token);
    expect(statSync(join(home, 'token')).mode & 0o777).toBe(0o600);
    expect(report.fixed).toHaveLength(1);
    expect(report.fixed[0]).toContain('was readable by other users (mode 0644)');
  });

  it('warns about, but does not change, a home folder others can read', () => {
    chmodSync(home, 0o755);
    const report = ensureHome(home);
    expect(statSync(home).mode & 0o777).toBe(0o755);
    expect(report.warnings[0]).toContain(`chmod 700 ${home}`);
  });

  it('keeps one token when several callers race', async () => {
    const fresh = join(home, 'race');
    mkdirSync(fresh, { mode: 0o700 });
    const tokens = await Promise.all(Array.from({ length: 8 }, async () => ensureHome(fresh).token));
    expect(new Set(tokens).size).toBe(1);
  });

  it('names the file and the fix when the token is missing or malformed', () => {
    expect(() => readToken(home)).toThrow(`${join(home, 'token')}: no token yet`);
    writeFileSync(join(home, 'token'), 'short\n', { mode: 0o600 });
    expect(() => readToken(home)).toThrow('expected 64 hexadecimal digits; delete the file');
    expect(() => ensureHome(home)).toThrow('expected 64 hexadecimal digits');
    expect(readFileSync(join(home, 'token'), 'utf8')).toBe('short\n'); // not overwritten behind the person's back
  });

  it('refuses a home that is a file', () => {
    const file = join(home, 'file');
    writeFileSync(file, '');
    expect(() => ensureHome(file)).toThrow('is not a folder');
  });
});
