import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { desktopConfigFile, installMcpFile, mcpServerEntry, uninstallMcpFile } from '../../../native-host/mcp/install';

let dir: string;
let file: string;
const entry = () => mcpServerEntry('/home/me/.switchboard', '/usr/bin/node', 'api:local/claude-desktop');
const read = async () => JSON.parse(await readFile(file, 'utf8'));
const backups = async () => (await readdir(dir)).filter((name) => name.endsWith('.bak'));

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchboard-mcp-install-'));
  file = join(dir, 'claude_desktop_config.json');
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('installing the MCP server into a config file', () => {
  it('adds its entry, keeping every other server and setting, after a backup; a second run changes nothing', async () => {
    const before = { globalShortcut: 'Ctrl+Space', mcpServers: { files: { command: 'npx', args: ['@modelcontextprotocol/server-filesystem', '/tmp'] } } };
    await writeFile(file, JSON.stringify(before));
    const actions = installMcpFile(file, entry());
    expect(actions.map((a) => [a.what, a.changed])).toEqual([['backup', true], ['MCP server "switchboard"', true]]);
    expect(await read()).toEqual({ ...before, mcpServers: { ...before.mcpServers, switchboard: { command: '/usr/bin/node', args: ['/home/me/.switchboard/host/mcp.mjs', '--home', '/home/me/.switchboard', '--agent', 'api:local/claude-desktop'] } } });
    expect(JSON.parse(await readFile(join(dir, (await backups())[0]), 'utf8'))).toEqual(before);
    expect(installMcpFile(file, entry())).toEqual([{ what: 'MCP server "switchboard"', path: file, changed: false }]);
    expect(await backups()).toHaveLength(1);
  });

  it('makes the file (and its folder) when there is none', () => {
    const nested = join(dir, 'Claude', 'claude_desktop_config.json');
    installMcpFile(nested, entry());
    return expect(readFile(nested, 'utf8').then(JSON.parse)).resolves.toEqual({ mcpServers: { switchboard: entry() } });
  });

  it('refuses a file that is not JSON, or whose mcpServers is not an object, and writes nothing', async () => {
    for (const text of ['{"mcpServers": {', '[]', '{"mcpServers": ["x"]}']) {
      await writeFile(file, text);
      expect(() => installMcpFile(file, entry())).toThrow(/nothing was written/);
      expect(await readFile(file, 'utf8')).toBe(text);
    }
    expect(await backups()).toEqual([]);
  });

  it('uninstall takes out its entry and nothing else', async () => {
    await writeFile(file, JSON.stringify({ mcpServers: { files: { command: 'npx', args: [] } } }));
    installMcpFile(file, entry());
    expect(uninstallMcpFile(file).at(-1)).toMatchObject({ changed: true });
    expect(await read()).toEqual({ mcpServers: { files: { command: 'npx', args: [] } } });
    expect(uninstallMcpFile(file)).toEqual([{ what: 'MCP server "switchboard" (not there)', path: file, changed: false }]);
  });

  it('knows where Claude Desktop keeps its config on each platform', () => {
    expect(desktopConfigFile('darwin', '/Users/me', {})).toBe('/Users/me/Library/Application Support/Claude/claude_desktop_config.json');
    expect(desktopConfigFile('linux', '/home/me', {})).toBe('/home/me/.config/Claude/claude_desktop_config.json');
    expect(desktopConfigFile('linux', '/home/me', { XDG_CONFIG_HOME: '/cfg' })).toBe('/cfg/Claude/claude_desktop_config.json');
    expect(desktopConfigFile('win32', 'C:\\\\Users\\\\me', { APPDATA: 'C:\\\\AppData' })).toContain('claude_desktop_config.json');
  });
});
