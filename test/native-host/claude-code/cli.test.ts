import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../../native-host/cli';
import { startFakeDaemon, type FakeDaemon } from './fake-daemon';

let root: string;
let home: string;
let userHome: string;
let settingsFile: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'sb-cc-cli-'));
  home = join(root, 'h');
  userHome = join(root, 'u');
  settingsFile = join(userHome, '.claude', 'settings.json');
  mkdirSync(join(userHome, '.claude'), { recursive: true });
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

async function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, { out: (line) => out.push(line), err: (line) => err.push(line), env: { HOME: userHome, SWITCHBOARD_HOME: home, PATH: process.env.PATH, ...env } });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe.skipIf(process.platform === 'win32')('switchboard claude-code', () => {
  it('has --help on each command, and is listed in the group help', async () => {
    for (const command of ['install', 'uninstall', 'doctor']) {
      const { code, out } = await cli(['claude-code', command, '--help']);
      expect(code).toBe(0);
      expect(out).toContain(`Usage: switchboard claude-code ${command}`);
      expect(out).toContain('--project <dir>');
    }
    const group = await cli(['claude-code', '--help']);
    expect(group.code).toBe(0);
    for (const command of ['install', 'uninstall', 'doctor']) expect(group.out).toContain(`claude-code ${command}`);
    expect((await cli(['--help'])).out).toContain('claude-code install');
  });

  it('install reports each step, posts to the configured port, and a second run changes nothing', async () => {
    mkdirSync(home);
    writeFileSync(join(home, 'config.json'), JSON.stringify({ api: { port: 9123 } }));
    writeFileSync(settingsFile, '{"model": "opus"}\n');
    const first = await cli(['claude-code', 'install']);
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/^wrote\s+hook script\s+.*switchboard-hook$/m);
    expect(first.out).toMatch(/^wrote\s+backup of the settings\s+.*settings\.json\.switchboard-\d{8}T\d{9}Z\.bak$/m);
    expect(first.out).toContain(`Claude Code sessions using ${settingsFile} now send their events to Switchboard`);
    expect(readFileSync(join(home, 'bin', 'switchboard-hook'), 'utf8')).toContain("base='http://127.0.0.1:9123'");

    const second = await cli(['claude-code', 'install']);
    expect(second.code).toBe(0);
    expect(second.out).not.toMatch(/^wrote/m);
  });

  it("--project installs into that folder's .claude/settings.json, and uninstall takes it out", async () => {
    const project = join(root, 'proj');
    mkdirSync(project);
    const { code } = await cli(['claude-code', 'install', '--project', project]);
    expect(code).toBe(0);
    expect(JSON.parse(readFileSync(join(project, '.claude', 'settings.json'), 'utf8')).hooks.Stop).toHaveLength(1);
    expect(existsSync(settingsFile)).toBe(false);
    expect((await cli(['claude-code', 'uninstall', '--project', project])).code).toBe(0);
    expect(existsSync(join(project, '.claude'))).toBe(false);
  });

  it('malformed settings: exit 1, the file and the place named, nothing written', async () => {
    writeFileSync(settingsFile, '{"model": "opus"');
    const { code, err } = await cli(['claude-code', 'install']);
    expect(code).toBe(1);
    expect(err).toContain(`switchboard claude-code install: ${settingsFile}: not valid JSON at line 1, column 17`);
    expect(existsSync(home)).toBe(false);
  });

  it('refuses api.port 0: the hooks need a fixed port', async () => {
    mkdirSync(home);
    writeFileSync(join(home, 'config.json'), JSON.stringify({ api: { port: 0 } }));
    const { code, err } = await cli(['claude-code', 'install']);
    expect(code).toBe(1);
    expect(err).toContain('api.port is 0');
  });

  it('uninstall gives the settings back; an unknown flag is a usage error', async () => {
    writeFileSync(settingsFile, '{"model": "opus"}\n');
    await cli(['claude-code', 'install']);
    const { code, out } = await cli(['claude-code', 'uninstall']);
    expect(code).toBe(0);
    expect(out).toContain('status line: Switchboard');
    expect(readFileSync(settingsFile, 'utf8')).toBe('{"model": "opus"}\n');
    expect((await cli(['claude-code', 'install', '--browser', 'x'])).code).toBe(2);
  });

  describe('doctor', () => {
    let daemon: FakeDaemon | undefined;
    afterEach(async () => {
      await daemon?.close();
      daemon = undefined;
    });

    it('exit 0 when every link holds, 1 with the first broken one named; --json', async () => {
      daemon = await startFakeDaemon((_posted, response) => response.writeHead(405).end());
      mkdirSync(home);
      writeFileSync(join(home, 'config.json'), JSON.stringify({ api: { port: daemon.port } }));
      await cli(['claude-code', 'install']);
      const healthy = await cli(['claude-code', 'doctor']);
      expect(healthy.out).toContain('every link holds');
      expect(healthy.code).toBe(0);

      await daemon.close();
      daemon = undefined;
      const broken = await cli(['claude-code', 'doctor']);
      expect(broken.code).toBe(1);
      expect(broken.out).toContain('the first broken link: daemon');
      const json = await cli(['claude-code', 'doctor', '--json']);
      const parsed = JSON.parse(json.out);
      expect(parsed.settingsFile).toBe(settingsFile);
      expect(parsed.checks.find((check: { name: string }) => check.name === 'daemon').ok).toBe(false);
    });
  });
});
