/**
 * The host's home folder and its one configuration file (issue 4: "Configuration in one file with
 * documented defaults, validated at start with clear errors").
 *
 * Home: `$SWITCHBOARD_HOME`, else `~/.switchboard`. It holds
 *   config.json     optional; every key below has a default, unknown keys are refused
 *   token           the local API's bearer token: 32 random bytes as hex, mode 0600
 *   curl-auth.conf  the same token as a curl config line, mode 0600, for the Claude Code hook scripts
 *   journal/        the daemon's journals
 *   daemon.sock     the shim ⇄ daemon socket (Windows: the named pipe \\.\pipe\switchboard-<user>)
 *   daemon.log, daemon.pid
 *   host/           the installed bundle (shim.mjs, daemon.mjs, cli.mjs)
 *   bin/switchboard-host   the launcher the browsers' manifests point at (.bat on Windows)
 *   manifests/      Windows only: the manifest files the registry keys point at
 *   installed.json  exactly what `switchboard host install` wrote, so uninstall removes exactly that
 *   usage/          the Claude Code usage monitor's records, transcript offsets, alerts and their history
 *   spool/          Claude Code hook events kept while the daemon did not answer
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import { homedir, userInfo } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { z } from 'zod';
import { isAgentAddress } from '../src/protocol/address';
import { ValidationError, fieldPath } from '../src/protocol/envelope';
import { EXTENSION_ID, FIREFOX_ADDON_ID } from '../src/extension-identity';
import { WebhookConfig } from './webhooks';
import { AlertThresholds } from './claude-code/usage/alerts';

// ---------------------------------------------------------------------------------------------
// The schema. `prefault` (not `default`) so a missing section is parsed and gets its own defaults.

// The same rule as the API's assertLoopback (native-host/api/server.ts): an IP address, loopback.
const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');
const LOOPBACK_HINT = 'expected a loopback IP address (127.0.0.1, another 127.x.y.z, or ::1); the API is never exposed to the network';
const isLoopback = (host: string) => isIP(host) !== 0 && LOOPBACK.check(host, isIP(host) === 6 ? 'ipv6' : 'ipv4');

/** Numbers in a range, with one message that says the range whatever is wrong. */
const integer = (min: number, max: number, what = `an integer from ${min} to ${max}`) =>
  z.int({ error: `expected ${what}` }).min(min, { error: `expected ${what}` }).max(max, { error: `expected ${what}` });
const decimal = (min: number, max: number, what: string) =>
  z.number({ error: `expected ${what}` }).min(min, { error: `expected ${what}` }).max(max, { error: `expected ${what}` });

/** A section of settings: unknown keys are refused, so a misspelt setting never passes silently. */
const section = <Shape extends z.core.$ZodLooseShape>(shape: Shape) => z.strictObject(shape, { error: 'expected an object of settings' });

const MIB = 1024 * 1024;

export const ApiConfig = section({
  /**
   * Where the local API listens. Only loopback: the token is the API's only guard and it travels in
   * clear text, so the API must never be reachable from another machine. Default `127.0.0.1`.
   */
  host: z
    .string({ error: LOOPBACK_HINT })
    .refine(isLoopback, { error: LOOPBACK_HINT })
    .default('127.0.0.1'),
  /** TCP port. Default 8737. 0 lets the system pick a free port (tests); the daemon reports the one it got. */
  port: integer(0, 65_535, 'an integer from 1 to 65535, or 0 for any free port').default(8737),
  /**
   * Largest request body, in bytes. Default 20 MiB: room for the largest message the envelope
   * allows (16 M base64 characters of attachments, plus text and code; src/protocol/envelope.ts).
   */
  maxBodyBytes: integer(1024, 256 * MIB, 'a byte count from 1024 to 268435456').default(20 * MIB),
  /** Per-client token bucket: `perSecond` refill (default 50), `burst` capacity (default 200). */
  rateLimit: section({
    perSecond: integer(1, 100_000).default(50),
    burst: integer(1, 1_000_000).default(200),
  }).prefault({}),
});

export const JournalConfig = section({
  /**
   * How long a commit waits to gather more records before its fsync, in ms. Default 0: commit as
   * soon as the previous fsync is done — records arriving meanwhile still share the next one.
   */
  groupCommitMs: integer(0, 1000).default(0),
  /** Rewrite a journal without its settled records once it has grown past this many bytes. Default 16 MiB. */
  compactAfterBytes: integer(64 * 1024, 16 * 1024 * MIB, 'a byte count from 65536 to 17179869184').default(16 * MIB),
  /**
   * The most the inbound journal may hold while the hub is away, in bytes; past it the API answers
   * 503 with Retry-After instead of accepting what it could not keep. Default 1 GiB (the daemon reads
   * the journal whole when it starts).
   */
  maxBytes: integer(MIB, 4 * 1024 * MIB, 'a byte count from 1048576 to 4294967296').default(1024 * MIB),
});

export const InboxConfig = section({
  /** How long messages for API clients are kept for `GET /api/messages`, in hours. Default 24. */
  retentionHours: decimal(0.01, 8760, 'a number of hours from 0.01 to 8760').default(24),
});

const CHROME_EXTENSION_ID = /^[a-p]{32}$/;

export const ExtensionsConfig = section({
  /** Chrome-family extension ids the host accepts (allowed_origins). Default: Switchboard's own. */
  chrome: z
    .array(z.string().regex(CHROME_EXTENSION_ID, { error: 'expected a Chrome extension id (32 letters a–p)' }))
    .min(1, { error: 'expected at least one extension id' })
    .default([EXTENSION_ID]),
  /** Firefox add-on ids the host accepts (allowed_extensions). Default: Switchboard's own. */
  firefox: z
    .array(z.string().min(1, { error: 'expected a Firefox add-on id' }).max(255))
    .min(1, { error: 'expected at least one add-on id' })
    .default([FIREFOX_ADDON_ID]),
});

export const ClaudeCodeConfig = section({
  /**
   * When the usage monitor raises an alert (stored, shown in `GET /usage`, sent to the webhooks
   * that choose `alert`); null turns one off. `tokenPercent`: the 5-hour block's tokens against the
   * estimated (P90) limit, default 80 (used only without Claude Code's own numbers);
   * `sessionHours`: hours into the 5-hour block, default 4.5; `costPerBlockUsd`: the block's cost in
   * USD, default 50; `rateLimitPercent`: Claude Code's own 5-hour or weekly use (statusLine
   * rate_limits), default 90.
   */
  alerts: AlertThresholds.prefault({}),
  /**
   * Your own price table, in the shape of the bundled native-host/claude-code/usage/prices.json; it
   * wins model by model (a new model, a price change). An absolute path, or relative to the home
   * folder. Default null: the bundled prices only. A file that cannot be read or is wrong is named
   * with the bad field in the daemon's log, in `GET /usage` and by `switchboard config`; the daemon
   * then prices with the bundled table, since costs are estimates and messages must still flow.
   */
  pricesFile: z.string({ error: 'expected the path of a price file, or null for the bundled prices' }).min(1, { error: 'expected the path of a price file, or null for the bundled prices' }).nullable().default(null),
  /**
   * Whether a Claude Code session that has exited is resumed (`claude --resume <session> -p …`, in
   * its folder, in the background) when mail waits for it — its held messages after a rate limit
   * resets, or a message sent to it after it ended. Default false: only sessions still running are
   * woken, and mail for an ended one waits until it runs again.
   */
  resumeExited: z.boolean({ error: 'expected true or false' }).default(false),
  /** The `claude` command `resumeExited` runs: a name on the daemon's PATH or an absolute path. Default `claude`. */
  command: z.string({ error: 'expected the claude command: a name on PATH or an absolute path' }).min(1, { error: 'expected the claude command: a name on PATH or an absolute path' }).default('claude'),
});

export const HostConfig = section({
  /** This machine's name in addresses (`api:<device>/<client>`). Default `local`. */
  device: z
    .string({ error: 'expected a device name (lower-case letters, digits and -, at most 63)' })
    .refine((device) => isAgentAddress(`api:${device}/x`), { error: 'expected a device name (lower-case letters, digits and -, at most 63)' })
    .default('local'),
  api: ApiConfig.prefault({}),
  journal: JournalConfig.prefault({}),
  inbox: InboxConfig.prefault({}),
  /** Outbound notifications, each `{url, format, events, topic?, secret?}` (native-host/webhooks.ts). Default none. */
  webhooks: z.array(WebhookConfig, { error: 'expected a list of webhooks' }).default([]),
  extensions: ExtensionsConfig.prefault({}),
  /** Claude Code sessions: usage alerts, prices, recovery after a rate limit. */
  claudeCode: ClaudeCodeConfig.prefault({}),
});
export type HostConfig = z.output<typeof HostConfig>;
/** What config.json may hold: every key optional. */
export type HostConfigFile = z.input<typeof HostConfig>;

export const DEFAULT_CONFIG: HostConfig = HostConfig.parse({});

// ---------------------------------------------------------------------------------------------
// Paths

export interface HostPaths {
  home: string;
  config: string;
  token: string;
  /** the token as a curl config line (`header = "Authorization: Bearer …"`), made from the token file */
  curlAuth: string;
  journal: string;
  /** a Unix socket path, or a Windows named pipe */
  socket: string;
  log: string;
  pid: string;
  /** the installed bundle */
  hostDir: string;
  binDir: string;
  /** what the manifests point at */
  launcher: string;
  /** Windows: manifest files for the registry keys */
  manifests: string;
  installed: string;
}

/** The home folder: `$SWITCHBOARD_HOME`, else `~/.switchboard`. */
export function defaultHome(env: NodeJS.ProcessEnv = process.env, userHome: string = homedir()): string {
  return env.SWITCHBOARD_HOME ? env.SWITCHBOARD_HOME : join(userHome, '.switchboard');
}

export function paths(home: string, platform: NodeJS.Platform = process.platform): HostPaths {
  const windows = platform === 'win32';
  const binDir = join(home, 'bin');
  return {
    home,
    config: join(home, 'config.json'),
    token: join(home, 'token'),
    curlAuth: join(home, 'curl-auth.conf'),
    journal: join(home, 'journal'),
    // A named pipe lives in its own namespace, not in the folder (Windows has no Unix sockets in Node).
    socket: windows ? `\\\\.\\pipe\\switchboard-${safeUserName()}` : join(home, 'daemon.sock'),
    log: join(home, 'daemon.log'),
    pid: join(home, 'daemon.pid'),
    hostDir: join(home, 'host'),
    binDir,
    launcher: join(binDir, windows ? 'switchboard-host.bat' : 'switchboard-host'),
    manifests: join(home, 'manifests'),
    installed: join(home, 'installed.json'),
  };
}

function safeUserName(): string {
  try {
    return userInfo().username.replace(/[^A-Za-z0-9._-]/g, '_') || 'user';
  } catch {
    return 'user';
  }
}

/** `claudeCode.pricesFile` as a path (a relative one is in the home folder); undefined for none. */
export function pricesFilePath(home: string, config: HostConfig): string | undefined {
  const file = config.claudeCode.pricesFile;
  if (file === null) return undefined;
  return isAbsolute(file) ? file : join(home, file);
}

// ---------------------------------------------------------------------------------------------
// Loading

/** A config file that cannot be used; `message` names the file and each bad field. */
export class ConfigError extends ValidationError {
  constructor(
    readonly file: string,
    issues: { field: string; problem: string }[],
  ) {
    super(file, issues);
    this.name = 'ConfigError';
    this.message = issues.map((issue) => `${file}: ${issue.field ? `${issue.field}: ` : ''}${issue.problem}`).join('\n');
  }
}

export interface ConfigOrigin {
  config: HostConfig;
  file: string;
  /** whether config.json exists (when not, every value is a default) */
  found: boolean;
  /** the settings the file gives, as dotted paths (`api.port`); every other one is a default */
  fromFile: string[];
}

/** The effective configuration of `home`: config.json over the defaults. Throws ConfigError. */
export function loadConfig(home: string): HostConfig {
  return loadConfigWithOrigin(home).config;
}

/** Like loadConfig, and says which settings came from the file (for `switchboard config`). */
export function loadConfigWithOrigin(home: string): ConfigOrigin {
  const file = paths(home).config;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { config: DEFAULT_CONFIG, file, found: false, fromFile: [] };
    throw new ConfigError(file, [{ field: '', problem: `cannot read: ${(error as Error).message}` }]);
  }
  const { config, data } = parseConfigText(text, file);
  return { config, file, found: true, fromFile: settingsIn(data) };
}

/** Parses config.json's text; `file` only names it in errors. Throws ConfigError. */
export function parseConfig(text: string, file: string): HostConfig {
  return parseConfigText(text, file).config;
}

function parseConfigText(withBom: string, file: string): { config: HostConfig; data: unknown } {
  // Windows editors save a byte-order mark that JSON.parse refuses.
  const text = withBom.replace(/^\uFEFF/, '');
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    const at = jsonErrorOffset(text);
    const { line, column } = lineAndColumn(text, at);
    throw new ConfigError(file, [
      { field: '', problem: `not valid JSON at line ${line}, column ${column} (position ${at}): ${(error as Error).message}` },
    ]);
  }
  const result = HostConfig.safeParse(data, { reportInput: true });
  if (result.success) return { config: result.data, data };
  throw new ConfigError(file, result.error.issues.flatMap(describeIssue));
}

function describeIssue(issue: z.core.$ZodIssue): { field: string; problem: string }[] {
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeys(issue.path);
    return issue.keys.map((key) => ({
      field: fieldPath([...issue.path, key]),
      problem: `unknown setting${known.length ? ` (known here: ${known.join(', ')})` : ''}`,
    }));
  }
  const got = 'input' in issue && issue.input !== undefined ? `, got ${JSON.stringify(issue.input)}` : '';
  return [{ field: fieldPath(issue.path), problem: `${issue.message}${got}` }];
}

/** The keys the schema accepts at `path`, for "unknown setting" errors (a typo is the usual cause). */
function knownKeys(path: readonly PropertyKey[]): string[] {
  let shape: Record<string, z.ZodType> = HostConfig.shape;
  for (const key of path) {
    let next: z.ZodType | undefined = shape[String(key)];
    while (next && !(next instanceof z.ZodObject) && 'unwrap' in next && typeof next.unwrap === 'function') next = next.unwrap();
    if (!(next instanceof z.ZodObject)) return [];
    shape = next.shape;
  }
  return Object.keys(shape);
}

/** Dotted paths of the leaf values in a parsed config file. */
function settingsIn(value: unknown, prefix = ''): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return prefix ? [prefix] : [];
  return Object.entries(value).flatMap(([key, inner]) => settingsIn(inner, prefix ? `${prefix}.${key}` : key));
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: before[before.length - 1].length + 1 };
}

/**
 * The offset of the first JSON syntax error in `text`. Node's own messages give a position only for
 * some errors ("Unexpected token '}', … is not valid JSON" has none), so find it by scanning.
 */
export function jsonErrorOffset(text: string): number {
  let at = 0;
  const fail = (): never => {
    throw at;
  };
  const space = () => {
    while (at < text.length && ' \t\n\r'.includes(text[at])) at++;
  };
  const literal = (word: string) => {
    for (const char of word) {
      if (text[at] !== char) fail();
      at++;
    }
  };
  const string = () => {
    at++; // the opening quote
    for (;;) {
      if (at >= text.length) fail();
      const char = text[at];
      if (char === '"') return void at++;
      if (char < ' ') fail();
      if (char === '\\') {
        at++;
        if (text[at] === 'u') {
          at++;
          for (let i = 0; i < 4; i++, at++) if (!/[0-9a-fA-F]/.test(text[at] ?? '')) fail();
          continue;
        }
        if (!'"\\/bfnrt'.includes(text[at] ?? 'x')) fail();
      }
      at++;
    }
  };
  const number = () => {
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(at));
    if (!match) fail();
    at += match![0].length;
  };
  const value = (): void => {
    space();
    const char = text[at];
    if (char === '{') {
      at++;
      space();
      if (text[at] === '}') return void at++;
      for (;;) {
        space();
        if (text[at] !== '"') fail();
        string();
        space();
        if (text[at] !== ':') fail();
        at++;
        value();
        space();
        if (text[at] === ',') at++;
        else if (text[at] === '}') return void at++;
        else fail();
      }
    }
    if (char === '[') {
      at++;
      space();
      if (text[at] === ']') return void at++;
      for (;;) {
        value();
        space();
        if (text[at] === ',') at++;
        else if (text[at] === ']') return void at++;
        else fail();
      }
    }
    if (char === '"') return string();
    if (char === 't') return literal('true');
    if (char === 'f') return literal('false');
    if (char === 'n') return literal('null');
    return number();
  };
  try {
    value();
    space();
    return at < text.length ? at : -1;
  } catch (offset) {
    if (typeof offset === 'number') return Math.min(offset, text.length);
    throw offset;
  }
}

// ---------------------------------------------------------------------------------------------
// The home folder and the token

const TOKEN_PATTERN = /^[0-9a-f]{64}$/;

export interface HomeReport {
  token: string;
  /** what was made now (paths) */
  created: string[];
  /** problems found and fixed, one sentence each, for the caller to log */
  fixed: string[];
  /** problems found and left alone, for the caller to log */
  warnings: string[];
}

/**
 * Makes sure `home` exists (mode 0700 when created) with a token (mode 0600). A token file that
 * the group or others can read is made private again — and reported in `fixed`, because the token
 * may have leaked and the person may want a new one. An existing home folder that others can read
 * is reported in `warnings`, not changed: it may be a folder the person chose and shares on purpose.
 * Safe to call from several processes at once: they all end up with the same token.
 */
export function ensureHome(home: string, platform: NodeJS.Platform = process.platform): HomeReport {
  const where = paths(home, platform);
  const posix = platform !== 'win32';
  const report: HomeReport = { token: '', created: [], fixed: [], warnings: [] };

  if (!existsSync(home)) {
    mkdirSync(home, { recursive: true, mode: 0o700 });
    if (posix) chmodSync(home, 0o700); // exactly 0700: a umask can take away bits the owner needs
    report.created.push(home);
  } else if (!statSync(home).isDirectory()) {
    throw new Error(`${home} is not a folder: set SWITCHBOARD_HOME to a folder, or move that file away`);
  } else if (posix && (statSync(home).mode & 0o077) !== 0) {
    report.warnings.push(`${home} can be read by other users (mode ${modeText(statSync(home).mode)}); \`chmod 700 ${home}\` keeps the journal private`);
  }

  if (!existsSync(where.token)) {
    // Written whole under another name, then linked into place: a reader never sees a half-written
    // token, and if another process got there first the link fails and its token wins.
    const temporary = `${where.token}.${process.pid}.${randomBytes(4).toString('hex')}`;
    writeFileSync(temporary, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    if (posix) chmodSync(temporary, 0o600);
    try {
      linkSync(temporary, where.token);
      report.created.push(where.token);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      unlinkSync(temporary);
    }
  }
  if (posix) {
    const mode = statSync(where.token).mode;
    if ((mode & 0o077) !== 0) {
      chmodSync(where.token, 0o600);
      report.fixed.push(
        `${where.token} was readable by other users (mode ${modeText(mode)}); made it 0600 — delete it and restart the daemon if you want a new token`,
      );
    }
  }
  report.token = readToken(home);
  // The hook scripts give curl the token in a file, not on a command line every user could read.
  // Kept equal to the token file: a new token takes effect at the next start of anything here.
  const auth = `header = "Authorization: Bearer ${report.token}"\n`;
  if (!existsSync(where.curlAuth) || readFileSync(where.curlAuth, 'utf8') !== auth) {
    const temporary = `${where.curlAuth}.${process.pid}.${randomBytes(4).toString('hex')}`;
    writeFileSync(temporary, auth, { mode: 0o600 });
    if (posix) chmodSync(temporary, 0o600);
    renameSync(temporary, where.curlAuth);
  }
  return report;
}

/** The local API's token. Throws, naming the file and the fix, when it is missing or malformed. */
export function readToken(home: string): string {
  const file = paths(home).token;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(`${file}: no token yet; it is made when the daemon starts (\`switchboard daemon\`, or open the browser with the extension)`);
    }
    throw new Error(`${file}: cannot read the token: ${(error as Error).message}`);
  }
  const token = text.trim();
  if (!TOKEN_PATTERN.test(token)) {
    throw new Error(`${file}: expected 64 hexadecimal digits; delete the file and restart the daemon to make a new token`);
  }
  return token;
}

const modeText = (mode: number) => `0${(mode & 0o777).toString(8)}`;
