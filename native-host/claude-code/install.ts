/**
 * `switchboard claude-code install | uninstall | doctor` (issue 5, "Install"): the hook scripts in
 * `<home>/bin`, Switchboard's hooks and status line in Claude Code's settings file, and a record of
 * exactly what was added, `<home>/claude-code.json`, so uninstall takes away that and nothing else.
 *
 * Like `switchboard host install` (native-host/install.ts): every step is reported, input is checked
 * before the first write (a settings file that cannot be merged leaves everything untouched), a
 * second run changes nothing, and each settings file is backed up before it is changed.
 */
import { readJsonRecord } from '../json-file';
import { createHash, randomBytes } from 'node:crypto';
import {
  accessSync,
  chmodSync,
  constants,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmdirSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { z } from 'zod';
import { parseOrThrow } from '../../src/protocol/envelope';
import { ensureHome, readToken } from '../config';
import { realProbes } from '../doctor';
import type { InstallAction } from '../install';
import { apiBase, commandWord, hookScript, scriptPaths, statusLineScript, type HookScriptOptions } from './hook-script';
import { addHooks, missingHooks, ourCommands, parseSettings, readSettings, removeHooks, settingsText, type Settings } from './settings';
import { unwrapStatusLine, wrapStatusLine, wrappedCommand } from './statusline';

export interface ClaudeCodeTarget {
  /** Switchboard's home folder */
  home: string;
  /** the person's home folder: the user settings are `<userHome>/.claude/settings.json` */
  userHome: string;
  /** a project folder: its `.claude/settings.json` instead of the user's */
  project?: string;
  /** Claude Code's user folder when it is not `<userHome>/.claude` (Claude Code's $CLAUDE_CONFIG_DIR) */
  claudeConfigDir?: string;
  platform?: NodeJS.Platform;
}

export interface ClaudeCodeInstallOptions extends ClaudeCodeTarget {
  /** the daemon's API port, baked into the hook scripts */
  apiPort: number;
  /** the daemon's API host; default 127.0.0.1 */
  apiHost?: string;
  /** the clock, for backup names; default Date.now */
  now?: () => number;
}

export interface ClaudeCodeReport {
  /** each step; `changed` is false when it was already so */
  actions: InstallAction[];
  /** things a person should know */
  notes: string[];
  /** the settings file installed into or removed from */
  settingsFile: string;
}

/** The settings file a target names. */
export function settingsFileOf(target: Pick<ClaudeCodeTarget, 'userHome' | 'project' | 'claudeConfigDir'>): string {
  if (target.project !== undefined) return join(target.project, '.claude', 'settings.json');
  return join(target.claudeConfigDir ?? join(target.userHome, '.claude'), 'settings.json');
}

export const recordPath = (home: string) => join(home, 'claude-code.json');

// ---------------------------------------------------------------------------------------------
// The record: claude-code.json

const Digest = z.string().regex(/^[0-9a-f]{64}$/);
const SettingsEntry = z.strictObject({
  file: z.string().min(1),
  /** the hook commands install put in this file */
  commands: z.array(z.string().min(1)),
  /** the status line command install set, and the person's own it replaced (null: there was none) */
  statusLine: z.strictObject({ command: z.string().min(1), original: z.string().nullable() }).optional(),
  /**
   * The file's text before install last wrote it (null: there was no file). Uninstall writes these
   * very bytes back when, with Switchboard's parts taken out, the settings are the same as they were:
   * the person gets their own formatting back, not only their settings.
   */
  before: z.string().nullable().optional(),
  /** folders install made for this file (`<project>/.claude`); removed again when empty */
  folders: z.array(z.string().min(1)),
});
type SettingsEntry = z.infer<typeof SettingsEntry>;

const ClaudeCodeRecord = z.strictObject({
  version: z.literal(1),
  scripts: z.array(z.strictObject({ path: z.string().min(1), sha256: Digest })),
  /** folders install made in the home (bin, spool) */
  folders: z.array(z.string().min(1)),
  settings: z.array(SettingsEntry),
});
type ClaudeCodeRecord = z.infer<typeof ClaudeCodeRecord>;

function readRecord(file: string): ClaudeCodeRecord | undefined {
  return readJsonRecord(file, ClaudeCodeRecord, "it lists what `claude-code install` added — fix it, or delete it (uninstall still finds Switchboard's hooks by their command)");
}

const recordText = (record: ClaudeCodeRecord) =>
  `${JSON.stringify(
    {
      version: 1,
      scripts: [...record.scripts].sort((a, b) => a.path.localeCompare(b.path)),
      folders: [...new Set(record.folders)].sort(),
      settings: [...record.settings]
        .sort((a, b) => a.file.localeCompare(b.file))
        // Keys in one order, whether the entry was just made or read back: a second run writes the same bytes.
        .map((entry) => ({
          file: entry.file,
          commands: [...new Set(entry.commands)].sort(),
          ...(entry.statusLine ? { statusLine: { command: entry.statusLine.command, original: entry.statusLine.original } } : {}),
          ...(entry.before !== undefined ? { before: entry.before } : {}),
          folders: [...new Set(entry.folders)].sort(),
        })),
    },
    null,
    2,
  )}\n`;

// ---------------------------------------------------------------------------------------------
// Install

export function installClaudeCode(options: ClaudeCodeInstallOptions): ClaudeCodeReport {
  refuseWindows(options.platform);
  const where = scriptPaths(options.home);
  const file = settingsFileOf(options);
  const scriptOptions: HookScriptOptions = { home: options.home, apiPort: options.apiPort, apiHost: options.apiHost };

  // Everything that can fail on input, before the first write: nothing half-installed.
  apiBase(options.apiPort, options.apiHost);
  const settings = readSettings(file);
  const record = readRecord(recordPath(options.home)) ?? { version: 1, scripts: [], folders: [], settings: [] };

  const actions: InstallAction[] = [];
  const notes: string[] = [];

  const home = ensureHome(options.home);
  actions.push({ what: 'home folder', path: options.home, changed: home.created.includes(options.home) });
  actions.push({ what: 'API token', path: where.token, changed: home.created.includes(where.token) });
  notes.push(...home.fixed, ...home.warnings);

  const spoolCreated = makeFolder(where.spool, 0o700);
  record.folders.push(...spoolCreated);
  actions.push({ what: 'spool folder (events kept while the daemon is down)', path: where.spool, changed: spoolCreated.length > 0 });
  for (const [what, path, content] of [
    ['hook script', where.hook, hookScript(scriptOptions)],
    ['status line script', where.statusLine, statusLineScript(scriptOptions)],
  ] as const) {
    record.folders.push(...makeFolder(dirname(path)));
    const changed = writeIfDifferent(path, content, 0o755);
    record.scripts = [...record.scripts.filter((entry) => entry.path !== path), { path, sha256: sha256(content) }];
    actions.push({ what, path, changed });
  }

  // The settings: ours added to a copy; written only when that changed the text.
  const commands = ourCommands(commandWord(where.hook));
  const data = structuredClone(settings.data);
  const events = addHooks(data, commands);
  const statusLine = wrapStatusLine(data, commandWord(where.statusLine));
  const entry: SettingsEntry = record.settings.find((candidate) => candidate.file === file) ?? { file, commands: [], folders: [] };
  entry.commands = [...entry.commands, commands.hook, commands.wait];
  // The first wrap knows what it replaced; later runs keep that (the command itself says it too).
  if (statusLine.changed || !entry.statusLine) entry.statusLine = { command: statusLine.command, original: statusLine.original };

  const text = settingsText(data, settings.text);
  if (text !== settings.text) {
    if (settings.text !== undefined) {
      actions.push({ what: 'backup of the settings', path: backup(file, options.now ?? Date.now), changed: true });
      if (settingsText(settings.data, settings.text) !== settings.text) {
        notes.push(`${file} was rewritten as plain JSON (its own formatting differed); the backup has it as it was, and uninstall restores it`);
      }
    } else {
      entry.folders.push(...makeFolder(dirname(file)));
    }
    writeAtomic(settings.target, text);
    entry.before = settings.text ?? null;
  }
  actions.push({
    what: events.length ? `hooks for ${events.join(', ')}` : `hooks for every event`,
    path: file,
    changed: events.length > 0,
  });
  actions.push({
    what: statusLine.original === null ? 'status line (Switchboard only: prints nothing)' : `status line (wraps: ${oneLine(statusLine.original)})`,
    path: file,
    changed: statusLine.changed,
  });
  record.settings = [...record.settings.filter((candidate) => candidate.file !== file), entry];

  actions.push({ what: 'record of what was added', path: recordPath(options.home), changed: writeIfDifferent(recordPath(options.home), recordText(record), 0o600) });
  if (events.length || statusLine.changed) {
    notes.push('Claude Code reads hooks when a session starts: restart running sessions (or review the change in their /hooks menu)');
  }
  if (options.project !== undefined) {
    notes.push(`${file} is often committed: these hooks name paths on this machine (${options.home}); keep it out of the repository if others share it`);
  }
  return { actions, notes, settingsFile: file };
}

// ---------------------------------------------------------------------------------------------
// Uninstall

/**
 * Takes Switchboard's hooks and status line out of the target's settings file — the person's own
 * status line comes back exactly — and, when no other settings file still uses them, the scripts,
 * the spool (when empty) and the record. Without a record, Switchboard's hooks are still found by
 * their command. A settings file that cannot be parsed is left untouched (SettingsError).
 */
export function uninstallClaudeCode(options: ClaudeCodeTarget & { now?: () => number }): ClaudeCodeReport {
  refuseWindows(options.platform);
  const where = scriptPaths(options.home);
  const file = settingsFileOf(options);
  const settings = readSettings(file);
  const record = readRecord(recordPath(options.home));
  const entry = record?.settings.find((candidate) => candidate.file === file);
  const actions: InstallAction[] = [];
  const notes: string[] = [];
  if (!entry) notes.push(`${recordPath(options.home)} has no record of ${file}: removing Switchboard's hooks found there by their command`);

  if (settings.text === undefined) {
    actions.push({ what: 'no settings file', path: file, changed: false });
  } else {
    const commands = ourCommands(commandWord(where.hook));
    const data = structuredClone(settings.data);
    const events = removeHooks(data, [...(entry?.commands ?? []), commands.hook, commands.wait]);
    const statusLine = unwrapStatusLine(data, commandWord(where.statusLine), entry?.statusLine);
    if (statusLine === 'not ours' && entry?.statusLine) {
      notes.push(`the status line in ${file} is no longer Switchboard's, so it was left as it is`);
    }

    const restore = restoredText(data, settings.text, entry?.before);
    if (restore !== settings.text) {
      // A file install created and that holds nothing else now is simply removed: nothing to keep a copy of.
      if (restore !== null) actions.push({ what: 'backup of the settings', path: backup(file, options.now ?? Date.now), changed: true });
      if (restore === null) {
        unlinkSync(settings.target);
        actions.push({ what: 'removed the settings file (install created it)', path: file, changed: true });
        for (const folder of innermostFirst(entry?.folders ?? [])) removeIfEmpty(folder, actions);
      } else {
        writeAtomic(settings.target, restore);
      }
    }
    actions.push({ what: events.length ? `removed hooks for ${events.join(', ')}` : 'no Switchboard hooks', path: file, changed: events.length > 0 });
    const statusWhat = {
      restored: 'status line: your own command restored',
      removed: "status line: Switchboard's removed",
      absent: 'no status line',
      'not ours': "status line: not Switchboard's, left alone",
    }[statusLine];
    actions.push({ what: statusWhat, path: file, changed: statusLine === 'restored' || statusLine === 'removed' });
  }

  if (!record) return { actions, notes, settingsFile: file };
  record.settings = record.settings.filter((candidate) => candidate !== entry);
  if (record.settings.length > 0) {
    const others = record.settings.map((candidate) => candidate.file).join(', ');
    notes.push(`the hook scripts stay: ${others} still use them`);
    actions.push({ what: 'record of what was added', path: recordPath(options.home), changed: writeIfDifferent(recordPath(options.home), recordText(record), 0o600) });
    return { actions, notes, settingsFile: file };
  }
  for (const { path, sha256: digest } of record.scripts) {
    if (!existsSync(path)) actions.push({ what: 'already gone', path, changed: false });
    else if (sha256(readFileSync(path)) !== digest) {
      actions.push({ what: 'left alone: changed since install', path, changed: false });
      notes.push(`${path} was changed after install, so it was not removed`);
    } else {
      unlinkSync(path);
      actions.push({ what: 'removed', path, changed: true });
    }
  }
  const waiting = spooledEvents(where.spool);
  if (waiting > 0) notes.push(`${where.spool} still holds ${waiting} events the daemon has not read; it was kept`);
  for (const folder of innermostFirst(record.folders)) removeIfEmpty(folder, actions);
  unlinkSync(recordPath(options.home));
  actions.push({ what: 'removed record', path: recordPath(options.home), changed: true });
  return { actions, notes, settingsFile: file };
}

/**
 * The settings file's text after uninstall: the very text install found (null: no file), when the
 * settings with Switchboard's parts taken out are what they were then; else the current settings
 * without them, in the file's own formatting.
 */
function restoredText(data: Settings, current: string, before: string | null | undefined): string | null {
  if (before !== undefined) {
    let then: Settings | undefined;
    try {
      then = before === null ? {} : parseSettings(before, 'the recorded settings');
    } catch {
      then = undefined; // a record edited by hand: fall back to writing the settings as they are
    }
    if (then && JSON.stringify(then) === JSON.stringify(data)) return before;
  }
  return settingsText(data, current);
}

// ---------------------------------------------------------------------------------------------
// Doctor

export interface ClaudeCodeCheck {
  name: 'settings' | 'hooks' | 'status line' | 'scripts' | 'spool' | 'curl' | 'token' | 'daemon';
  ok: boolean;
  /** not looked at, because a link it depends on is broken (`ok` is false) */
  skipped?: boolean;
  detail: string;
  fix: string;
}

export interface ClaudeCodeProbes {
  /** the path of an executable named `name` on `path` ($PATH), or undefined */
  findOnPath(name: string, path: string): string | undefined;
  /** GET with the token; resolves with the status and body, rejects when nothing answers */
  get(url: string, token: string, timeoutMs: number): Promise<{ status: number; body: string }>;
}

export interface ClaudeCodeDoctorOptions extends ClaudeCodeTarget {
  apiPort: number;
  apiHost?: string;
  /** where $PATH comes from; default the process's */
  env?: NodeJS.ProcessEnv;
  probes?: Partial<ClaudeCodeProbes>;
  /** default 2000 */
  timeoutMs?: number;
}

export const realClaudeCodeProbes: ClaudeCodeProbes = {
  findOnPath(name, path) {
    for (const folder of path.split(delimiter)) {
      if (!folder || !isAbsolute(folder)) continue;
      const candidate = join(folder, name);
      try {
        accessSync(candidate, constants.X_OK);
        if (statSync(candidate).isFile()) return candidate;
      } catch {
        // not here
      }
    }
    return undefined;
  },
  get: realProbes.get,
};

const INSTALL = 'run `switchboard claude-code install`';

/** Checks that Claude Code will send its events: settings, hooks, scripts, curl, the daemon's /hooks. */
export async function doctorClaudeCode(options: ClaudeCodeDoctorOptions): Promise<ClaudeCodeCheck[]> {
  const probes: ClaudeCodeProbes = { ...realClaudeCodeProbes, ...options.probes };
  const where = scriptPaths(options.home);
  const file = settingsFileOf(options);
  const install = `${INSTALL}${options.project !== undefined ? ` --project ${options.project}` : ''}`;
  const checks: ClaudeCodeCheck[] = [];
  const pass = (name: ClaudeCodeCheck['name'], detail: string) => checks.push({ name, ok: true, detail, fix: '' });
  const fail = (name: ClaudeCodeCheck['name'], detail: string, fix: string) => checks.push({ name, ok: false, detail, fix });
  const skip = (name: ClaudeCodeCheck['name'], because: string) => checks.push({ name, ok: false, skipped: true, detail: `not checked: ${because}`, fix: '' });

  let data: Settings | undefined;
  try {
    const settings = readSettings(file);
    if (settings.text === undefined) fail('settings', `no ${file}`, install);
    else {
      data = settings.data;
      pass('settings', `${file} is valid`);
    }
  } catch (error) {
    fail('settings', (error as Error).message.split('\n')[0], `correct ${file} as the message says; Claude Code cannot read it either`);
  }

  if (data) {
    const missing = missingHooks(data, ourCommands(commandWord(where.hook)));
    if (missing.length) fail('hooks', `Switchboard's hook is missing or changed for ${missing.join(', ')}`, install);
    else pass('hooks', 'present for every event');
    const command = (data.statusLine as { command?: string } | undefined)?.command;
    const wrapped = command === undefined ? undefined : wrappedCommand(command, commandWord(where.statusLine));
    if (wrapped === undefined) fail('status line', command === undefined ? 'no status line' : `not Switchboard's: ${oneLine(command)}`, install);
    else pass('status line', wrapped === null ? "Switchboard's own (prints nothing)" : `wraps ${oneLine(wrapped)}`);
  } else {
    skip('hooks', 'no settings to look in');
    skip('status line', 'no settings to look in');
  }

  let base: string | undefined;
  try {
    base = apiBase(options.apiPort, options.apiHost);
  } catch (error) {
    fail('scripts', (error as Error).message, 'set api.port in config.json to a fixed port, then install again');
  }
  if (base) {
    const scriptOptions: HookScriptOptions = { home: options.home, apiPort: options.apiPort, apiHost: options.apiHost };
    const problems: string[] = [];
    for (const [path, wanted] of [
      [where.hook, hookScript(scriptOptions)],
      [where.statusLine, statusLineScript(scriptOptions)],
    ] as const) {
      let text: string | undefined;
      try {
        text = readFileSync(path, 'utf8');
      } catch {
        problems.push(`${path} is missing`);
        continue;
      }
      try {
        accessSync(path, constants.X_OK);
      } catch {
        problems.push(`${path} is not executable`);
        continue;
      }
      if (text !== wanted) problems.push(`${path} is not what install writes for ${base} (another API port, or an older version)`);
    }
    if (problems.length) fail('scripts', problems.join('; '), install);
    else pass('scripts', `${where.hook} and ${where.statusLine} post to ${base}`);
  }

  try {
    accessSync(where.spool, constants.W_OK);
    const waiting = spooledEvents(where.spool);
    pass('spool', waiting ? `${waiting} events wait for the daemon in ${where.spool}` : `${where.spool} is empty`);
  } catch {
    fail('spool', `${where.spool} is missing or not writable: events sent while the daemon is down would be lost`, install);
  }

  const path = (options.env ?? process.env).PATH ?? '';
  const curl = probes.findOnPath('curl', path);
  if (curl) pass('curl', curl);
  else fail('curl', 'no curl on PATH: the hook script cannot post events (each one is spooled)', 'install curl (apt install curl, brew install curl)');

  if (!base) skip('daemon', 'no API address');
  else {
    let token: string | undefined;
    try {
      token = readToken(options.home);
    } catch (error) {
      fail('daemon', (error as Error).message, 'start the daemon once (`switchboard daemon`): it makes the token');
    }
    if (token !== undefined) {
      // The scripts' curl reads the token from curl-auth.conf: a stale one has every event refused (and spooled).
      let auth = '';
      try {
        auth = readFileSync(where.curlAuth, 'utf8');
      } catch {
        // reported below
      }
      if (auth !== `header = "Authorization: Bearer ${token}"\n`) {
        fail('token', `${where.curlAuth} is missing or holds another token than ${where.token}: the hooks' posts would be refused`, 'start the daemon (or run `switchboard claude-code install`): it rewrites the file from the token');
      }
      try {
        const answer = await probes.get(`${base}/hooks`, token, options.timeoutMs ?? 2_000);
        // GET /hooks is a probe: a daemon that takes hook events answers it, or refuses the method.
        if ((answer.status >= 200 && answer.status < 300) || answer.status === 405) pass('daemon', `${base}/hooks answers (${answer.status})`);
        else if (answer.status === 401 || answer.status === 403) fail('daemon', `${base}/hooks refused the token (${answer.status})`, 'the daemon runs from another home folder? check SWITCHBOARD_HOME');
        else if (answer.status === 404) fail('daemon', `${base}/hooks: not found — this daemon does not take Claude Code events`, 'update Switchboard and restart the daemon');
        else fail('daemon', `${base}/hooks answered ${answer.status}: ${answer.body.slice(0, 200)}`, 'see the daemon log (<home>/daemon.log)');
      } catch (error) {
        fail('daemon', `nothing answers at ${base} (${(error as Error).message}): events are spooled until it runs`, 'run `switchboard daemon`, or open the browser with the extension');
      }
    }
  }
  return checks;
}

// ---------------------------------------------------------------------------------------------
// Files

function refuseWindows(platform: NodeJS.Platform = process.platform): void {
  // The hooks are sh scripts, and Claude Code on Windows runs hooks through Git Bash with its own
  // path rules; untested there, so refused rather than half-working.
  if (platform === 'win32') throw new Error('Claude Code hooks are installed on Linux and macOS only for now');
}

const sha256 = (content: string | Buffer) => createHash('sha256').update(content).digest('hex');

const oneLine = (text: string) => {
  const line = text.replace(/\s*\n\s*/g, ' ⏎ ');
  return line.length > 80 ? `${line.slice(0, 77)}...` : line;
};

/** `*.json` files in the spool: events the daemon has not read yet. */
function spooledEvents(spool: string): number {
  try {
    return readdirSync(spool).filter((name) => name.endsWith('.json')).length;
  } catch {
    return 0;
  }
}

/** Copies `file` beside itself as `<file>.switchboard-<UTC time>.bak`, never over another backup. */
export function backup(file: string, now: () => number): string {
  const stamp = new Date(now()).toISOString().replace(/[-:.]/g, '');
  for (let attempt = 1; ; attempt++) {
    const path = `${file}.switchboard-${stamp}${attempt > 1 ? `-${attempt}` : ''}.bak`;
    try {
      // The copy keeps the file's mode: settings may hold secrets (env, apiKeyHelper).
      copyFileSync(file, path, constants.COPYFILE_EXCL);
      return path;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

/** Creates `path` and any missing parents; returns the folders it created, outermost first. */
function makeFolder(path: string, mode?: number): string[] {
  const created: string[] = [];
  let at = path;
  while (!existsSync(at)) {
    created.unshift(at);
    const parent = dirname(at);
    if (parent === at) break;
    at = parent;
  }
  if (created.length) {
    mkdirSync(path, { recursive: true });
    if (mode !== undefined) chmodSync(path, mode);
  }
  return created;
}

const innermostFirst = (folders: string[]) => [...new Set(folders)].sort((a, b) => b.length - a.length);

function removeIfEmpty(folder: string, actions: InstallAction[]): void {
  if (existsSync(folder) && readdirSync(folder).length === 0) {
    rmdirSync(folder);
    actions.push({ what: 'removed folder', path: folder, changed: true });
  }
}

/** Writes atomically — a reader (Claude Code starting) sees the old file or the new one — keeping the file's mode. */
export function writeAtomic(path: string, content: string, mode?: number): void {
  const keep = mode ?? (existsSync(path) ? statSync(path).mode & 0o777 : undefined);
  const temporary = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temporary, content, keep === undefined ? {} : { mode: keep });
  if (keep !== undefined) chmodSync(temporary, keep); // the umask may have narrowed it
  renameSync(temporary, path);
}

/** Writes `content` unless it is already there with that mode; says whether anything changed. */
function writeIfDifferent(path: string, content: string, mode: number): boolean {
  if (existsSync(path) && readFileSync(path).equals(Buffer.from(content))) {
    if ((statSync(path).mode & 0o777) === mode) return false;
    chmodSync(path, mode);
    return true;
  }
  writeAtomic(path, content, mode);
  return true;
}
