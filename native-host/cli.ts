/**
 * The `switchboard` command (issue 4: "Installer CLI, `--help` on every command"): installs the
 * native host, checks it, and lets a person at a terminal see and send messages through the local
 * API. Exit codes: 0 ok, 1 failure, 2 usage (an unknown command or flag, a missing argument).
 *
 * `runCli(argv, io)` does the work and returns the exit code, so tests run it in-process; `main()`
 * wires it to the process (bin/switchboard.mjs, or `node ~/.switchboard/host/cli.mjs`).
 */
import { existsSync, realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { z } from 'zod';
import { defaultHome, loadConfig, loadConfigWithOrigin, paths, pricesFilePath } from './config';
import { readPriceFile } from './claude-code/usage/prices';
import { realProbes, runDoctor, type Check } from './doctor';
import { BROWSERS, installHost, uninstallHost, type BrowserName, type InstallReport } from './install';
import { apiRequest, resolveApi, unreachable } from './api-client';
import { spawnSync } from 'node:child_process';
import { AgentAddress } from '../src/protocol/address';
import { parseOrThrow } from '../src/protocol/envelope';
import { desktopConfigFile, installMcpFile, MCP_SERVER_NAME, mcpServerEntry, uninstallMcpFile } from './mcp/install';
import { doctorClaudeCode, installClaudeCode, settingsFileOf, uninstallClaudeCode } from './claude-code/install';

export interface CliIo {
  /** one line of output (no newline) */
  out(line: string): void;
  /** one line of diagnostics (no newline) */
  err(line: string): void;
  env: NodeJS.ProcessEnv;
  /** aborted when the person stops the command (Ctrl-C): ends `tail` and `daemon` cleanly */
  signal?: AbortSignal;
}

type OptionSpec = {
  type: 'string' | 'boolean';
  multiple?: boolean;
  short?: string;
  /** shown in help: `--name <value>` */
  value?: string;
  help: string;
};

interface Command {
  /** e.g. "host install" */
  name: string;
  summary: string;
  usage: string;
  description: string;
  options: Record<string, OptionSpec>;
  /** what the positionals are, or undefined when the command takes none */
  positionals?: string;
  run(values: Record<string, string | boolean | string[] | undefined>, positionals: string[], context: Context): Promise<number>;
}

interface Context {
  io: CliIo;
  home: string;
  /** prints a usage error and gives the exit code for it */
  usage(message: string): number;
}

const COMMON_OPTIONS: Record<string, OptionSpec> = {
  home: { type: 'string', value: 'dir', help: 'the host folder (default: $SWITCHBOARD_HOME, else ~/.switchboard)' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

/** The person's home folder, from the environment the CLI was given (tests give their own). */
function userHomeOf(env: NodeJS.ProcessEnv): string {
  return (process.platform === 'win32' ? env.USERPROFILE : env.HOME) || homedir();
}

/** The file `mcp install|uninstall --project/--desktop` names; undefined for Claude Code's user scope. */
function mcpConfigFile(values: Record<string, unknown>, io: CliIo): string | undefined {
  if (values.desktop) return desktopConfigFile(process.platform, userHomeOf(io.env), io.env);
  return values.project === undefined ? undefined : join(resolve(values.project as string), '.mcp.json');
}

/** Where the built host is: beside this file when it runs bundled, else the repository's dist. */
function defaultDistDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return existsSync(join(here, 'shim.mjs')) ? here : resolve(here, '..', 'dist', 'native-host');
}

// ---------------------------------------------------------------------------------------------
// The commands

const COMMANDS: Command[] = [
  {
    name: 'host install',
    summary: 'register the native host with every browser found',
    usage: 'switchboard host install [--browser <name>]... [--profile <dir>]...',
    description:
      'Copies the built host (npm run build:host) into <home>/host, writes the launcher <home>/bin/switchboard-host, and ' +
      'registers it with every browser whose folder exists: a manifest in its NativeMessagingHosts folder (Linux, macOS) ' +
      'or a registry key (Windows). Prints each step; running it again changes nothing.',
    options: {
      browser: { type: 'string', multiple: true, value: 'name', help: `only this browser, even when not found: ${BROWSERS.join(', ')} (repeatable)` },
      profile: { type: 'string', multiple: true, value: 'dir', help: 'also a Chromium --user-data-dir folder (repeatable)' },
      dist: { type: 'string', value: 'dir', help: 'the built host to install (default: the folder this command runs from, else dist/native-host)' },
    },
    async run(values, _positionals, { io, home, usage }) {
      const browsers = (values.browser as string[] | undefined) ?? undefined;
      const unknown = browsers?.filter((browser) => !(BROWSERS as readonly string[]).includes(browser)) ?? [];
      if (unknown.length) return usage(`unknown browser ${unknown.map((b) => JSON.stringify(b)).join(', ')}: expected ${BROWSERS.join(', ')}`);
      const report = installHost({
        home,
        distDir: resolve((values.dist as string | undefined) ?? defaultDistDir()),
        browsers: browsers as BrowserName[] | undefined,
        profiles: ((values.profile as string[] | undefined) ?? []).map((dir) => resolve(dir)),
        userHome: userHomeOf(io.env),
        env: io.env,
      });
      printActions(io, report, (action) => (action.changed ? 'wrote' : 'unchanged'));
      if (report.registered.length === 0) return 1;
      io.out(`registered the Switchboard host for ${report.registered.join(', ')}`);
      return 0;
    },
  },
  {
    name: 'host uninstall',
    summary: 'remove exactly what `host install` wrote',
    usage: 'switchboard host uninstall',
    description:
      'Removes the files, registry keys and folders listed in <home>/installed.json — nothing else. A manifest changed since ' +
      'install is left alone and reported. The token, config.json and the journal stay.',
    options: {},
    async run(_values, _positionals, { io, home }) {
      printActions(io, uninstallHost({ home }));
      return 0;
    },
  },
  {
    name: 'doctor',
    summary: 'check each link: config, manifest, launcher, daemon, hub, API',
    usage: 'switchboard doctor [--json]',
    description: 'Follows the path a message takes and says, for each link, whether it holds — and when it does not, what to do.',
    options: { json: { type: 'boolean', help: 'print the checks as JSON' } },
    async run(values, _positionals, { io, home }) {
      const checks = await runDoctor({ home, userHome: userHomeOf(io.env), env: io.env });
      if (values.json) io.out(JSON.stringify(checks, null, 2));
      else for (const line of formatChecks(checks)) io.out(line);
      return checks.every((check) => check.ok) ? 0 : 1;
    },
  },
  {
    name: 'claude-code install',
    summary: "send Claude Code's events to Switchboard: hooks and status line in its settings",
    usage: 'switchboard claude-code install [--project <dir>]',
    description:
      'Writes the hook scripts <home>/bin/switchboard-hook and switchboard-statusline, and adds Switchboard\'s hooks ' +
      '(SessionStart, UserPromptSubmit, PreToolUse, PostToolUse, Notification, Stop, SubagentStop, StopFailure, ' +
      'PreCompact, SessionEnd) to ~/.claude/settings.json — or <dir>/.claude/settings.json with --project — keeping ' +
      'every hook and setting already there. A status line command you have keeps running, its output unchanged. ' +
      'The settings file is backed up first (settings.json.switchboard-<time>.bak); a file that is not valid JSON is ' +
      'refused and nothing is written. Prints each step; running it again changes nothing.',
    options: {
      project: { type: 'string', value: 'dir', help: "this project's .claude/settings.json instead of your user settings" },
    },
    async run(values, _positionals, { io, home }) {
      const config = loadConfig(home);
      if (config.api.port === 0) {
        throw new Error(`api.port is 0 in ${paths(home).config}: the hooks need a fixed port to post to; set one (the default is 8737)`);
      }
      const report = installClaudeCode({
        home,
        userHome: userHomeOf(io.env),
        project: values.project === undefined ? undefined : resolve(values.project as string),
        claudeConfigDir: io.env.CLAUDE_CONFIG_DIR || undefined,
        apiPort: config.api.port,
        apiHost: config.api.host,
      });
      printActions(io, report, (action) => (action.changed ? 'wrote' : 'unchanged'));
      io.out(`Claude Code sessions using ${report.settingsFile} now send their events to Switchboard`);
      return 0;
    },
  },
  {
    name: 'claude-code uninstall',
    summary: 'take out exactly what `claude-code install` added',
    usage: 'switchboard claude-code uninstall [--project <dir>]',
    description:
      "Removes Switchboard's hooks from the settings file and puts your own status line command back as it was; " +
      'every other hook and setting stays. When nothing is changed but what install added, the file comes back byte for ' +
      'byte. The scripts and <home>/claude-code.json go once no settings file uses them; a spool still holding events ' +
      'is kept. The settings file is backed up first.',
    options: {
      project: { type: 'string', value: 'dir', help: "this project's .claude/settings.json instead of your user settings" },
    },
    async run(values, _positionals, { io, home }) {
      printActions(
        io,
        uninstallClaudeCode({
          home,
          userHome: userHomeOf(io.env),
          project: values.project === undefined ? undefined : resolve(values.project as string),
          claudeConfigDir: io.env.CLAUDE_CONFIG_DIR || undefined,
        }),
      );
      return 0;
    },
  },
  {
    name: 'mcp install',
    summary: "add Switchboard's MCP server to Claude Code or Claude Desktop",
    usage: 'switchboard mcp install [--project <dir> | --desktop] [--agent <address>] [--claude <path>]',
    description:
      'Adds the MCP server "switchboard" (tools: list_agents, send_message, read_inbox, read_message, wait_for_message, ack, ' +
      'reply), started as `node <home>/host/mcp.mjs`. Default: every Claude Code session of yours, through `claude mcp ' +
      'add-json --scope user` (Claude Code keeps that list in ~/.claude.json, which it rewrites itself). --project: ' +
      "<dir>/.mcp.json, for that project's sessions. --desktop: Claude Desktop's claude_desktop_config.json, as the agent " +
      'api:<device>/claude-desktop unless --agent says otherwise. In a Claude Code session the server is that session ' +
      '(claude-code:<device>/<session id>), found through the hooks of `switchboard claude-code install`. A file is backed ' +
      'up before it changes, a file that is not valid JSON is refused with nothing written, and a second run changes nothing.',
    options: {
      project: { type: 'string', value: 'dir', help: "<dir>/.mcp.json: that project's Claude Code sessions" },
      desktop: { type: 'boolean', help: "Claude Desktop's claude_desktop_config.json" },
      agent: { type: 'string', value: 'address', help: 'the agent the server speaks as (default: the Claude Code session; with --desktop, api:<device>/claude-desktop)' },
      claude: { type: 'string', value: 'path', help: 'the claude command for the user scope (default: claude on PATH)' },
    },
    async run(values, _positionals, { io, home, usage }) {
      if (values.project !== undefined && values.desktop) return usage('--project and --desktop name different places: give one');
      const bundle = join(home, 'host', 'mcp.mjs');
      if (!existsSync(bundle)) throw new Error(`${bundle} is missing: run \`switchboard host install\` first, which puts the MCP server there`);
      const agent = values.agent === undefined ? (values.desktop ? `api:${loadConfig(home).device}/claude-desktop` : undefined) : parseOrThrow(AgentAddress, values.agent, '--agent');
      const entry = mcpServerEntry(home, process.execPath, agent);
      const file = mcpConfigFile(values, io);
      if (file) {
        printActions(io, { actions: installMcpFile(file, entry), notes: [] }, (action) => (action.changed ? 'wrote' : 'unchanged'));
        io.out(values.desktop ? 'Restart Claude Desktop to load it.' : `Claude Code asks once, in ${resolve(values.project as string)}, whether to use it.`);
        return 0;
      }
      const claude = (values.claude as string | undefined) ?? 'claude';
      const json = JSON.stringify({ type: 'stdio', ...entry });
      const run = (args: string[]) => spawnSync(claude, args, { encoding: 'utf8', env: io.env });
      const existing = run(['mcp', 'get', MCP_SERVER_NAME]);
      if (existing.error) {
        io.err(`could not run ${claude} (${existing.error.message}); add the server yourself with:`);
        io.err(`  claude mcp add-json --scope user ${MCP_SERVER_NAME} '${json}'`);
        return 1;
      }
      if (existing.status === 0 && entry.args.every((arg) => existing.stdout.includes(arg)) && existing.stdout.includes(entry.command)) {
        io.out(`unchanged MCP server "${MCP_SERVER_NAME}" (Claude Code, user scope)`);
        return 0;
      }
      let added = run(['mcp', 'add-json', '--scope', 'user', MCP_SERVER_NAME, json]);
      // An older entry by that name (another home, node or agent): replaced only once the new one is known to be accepted.
      if (added.status !== 0 && existing.status === 0) {
        run(['mcp', 'remove', '--scope', 'user', MCP_SERVER_NAME]);
        added = run(['mcp', 'add-json', '--scope', 'user', MCP_SERVER_NAME, json]);
      }
      if (added.status !== 0) throw new Error(`${claude} mcp add-json failed: ${(added.stderr || added.stdout).trim()}`);
      io.out(`added MCP server "${MCP_SERVER_NAME}" to Claude Code (user scope): ${entry.command} ${entry.args.join(' ')}`);
      return 0;
    },
  },
  {
    name: 'mcp uninstall',
    summary: 'take Switchboard\'s MCP server out of Claude Code or Claude Desktop',
    usage: 'switchboard mcp uninstall [--project <dir> | --desktop] [--claude <path>]',
    description: 'Removes the "switchboard" MCP server from where `mcp install` put it (the same options); every other server stays. A file is backed up before it changes.',
    options: {
      project: { type: 'string', value: 'dir', help: '<dir>/.mcp.json' },
      desktop: { type: 'boolean', help: "Claude Desktop's claude_desktop_config.json" },
      claude: { type: 'string', value: 'path', help: 'the claude command for the user scope (default: claude on PATH)' },
    },
    async run(values, _positionals, { io, usage }) {
      if (values.project !== undefined && values.desktop) return usage('--project and --desktop name different places: give one');
      const file = mcpConfigFile(values, io);
      if (file) {
        printActions(io, { actions: uninstallMcpFile(file), notes: [] }, (action) => (action.changed ? 'changed' : 'unchanged'));
        return 0;
      }
      const claude = (values.claude as string | undefined) ?? 'claude';
      const removed = spawnSync(claude, ['mcp', 'remove', '--scope', 'user', MCP_SERVER_NAME], { encoding: 'utf8', env: io.env });
      if (removed.error) throw new Error(`could not run ${claude} (${removed.error.message}); remove it yourself: claude mcp remove --scope user ${MCP_SERVER_NAME}`);
      io.out(removed.status === 0 ? `removed MCP server "${MCP_SERVER_NAME}" from Claude Code (user scope)` : `unchanged: ${(removed.stderr || removed.stdout).trim()}`);
      return 0;
    },
  },
  {
    name: 'claude-code doctor',
    summary: 'check that Claude Code sends its events: settings, hooks, scripts, curl, daemon',
    usage: 'switchboard claude-code doctor [--project <dir>] [--json]',
    description:
      'Checks that the settings file parses and holds Switchboard\'s hook for every event and its status line, that the ' +
      'hook scripts are there, executable and post to the configured port, that the spool is writable, that curl is on ' +
      'PATH, and that the daemon answers /hooks — and for each problem, what to do.',
    options: {
      project: { type: 'string', value: 'dir', help: "check this project's .claude/settings.json instead of your user settings" },
      json: { type: 'boolean', help: 'print the checks as JSON' },
    },
    async run(values, _positionals, { io, home }) {
      const config = loadConfig(home);
      const target = {
        userHome: userHomeOf(io.env),
        project: values.project === undefined ? undefined : resolve(values.project as string),
        claudeConfigDir: io.env.CLAUDE_CONFIG_DIR || undefined,
      };
      const checks = await doctorClaudeCode({ home, ...target, apiPort: config.api.port, apiHost: config.api.host, env: io.env });
      if (values.json) io.out(JSON.stringify({ settingsFile: settingsFileOf(target), checks }, null, 2));
      else for (const line of formatChecks(checks)) io.out(line);
      return checks.every((check) => check.ok) ? 0 : 1;
    },
  },
  {
    name: 'status',
    summary: "the daemon's status, through the local API",
    usage: 'switchboard status [--json]',
    description: 'GET /api/status with the token: the daemon, the hub link, the journal, the inbox and the API clients.',
    options: { json: { type: 'boolean', help: 'print the status as JSON' } },
    async run(values, _positionals, { io, home }) {
      const api = await apiOf(home, io);
      const body = await api.request('GET', '/api/status');
      if (values.json) io.out(JSON.stringify(body, null, 2));
      else for (const line of formatStatus(body)) io.out(line);
      return 0;
    },
  },
  {
    name: 'send',
    summary: 'send a message through the local API',
    usage: 'switchboard send --from <id> --to <id|all> [--type <type>] [--require-ack] <text>...',
    description:
      'POST /api/send as the API client --from, to a client id, "all" (broadcast) or a Switchboard address ' +
      '(claude-code:laptop/5f0c…, topic:builds). The words after the options are the text. Prints the message id.',
    options: {
      from: { type: 'string', value: 'id', help: 'the client id to send as (required)' },
      to: { type: 'string', value: 'id|all', help: 'a client id, "all", or a Switchboard address (required)' },
      type: { type: 'string', value: 'type', help: 'the message type: message, request, response, command… (default: message)' },
      'require-ack': { type: 'boolean', help: 'ask the recipient to acknowledge' },
    },
    positionals: 'text',
    async run(values, positionals, { io, home, usage }) {
      if (!values.from) return usage('--from <id> is required');
      if (!values.to) return usage('--to <id|all> is required');
      if (positionals.length === 0) return usage('the text to send is required');
      const api = await apiOf(home, io);
      const body = await api.request('POST', '/api/send', {
        from: values.from,
        to: values.to,
        ...(values.type ? { type: values.type } : {}),
        payload: positionals.join(' '),
        ...(values['require-ack'] ? { require_ack: true } : {}),
      });
      io.out(`sent ${(body as { message_id?: unknown }).message_id}`);
      return 0;
    },
  },
  {
    name: 'tail',
    summary: "print the host's events, or one client's messages, as they come",
    usage: 'switchboard tail [--client <id>] [--limit <n>]',
    description:
      'Without --client: the host events (GET /stream/events), one line each. With --client: connects as that API client ' +
      '(WS /ws/<id>) and prints each message it receives. Runs until Ctrl-C, or --limit lines.',
    options: {
      client: { type: 'string', value: 'id', help: "print this client's messages (it becomes present: broadcasts reach it)" },
      limit: { type: 'string', value: 'n', help: 'stop after n lines' },
    },
    async run(values, _positionals, { io, home, usage }) {
      let limit = Number.POSITIVE_INFINITY;
      if (values.limit !== undefined) {
        limit = Number(values.limit);
        if (!Number.isInteger(limit) || limit < 1) return usage(`--limit: expected a positive whole number, got ${JSON.stringify(values.limit)}`);
      }
      const api = await apiOf(home, io);
      return values.client ? tailClient(api, values.client as string, limit, io) : tailEvents(api, limit, io);
    },
  },
  {
    name: 'daemon',
    summary: 'run the daemon in the foreground',
    usage: 'switchboard daemon',
    description:
      'Runs the host daemon in this terminal, logging to stderr, until Ctrl-C. The browser starts it by itself in the ' +
      'background; run it here to watch it, or to find out why it does not start.',
    options: {},
    async run(_values, _positionals, { io, home }) {
      // Loaded only here: the rest of the CLI does not need the daemon's parts.
      const { startDaemon, AlreadyRunning } = await import('./daemon');
      let daemon;
      try {
        daemon = await startDaemon({ home, log: (line) => io.err(`${new Date().toISOString()} ${line}`) });
      } catch (error) {
        if (error instanceof AlreadyRunning) {
          io.err(`switchboard daemon: ${error.message}`);
          return 1;
        }
        throw error;
      }
      io.err(`API on port ${daemon.apiPort}; Ctrl-C stops the daemon`);
      await aborted(io.signal);
      io.err('stopping');
      await daemon.stop();
      return 0;
    },
  },
  {
    name: 'config',
    summary: 'print the effective configuration and where it came from',
    usage: 'switchboard config',
    description:
      'Prints <home>/config.json merged over the defaults, and which settings the file gives. Every key is documented in native-host/config.ts. ' +
      'Fails, naming the file and the field, when claudeCode.pricesFile names a price file that cannot be used.',
    options: {},
    async run(_values, _positionals, { io, home }) {
      const { config, file, found, fromFile } = loadConfigWithOrigin(home);
      io.out(
        found
          ? `# ${file}: ${fromFile.length ? `sets ${fromFile.join(', ')}` : 'sets nothing'}; everything else is a default`
          : `# ${file} does not exist: every setting is a default`,
      );
      io.out(JSON.stringify(config, null, 2));
      // The price file is read by the daemon, which prices with the bundled table when it is wrong: say so here.
      const prices = pricesFilePath(home, config);
      if (prices !== undefined) {
        try {
          readPriceFile(prices);
        } catch (error) {
          io.err(`switchboard config: claudeCode.pricesFile: ${(error as Error).message}`);
          return 1;
        }
      }
      return 0;
    },
  },
];

// ---------------------------------------------------------------------------------------------
// Parsing and help

const GROUPS = new Set(COMMANDS.filter((command) => command.name.includes(' ')).map((command) => command.name.split(' ')[0]));

function generalHelp(): string[] {
  const width = Math.max(...COMMANDS.map((command) => command.name.length)) + 3;
  return [
    "switchboard — the command line of Switchboard's native host: install it, check it, send and watch messages.",
    '',
    'Usage: switchboard <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((command) => `  ${command.name.padEnd(width)}${command.summary}`),
    '',
    'Options for every command:',
    ...optionLines(COMMON_OPTIONS),
    '',
    'Run `switchboard <command> --help` for what a command does and its options. Exit codes: 0 ok, 1 failure, 2 usage.',
  ];
}

function groupHelp(group: string): string[] {
  const commands = COMMANDS.filter((command) => command.name.startsWith(`${group} `));
  const width = Math.max(...commands.map((command) => command.name.length)) + 3;
  return [
    `Usage: switchboard ${group} <command> [options]`,
    '',
    'Commands:',
    ...commands.map((command) => `  ${command.name.padEnd(width)}${command.summary}`),
    '',
    `Run \`switchboard ${group} <command> --help\` for a command's options.`,
  ];
}

function commandHelp(command: Command): string[] {
  return [`Usage: ${command.usage}`, '', ...wrap(command.description, 100), '', 'Options:', ...optionLines({ ...command.options, ...COMMON_OPTIONS })];
}

function optionLines(options: Record<string, OptionSpec>): string[] {
  const label = (name: string, spec: OptionSpec) => `${spec.short ? `-${spec.short}, ` : ''}--${name}${spec.value ? ` <${spec.value}>` : ''}`;
  const width = Math.max(...Object.entries(options).map(([name, spec]) => label(name, spec).length)) + 3;
  return Object.entries(options).map(([name, spec]) => `  ${label(name, spec).padEnd(width)}${spec.help}`);
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + word.length + 1 > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/** Runs the command `argv` names; returns the exit code. Errors are printed, never thrown. */
export async function runCli(argv: string[], partialIo: Partial<CliIo> = {}): Promise<number> {
  const io: CliIo = {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    env: process.env,
    ...partialIo,
  };
  const [first, second] = argv;
  if (first === undefined) {
    for (const line of generalHelp()) io.err(line);
    return 2;
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    const topic = argv.slice(1).join(' ');
    const command = COMMANDS.find((candidate) => candidate.name === topic);
    if (command) for (const line of commandHelp(command)) io.out(line);
    else if (GROUPS.has(topic)) for (const line of groupHelp(topic)) io.out(line);
    else if (topic) {
      io.err(`switchboard: no command "${topic}"; run \`switchboard --help\``);
      return 2;
    } else for (const line of generalHelp()) io.out(line);
    return 0;
  }
  if (GROUPS.has(first) && (second === undefined || second === '--help' || second === '-h')) {
    for (const line of groupHelp(first)) (second ? io.out : io.err)(line);
    return second ? 0 : 2;
  }
  const grouped = GROUPS.has(first);
  const name = grouped ? `${first} ${second}` : first;
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (!command) {
    io.err(
      grouped
        ? `switchboard ${first}: no command "${second}"; run \`switchboard ${first} --help\``
        : `switchboard: no command "${first}"; run \`switchboard --help\` for the list`,
    );
    return 2;
  }
  const rest = argv.slice(grouped ? 2 : 1);

  const usage = (message: string) => {
    io.err(`switchboard ${command.name}: ${message}`);
    io.err(`Usage: ${command.usage}   (see \`switchboard ${command.name} --help\`)`);
    return 2;
  };
  let parsed: { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] };
  try {
    const options = Object.fromEntries(
      Object.entries({ ...command.options, ...COMMON_OPTIONS }).map(([name, spec]) => [
        name,
        { type: spec.type, ...(spec.multiple ? { multiple: true } : {}), ...(spec.short ? { short: spec.short } : {}) },
      ]),
    );
    // Each option is declared with one type, so a value is a string, a boolean, or a list of strings.
    parsed = parseArgs({ args: rest, options, allowPositionals: command.positionals !== undefined, strict: true }) as typeof parsed;
  } catch (error) {
    return usage((error as Error).message);
  }
  if (parsed.values.help) {
    for (const line of commandHelp(command)) io.out(line);
    return 0;
  }
  const home = resolve((parsed.values.home as string | undefined) ?? defaultHome(io.env));
  try {
    return await command.run(parsed.values, parsed.positionals, { io, home, usage });
  } catch (error) {
    io.err(`switchboard ${command.name}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

// ---------------------------------------------------------------------------------------------
// Printing

/** One line per action; `verb` says what happened when `what` does not (install's "wrote"/"unchanged"). */
function printActions(io: CliIo, report: Pick<InstallReport, 'actions' | 'notes'>, verb?: (action: InstallReport['actions'][number]) => string): void {
  const width = Math.max(0, ...report.actions.map((action) => action.what.length)) + 2;
  for (const action of report.actions) {
    io.out(`${verb ? verb(action).padEnd(10) : ''}${action.what.padEnd(width)}${action.path}`);
  }
  for (const note of report.notes) io.out(`note: ${note}`);
}

export function formatChecks(checks: readonly (Omit<Check, 'name'> & { name: string })[]): string[] {
  const width = Math.max(...checks.map((check) => check.name.length)) + 2;
  const lines: string[] = [];
  for (const check of checks) {
    const mark = check.ok ? 'ok  ' : check.skipped ? '--  ' : 'FAIL';
    lines.push(`${mark} ${check.name.padEnd(width)}${check.detail}`);
    if (check.fix) lines.push(`     ${''.padEnd(width)}fix: ${check.fix}`);
  }
  const broken = checks.find((check) => !check.ok && !check.skipped);
  lines.push(broken ? `the first broken link: ${broken.name}` : 'every link holds');
  return lines;
}

const StatusBody = z.looseObject({
  version: z.string(),
  device: z.string(),
  startedAt: z.number(),
  hubConnected: z.boolean(),
  journal: z.looseObject({ records: z.number(), bytes: z.number(), writable: z.boolean() }),
  inbox: z.looseObject({ messages: z.number() }),
  api: z.looseObject({ port: z.number(), clients: z.array(z.string()).optional(), websockets: z.number().optional(), eventStreams: z.number().optional() }).optional(),
  webhooks: z.looseObject({ failures: z.array(z.unknown()) }).optional(),
});

function formatStatus(body: unknown): string[] {
  const parsed = StatusBody.safeParse(body);
  if (!parsed.success) return [`the API answered a status this version does not know: ${JSON.stringify(body)}`];
  const status = parsed.data;
  const lines = [
    `daemon ${status.version} on device ${status.device}, up since ${new Date(status.startedAt).toISOString()}`,
    `hub: ${status.hubConnected ? 'connected' : 'not connected (start the browser with the extension)'}`,
    `journal: ${status.journal.records} records waiting, ${status.journal.bytes} bytes, ${status.journal.writable ? 'writable' : 'NOT writable'}`,
    `inbox: ${status.inbox.messages} messages`,
  ];
  if (status.api) {
    const clients = status.api.clients ?? [];
    lines.push(`api: port ${status.api.port}, ${clients.length} clients connected${clients.length ? ` (${clients.join(', ')})` : ''}, ${status.api.eventStreams ?? 0} event streams`);
  }
  if (status.webhooks) lines.push(`webhooks: ${status.webhooks.failures.length} failures kept`);
  return lines;
}

// ---------------------------------------------------------------------------------------------
// The local API

interface ApiClient {
  base: string;
  token: string;
  request(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown>;
}

/** The API's address from config.json — or from the daemon, when the config lets it pick a port. */
async function apiOf(home: string, io: CliIo): Promise<ApiClient> {
  const api = await resolveApi(home);
  return {
    ...api,
    request: (method, path, body) =>
      apiRequest(api, method, path, body, io.signal ? AbortSignal.any([io.signal, AbortSignal.timeout(30_000)]) : AbortSignal.timeout(30_000)),
  };
}

/** SSE: `event: <type>` and `data: <json>` lines, a blank line between events, `:` comments. */
async function tailEvents(api: ApiClient, limit: number, io: CliIo): Promise<number> {
  const controller = new AbortController();
  const stop = () => controller.abort();
  io.signal?.addEventListener('abort', stop, { once: true });
  let printed = 0;
  try {
    let response: Response;
    try {
      response = await fetch(`${api.base}/stream/events`, { headers: { Authorization: `Bearer ${api.token}` }, signal: controller.signal });
    } catch (error) {
      if (io.signal?.aborted) return 0;
      throw unreachable(api.base, error);
    }
    if (!response.ok || !response.body) throw new Error(`GET /stream/events answered ${response.status}: ${(await response.text()).slice(0, 300)}`);
    const decoder = new TextDecoder();
    let buffered = '';
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffered += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffered.indexOf('\n\n')) !== -1) {
          const block = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          const line = eventLine(block);
          if (line === undefined) continue;
          io.out(line);
          if (++printed >= limit) return 0;
        }
      }
    } catch (error) {
      if (controller.signal.aborted) return 0;
      throw error;
    }
    if (io.signal?.aborted) return 0;
    io.err('the event stream ended (the daemon stopped?)');
    return 1;
  } finally {
    io.signal?.removeEventListener('abort', stop);
    controller.abort();
  }
}

function eventLine(block: string): string | undefined {
  let type = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue;
    if (line.startsWith('event:')) type = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
  }
  if (data.length === 0) return undefined;
  const text = data.join('\n');
  try {
    const { at, type: _type, ...rest } = JSON.parse(text) as { at?: number; type?: string };
    return `${typeof at === 'number' ? new Date(at).toISOString() : '-'} ${type} ${JSON.stringify(rest)}`;
  } catch {
    return `- ${type} ${text}`;
  }
}

/** WS /ws/<id>: prints each `{type:"message"}`; the rest of the bridge's frames go to stderr or nowhere. */
function tailClient(api: ApiClient, client: string, limit: number, io: CliIo): Promise<number> {
  return new Promise((resolveCode) => {
    const url = `${api.base.replace(/^http/, 'ws')}/ws/${encodeURIComponent(client)}`;
    const socket = new WebSocket(url, { headers: { Authorization: `Bearer ${api.token}` } });
    let printed = 0;
    let finished = false;
    const finish = (code: number, message?: string) => {
      if (finished) return;
      finished = true;
      if (message) io.err(message);
      io.signal?.removeEventListener('abort', stop);
      socket.removeAllListeners();
      socket.on('error', () => {}); // closing a socket still connecting reports an error
      socket.close();
      resolveCode(code);
    };
    const stop = () => finish(0);
    if (io.signal?.aborted) return finish(0);
    io.signal?.addEventListener('abort', stop, { once: true });
    socket.on('unexpected-response', (_request, response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let reason = text;
        try {
          reason = (JSON.parse(text) as { error?: string }).error ?? text;
        } catch {
          // plain text
        }
        finish(1, `WS /ws/${client} answered ${response.statusCode}: ${reason.slice(0, 300)}`);
      });
    });
    socket.on('error', (error: NodeJS.ErrnoException) => finish(1, unreachable(api.base, { cause: error }).message));
    socket.on('close', () => finish(io.signal?.aborted ? 0 : 1, 'the connection closed (the daemon stopped?)'));
    socket.on('message', (data) => {
      let frame: { type?: string; message?: Record<string, unknown>; error?: string; client_id?: string };
      try {
        frame = JSON.parse(String(data));
      } catch {
        return io.err(`not JSON from the API: ${String(data).slice(0, 200)}`);
      }
      if (frame.type === 'connection_confirmed') io.err(`listening as ${frame.client_id ?? client}`);
      else if (frame.type === 'error') io.err(`error: ${frame.error}`);
      else if (frame.type === 'message' && frame.message) {
        io.out(messageLine(frame.message));
        if (++printed >= limit) finish(0);
      }
    });
  });
}

function messageLine(message: Record<string, unknown>): string {
  const payload = typeof message.payload === 'string' ? message.payload : JSON.stringify(message.payload);
  return `${message.timestamp} ${message.from} → ${message.to} [${message.type}] ${payload}`;
}

function aborted(signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return new Promise(() => {});
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolveAbort) => signal.addEventListener('abort', () => resolveAbort(), { once: true }));
}

// ---------------------------------------------------------------------------------------------
// As a process

/** Runs the CLI for this process: Ctrl-C and SIGTERM end long commands cleanly; sets the exit code. */
export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  // `switchboard tail | head`: the reader went away; that is the end, not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const code = await runCli(argv, { signal: controller.signal });
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  process.exitCode = code;
}

function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return pathToFileURL(realpathSync(entry)).href === import.meta.url;
  } catch {
    return false;
  }
}

if (isEntryPoint()) void main();
