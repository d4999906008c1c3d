import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commandWord, hookScript, scriptPaths } from '../../../native-host/claude-code/hook-script';
import {
  doctorClaudeCode,
  installClaudeCode,
  recordPath,
  uninstallClaudeCode,
  type ClaudeCodeCheck,
  type ClaudeCodeDoctorOptions,
  type ClaudeCodeInstallOptions,
} from '../../../native-host/claude-code/install';
import { HOOK_EVENTS, SettingsError, ourCommands, ourGroup } from '../../../native-host/claude-code/settings';
import { statusLineCommand } from '../../../native-host/claude-code/statusline';
import { deadPort, startFakeDaemon, type FakeDaemon } from './fake-daemon';

let root: string;
let home: string;
let userHome: string;
let settingsFile: string;
const NOW = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
const BACKUP_SUFFIX = '.switchboard-20260102T030405678Z.bak';

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "sb-cc install '"));
  home = join(root, 'switchboard home');
  userHome = join(root, 'user');
  settingsFile = join(userHome, '.claude', 'settings.json');
  mkdirSync(join(userHome, '.claude'), { recursive: true });
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** The person's own settings, formatted by hand: inline objects, 4 spaces, a hook and a status line of theirs. */
const PERSONAL = `{
    "model": "opus",
    "env": { "FOO": "1", "ANTHROPIC_API_KEY": "sk-secret" },
    "permissions": { "allow": ["Bash(npm test:*)"], "deny": [] },
    "hooks": {
        "PreToolUse": [
            { "matcher": "Bash", "hooks": [{ "type": "command", "command": "~/bin/check-bash.sh", "timeout": 5 }] }
        ],
        "Stop": [{ "hooks": [{ "type": "command", "command": "notify-send done" }] }]
    },
    "statusLine": { "type": "command", "command": "~/.claude/statusline.sh", "padding": 0 }
}
`;
/** The same settings as JSON.stringify writes them with 2 spaces: nothing to reformat. */
const PLAIN = `${JSON.stringify(JSON.parse(PERSONAL), null, 2)}\n`;

const install = (extra: Partial<ClaudeCodeInstallOptions> = {}) => installClaudeCode({ home, userHome, apiPort: 8737, now: () => NOW, ...extra });
const uninstall = (extra: Partial<ClaudeCodeInstallOptions> = {}) => uninstallClaudeCode({ home, userHome, now: () => NOW + 1_000, ...extra });
const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));
const where = () => scriptPaths(home);
const commands = () => ourCommands(commandWord(where().hook));

/** Every file under `dir`: bytes, mode and modification time. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    const stat = lstatSync(path);
    out[path] = entry.isFile() ? `${stat.mtimeMs}:${stat.mode}:${readFileSync(path, 'base64')}` : `${stat.mode}`;
  }
  return out;
}

describe.skipIf(process.platform === 'win32')('installClaudeCode', () => {
  it("adds Switchboard's hooks and wraps the status line, keeping everything the person had", () => {
    writeFileSync(settingsFile, PLAIN, { mode: 0o600 });
    const report = install();

    const settings = readJson(settingsFile);
    const mine = JSON.parse(PERSONAL);
    expect(settings.model).toBe('opus');
    expect(settings.env).toEqual(mine.env);
    expect(settings.permissions).toEqual(mine.permissions);
    expect(settings.hooks.PreToolUse).toEqual([...mine.hooks.PreToolUse, ourGroup('PreToolUse', commands())]);
    expect(settings.hooks.Stop).toEqual([...mine.hooks.Stop, ourGroup('Stop', commands())]);
    for (const event of HOOK_EVENTS) expect(settings.hooks[event].at(-1)).toEqual(ourGroup(event, commands()));
    expect(settings.statusLine).toEqual({ type: 'command', command: statusLineCommand(commandWord(where().statusLine), '~/.claude/statusline.sh'), padding: 0 });
    // The person's key order is kept: nothing moved.
    expect(Object.keys(settings)).toEqual(Object.keys(mine));
    // Its mode too: it holds a secret.
    expect(statSync(settingsFile).mode & 0o777).toBe(0o600);

    // The backup is the file as it was, before any change.
    const backup = `${settingsFile}${BACKUP_SUFFIX}`;
    expect(readFileSync(backup, 'utf8')).toBe(PLAIN);
    expect(statSync(backup).mode & 0o777).toBe(0o600);
    expect(report.actions).toContainEqual({ what: 'backup of the settings', path: backup, changed: true });

    for (const script of [where().hook, where().statusLine]) expect(statSync(script).mode & 0o777).toBe(0o755);
    expect(readFileSync(where().hook, 'utf8')).toBe(hookScript({ home, apiPort: 8737 }));
    expect(statSync(where().spool).mode & 0o777).toBe(0o700);
    expect(statSync(recordPath(home)).mode & 0o777).toBe(0o600);
    expect(report.settingsFile).toBe(settingsFile);
    expect(report.actions.find((action) => action.what.startsWith('status line ('))).toEqual({
      what: 'status line (wraps: ~/.claude/statusline.sh)',
      path: settingsFile,
      changed: true,
    });
    expect(report.notes).toContain('Claude Code reads hooks when a session starts: restart running sessions (or review the change in their /hooks menu)');
  });

  it('a second install changes nothing: every file byte-identical, no new backup', () => {
    writeFileSync(settingsFile, PERSONAL);
    install();
    const before = snapshot(root);
    const report = install({ now: () => NOW + 60_000 });
    expect(snapshot(root)).toEqual(before);
    expect(report.actions.filter((action) => action.changed)).toEqual([]);
    expect(report.notes).toEqual([]);
  });

  it('uninstall after install gives back the settings file byte for byte, and removes scripts, spool and record', () => {
    writeFileSync(settingsFile, PERSONAL);
    const installed = install();
    // Hand formatting cannot survive a JSON rewrite; the person is told, and gets it back on uninstall.
    expect(installed.notes.some((note) => note.includes('rewritten as plain JSON'))).toBe(true);

    const report = uninstall();
    expect(readFileSync(settingsFile, 'utf8')).toBe(PERSONAL);
    for (const gone of [where().hook, where().statusLine, where().spool, join(home, 'bin'), recordPath(home)]) expect(existsSync(gone)).toBe(false);
    // The home's own things stay: the token is the daemon's.
    expect(existsSync(join(home, 'token'))).toBe(true);
    // Both changes were backed up first.
    expect(readdirSync(join(userHome, '.claude')).filter((name) => name.endsWith('.bak')).length).toBe(2);
    expect(report.actions).toContainEqual({ what: 'status line: your own command restored', path: settingsFile, changed: true });
    expect(report.actions.find((action) => action.what.startsWith('removed hooks'))?.changed).toBe(true);
  });

  it("uninstall keeps what the person changed since install, and takes out only Switchboard's", () => {
    writeFileSync(settingsFile, PLAIN);
    install();
    const edited = readJson(settingsFile);
    edited.theme = 'dark';
    edited.hooks.PreToolUse.push({ matcher: 'Edit', hooks: [{ type: 'command', command: 'lint-staged' }] });
    edited.hooks.SessionStart[0].hooks.push({ type: 'command', command: 'echo hi' }); // theirs, in our group
    writeFileSync(settingsFile, `${JSON.stringify(edited, null, 2)}\n`);

    uninstall();
    const expected = JSON.parse(PERSONAL);
    expected.hooks.PreToolUse.push({ matcher: 'Edit', hooks: [{ type: 'command', command: 'lint-staged' }] });
    expected.hooks.SessionStart = [{ hooks: [{ type: 'command', command: 'echo hi' }] }];
    expected.theme = 'dark';
    expect(readJson(settingsFile)).toEqual(expected);
    expect(readFileSync(settingsFile, 'utf8')).not.toContain('switchboard');
  });

  it('refuses malformed JSON, naming the file, line and column, and writes nothing at all', () => {
    const broken = '{\n  "model": "opus",\n  "hooks": {\n    "Stop": [\n  }\n}\n';
    writeFileSync(settingsFile, broken);
    expect(() => install()).toThrow(SettingsError);
    expect(() => install()).toThrow(`${settingsFile}: not valid JSON at line 5, column 3`);
    expect(readFileSync(settingsFile, 'utf8')).toBe(broken);
    expect(readdirSync(join(userHome, '.claude'))).toEqual(['settings.json']); // no backup, no temporary file
    expect(existsSync(home)).toBe(false); // no scripts, no record, no token
  });

  it('refuses hooks of the wrong shape, naming the field, and writes nothing', () => {
    writeFileSync(settingsFile, PLAIN);
    install();
    const before = snapshot(root);
    const wrong = '{ "hooks": { "PreToolUse": { "matcher": "Bash" } } }\n';
    writeFileSync(settingsFile, wrong);
    const snapshotWithWrong = snapshot(root);
    expect(() => install()).toThrow(`${settingsFile}: hooks.PreToolUse: expected a list of matcher groups`);
    expect(() => uninstall()).toThrow(SettingsError);
    expect(snapshot(root)).toEqual(snapshotWithWrong);
    expect(Object.keys(before)).toEqual(Object.keys(snapshotWithWrong));
  });

  it('refuses an API port a hook cannot post to, before writing anything', () => {
    writeFileSync(settingsFile, PLAIN);
    expect(() => install({ apiPort: 0 })).toThrow('set api.port in config.json to a fixed port');
    expect(existsSync(home)).toBe(false);
    expect(readFileSync(settingsFile, 'utf8')).toBe(PLAIN);
  });

  it('with no settings file: creates it (and its folder); uninstall removes both', () => {
    rmSync(join(userHome, '.claude'), { recursive: true });
    const report = install();
    expect(Object.keys(readJson(settingsFile))).toEqual(['hooks', 'statusLine']);
    expect(readJson(settingsFile).statusLine).toEqual({ type: 'command', command: commandWord(where().statusLine) });
    expect(report.actions.some((action) => action.what.startsWith('backup'))).toBe(false);
    uninstall();
    expect(existsSync(join(userHome, '.claude'))).toBe(false);
    expect(existsSync(home)).toBe(true);
  });

  it('--project: the project\'s .claude/settings.json, the user settings untouched; scripts stay while one still uses them', () => {
    writeFileSync(settingsFile, PLAIN);
    const project = join(root, 'my project');
    mkdirSync(project);
    install();
    const userSettings = readFileSync(settingsFile, 'utf8');
    const report = install({ project });
    const projectFile = join(project, '.claude', 'settings.json');
    expect(report.settingsFile).toBe(projectFile);
    expect(readJson(projectFile).hooks.Stop).toEqual([ourGroup('Stop', commands())]);
    expect(report.notes.some((note) => note.includes('often committed'))).toBe(true);
    expect(readFileSync(settingsFile, 'utf8')).toBe(userSettings);

    const removed = uninstall({ project });
    expect(existsSync(join(project, '.claude'))).toBe(false);
    expect(existsSync(where().hook)).toBe(true);
    expect(removed.notes).toContain(`the hook scripts stay: ${settingsFile} still use them`);
    expect(readJson(recordPath(home)).settings.map((entry: { file: string }) => entry.file)).toEqual([settingsFile]);

    uninstall();
    expect(readFileSync(settingsFile, 'utf8')).toBe(PLAIN);
    expect(existsSync(where().hook)).toBe(false);
    expect(existsSync(recordPath(home))).toBe(false);
  });

  it("Claude Code's own folder elsewhere ($CLAUDE_CONFIG_DIR)", () => {
    const configDir = join(root, 'claude config');
    install({ claudeConfigDir: configDir });
    expect(readJson(join(configDir, 'settings.json')).hooks.SessionEnd).toEqual([ourGroup('SessionEnd', commands())]);
    expect(existsSync(settingsFile)).toBe(false);
  });

  it('a settings file that is a symbolic link stays one: the file it points at is changed', () => {
    const dotfiles = join(root, 'dotfiles');
    mkdirSync(dotfiles);
    writeFileSync(join(dotfiles, 'claude-settings.json'), PLAIN);
    symlinkSync(join(dotfiles, 'claude-settings.json'), settingsFile);
    install();
    expect(lstatSync(settingsFile).isSymbolicLink()).toBe(true);
    expect(readJson(join(dotfiles, 'claude-settings.json')).hooks.Stop).toHaveLength(2);
    uninstall();
    expect(lstatSync(settingsFile).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(dotfiles, 'claude-settings.json'), 'utf8')).toBe(PLAIN);
  });

  it('a new API port rewrites the scripts only', () => {
    writeFileSync(settingsFile, PLAIN);
    install();
    const settings = readFileSync(settingsFile, 'utf8');
    const report = install({ apiPort: 9000 });
    expect(report.actions.filter((action) => action.changed).map((action) => action.what)).toEqual(['hook script', 'status line script', 'record of what was added']);
    expect(readFileSync(where().hook, 'utf8')).toContain("base='http://127.0.0.1:9000'");
    expect(readFileSync(settingsFile, 'utf8')).toBe(settings);
  });

  it('uninstall keeps a spool that still holds events, and says so', () => {
    writeFileSync(settingsFile, PLAIN);
    install();
    writeFileSync(join(where().spool, '1760000000000000000-42.json'), '{}');
    const report = uninstall();
    expect(existsSync(join(where().spool, '1760000000000000000-42.json'))).toBe(true);
    expect(report.notes).toContain(`${where().spool} still holds 1 events the daemon has not read; it was kept`);
  });

  it('leaves a script alone that was changed after install', () => {
    install();
    writeFileSync(where().hook, '#!/bin/sh\n# mine now\n');
    const report = uninstall();
    expect(readFileSync(where().hook, 'utf8')).toBe('#!/bin/sh\n# mine now\n');
    expect(report.actions).toContainEqual({ what: 'left alone: changed since install', path: where().hook, changed: false });
  });

  it('without its record, uninstall still finds Switchboard\'s hooks and status line by their command', () => {
    writeFileSync(settingsFile, PLAIN);
    install();
    unlinkSync(recordPath(home));
    const report = uninstall();
    expect(readJson(settingsFile)).toEqual(JSON.parse(PLAIN));
    expect(report.notes[0]).toContain('has no record of');
  });

  it('uninstall leaves a status line the person replaced since', () => {
    writeFileSync(settingsFile, PLAIN);
    install();
    const edited = readJson(settingsFile);
    edited.statusLine.command = 'my-new-line';
    writeFileSync(settingsFile, JSON.stringify(edited, null, 2));
    const report = uninstall();
    expect(readJson(settingsFile).statusLine.command).toBe('my-new-line');
    expect(report.notes).toContain(`the status line in ${settingsFile} is no longer Switchboard's, so it was left as it is`);
  });
});

describe.skipIf(process.platform === 'win32')('doctorClaudeCode', () => {
  let daemon: FakeDaemon | undefined;
  let curlDir: string;

  beforeEach(() => {
    curlDir = join(root, 'path-with-curl');
    mkdirSync(curlDir);
    writeFileSync(join(curlDir, 'curl'), '#!/bin/sh\n', { mode: 0o755 });
  });
  afterEach(async () => {
    await daemon?.close();
    daemon = undefined;
  });

  /** Installs against a stand-in daemon answering GET /hooks with `status`. */
  async function installed(status = 405) {
    daemon = await startFakeDaemon((posted, response) => response.writeHead(posted.url === '/hooks' ? status : 404).end());
    writeFileSync(settingsFile, PLAIN);
    install({ apiPort: daemon.port });
    return daemon.port;
  }
  const doctor = async (apiPort: number, extra: Partial<ClaudeCodeDoctorOptions> = {}) =>
    doctorClaudeCode({ home, userHome, apiPort, env: { PATH: `${join(root, 'nothing')}:${curlDir}` }, ...extra });
  const byName = (checks: ClaudeCodeCheck[]) => Object.fromEntries(checks.map((check) => [check.name, check]));

  it('passes a healthy install, checking the daemon for real', async () => {
    const port = await installed();
    const checks = await doctor(port);
    expect(checks.filter((check) => !check.ok)).toEqual([]);
    expect(checks.map((check) => check.name)).toEqual(['settings', 'hooks', 'status line', 'scripts', 'spool', 'curl', 'daemon']);
    expect(byName(checks)['status line'].detail).toBe('wraps ~/.claude/statusline.sh');
    expect(byName(checks).curl.detail).toBe(join(curlDir, 'curl'));
    expect(daemon!.posted[0]).toMatchObject({ method: 'GET', url: '/hooks', authorization: `Bearer ${readFileSync(join(home, 'token'), 'utf8').trim()}` });
  });

  it('names malformed settings, and skips what depends on them', async () => {
    const port = await installed();
    writeFileSync(settingsFile, '{"hooks": ');
    const checks = byName(await doctor(port));
    expect(checks.settings).toMatchObject({ ok: false });
    expect(checks.settings.detail).toContain(`${settingsFile}: not valid JSON at line 1, column 11`);
    expect(checks.hooks).toMatchObject({ ok: false, skipped: true });
  });

  it('names each event whose hook is missing, and a status line that is not ours', async () => {
    const port = await installed();
    const settings = readJson(settingsFile);
    settings.hooks.PostToolUse.pop();
    delete settings.hooks.SessionEnd;
    settings.statusLine.command = 'echo mine';
    writeFileSync(settingsFile, JSON.stringify(settings));
    const checks = byName(await doctor(port));
    expect(checks.hooks).toMatchObject({ ok: false, detail: "Switchboard's hook is missing or changed for PostToolUse, SessionEnd", fix: 'run `switchboard claude-code install`' });
    expect(checks['status line']).toMatchObject({ ok: false, detail: "not Switchboard's: echo mine" });
  });

  it('finds a script that is not executable, or posts to another port', async () => {
    const port = await installed();
    chmodSync(where().statusLine, 0o644);
    let checks = byName(await doctor(port));
    expect(checks.scripts).toMatchObject({ ok: false, detail: `${where().statusLine} is not executable` });
    chmodSync(where().statusLine, 0o755);
    checks = byName(await doctor(port + 1));
    expect(checks.scripts.ok).toBe(false);
    expect(checks.scripts.detail).toContain('another API port');
  });

  it("finds the scripts' copy of the token missing or stale", async () => {
    const port = await installed();
    writeFileSync(join(home, 'curl-auth.conf'), 'header = "Authorization: Bearer old"\n');
    expect(byName(await doctor(port)).token).toMatchObject({ ok: false, detail: expect.stringContaining('holds another token'), fix: expect.stringContaining('rewrites the file') });
    rmSync(join(home, 'curl-auth.conf'));
    expect(byName(await doctor(port)).token).toMatchObject({ ok: false });
  });

  it('finds curl missing from PATH', async () => {
    const port = await installed();
    const checks = byName(await doctor(port, { env: { PATH: join(root, 'nothing') } }));
    expect(checks.curl).toMatchObject({ ok: false });
    expect(checks.curl.detail).toContain('no curl on PATH');
  });

  it('finds the daemon down, refusing the token, or without /hooks', async () => {
    const port = await installed();
    await daemon!.close();
    daemon = undefined;
    let checks = byName(await doctor(port));
    expect(checks.daemon.ok).toBe(false);
    expect(checks.daemon.detail).toContain(`nothing answers at http://127.0.0.1:${port}`);

    for (const [status, text] of [
      [401, 'refused the token'],
      [404, 'does not take Claude Code events'],
      [500, 'answered 500'],
    ] as const) {
      daemon = await startFakeDaemon((_posted, response) => response.writeHead(status).end());
      checks = byName(await doctor(daemon.port, { probes: {} }));
      expect(checks.daemon.ok).toBe(false);
      expect(checks.daemon.detail).toContain(text);
      await daemon.close();
      daemon = undefined;
    }
  });

  it('with nothing installed: says to install', async () => {
    const checks = byName(await doctor(await deadPort()));
    expect(checks.settings).toMatchObject({ ok: false, detail: `no ${settingsFile}`, fix: 'run `switchboard claude-code install`' });
    expect(checks.scripts.ok).toBe(false);
    expect(checks.spool.ok).toBe(false);
    expect(checks.daemon.detail).toContain('no token yet');
  });
});
