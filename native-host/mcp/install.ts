/**
 * `switchboard mcp install | uninstall` (issue 5: "installable into Claude Code (`claude mcp add`
 * form or `.mcp.json`) and into Claude Desktop's `claude_desktop_config.json`").
 *
 * Both files are `{"mcpServers": {"<name>": {"command", "args"}}}`: Switchboard adds its own entry,
 * `switchboard`, and keeps everything else as it was. A file that is not JSON, or whose mcpServers
 * is not an object, is refused with the reason before anything is written; a changed file is backed
 * up first; a second install changes nothing; uninstall takes out that one entry. Claude Code's
 * user scope lives in ~/.claude.json, which Claude Code itself rewrites while it runs: there the
 * `claude mcp add-json` command does the writing (cli.ts).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { backup, writeAtomic } from '../claude-code/install';
import type { InstallAction } from '../install';

/** The name Switchboard's MCP server has in every config, and in its handshake. */
export const MCP_SERVER_NAME = 'switchboard';

export interface McpServerEntry {
  command: string;
  args: string[];
}

/** How Claude Code or Claude Desktop starts the server: this Node, the installed bundle, the home. */
export function mcpServerEntry(home: string, nodePath: string, agent?: string): McpServerEntry {
  return { command: nodePath, args: [join(home, 'host', 'mcp.mjs'), '--home', home, ...(agent ? ['--agent', agent] : [])] };
}

/** Claude Desktop's config file on this platform. */
export function desktopConfigFile(platform: NodeJS.Platform, userHome: string, env: NodeJS.ProcessEnv): string {
  if (platform === 'darwin') return join(userHome, 'Library', 'Application Support', 'Claude', 'claude_desktop_config.json');
  if (platform === 'win32') return join(env.APPDATA ?? join(userHome, 'AppData', 'Roaming'), 'Claude', 'claude_desktop_config.json');
  return join(env.XDG_CONFIG_HOME ?? join(userHome, '.config'), 'Claude', 'claude_desktop_config.json');
}

type Servers = Record<string, unknown>;

/** The file's JSON and its mcpServers; throws, naming the file, when either cannot be used. */
function readServersFile(file: string): { data: Record<string, unknown>; servers: Servers; text: string | undefined } {
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (text === undefined || text.trim() === '') return { data: {}, servers: {}, text };
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new Error(`${file} is not valid JSON (${(error as Error).message}); fix it, then install again — nothing was written`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new Error(`${file} must hold a JSON object; nothing was written`);
  const servers = (data as Record<string, unknown>).mcpServers ?? {};
  if (typeof servers !== 'object' || servers === null || Array.isArray(servers)) {
    throw new Error(`${file}: mcpServers must be an object of servers by name; nothing was written`);
  }
  return { data: data as Record<string, unknown>, servers: servers as Servers, text };
}

const fileText = (data: unknown) => `${JSON.stringify(data, null, 2)}\n`;

/** Adds (or updates) Switchboard's entry in `file`. */
export function installMcpFile(file: string, entry: McpServerEntry, now: () => number = Date.now): InstallAction[] {
  const { data, servers, text } = readServersFile(file);
  if (JSON.stringify(servers[MCP_SERVER_NAME]) === JSON.stringify(entry)) {
    return [{ what: `MCP server "${MCP_SERVER_NAME}"`, path: file, changed: false }];
  }
  const actions: InstallAction[] = [];
  if (text !== undefined) actions.push({ what: 'backup', path: backup(file, now), changed: true });
  else mkdirSync(dirname(file), { recursive: true });
  writeAtomic(file, fileText({ ...data, mcpServers: { ...servers, [MCP_SERVER_NAME]: entry } }), existsSync(file) ? undefined : 0o600);
  actions.push({ what: `MCP server "${MCP_SERVER_NAME}"`, path: file, changed: true });
  return actions;
}

/** Takes Switchboard's entry out of `file`; everything else stays. */
export function uninstallMcpFile(file: string, now: () => number = Date.now): InstallAction[] {
  if (!existsSync(file)) return [{ what: `MCP server "${MCP_SERVER_NAME}" (no such file)`, path: file, changed: false }];
  const { data, servers } = readServersFile(file);
  if (!(MCP_SERVER_NAME in servers)) return [{ what: `MCP server "${MCP_SERVER_NAME}" (not there)`, path: file, changed: false }];
  const { [MCP_SERVER_NAME]: _, ...rest } = servers;
  const backedUp = backup(file, now);
  writeAtomic(file, fileText({ ...data, mcpServers: rest }));
  return [
    { what: 'backup', path: backedUp, changed: true },
    { what: `MCP server "${MCP_SERVER_NAME}" removed`, path: file, changed: true },
  ];
}
