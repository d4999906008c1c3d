/**
 * `mcp.mjs`: Switchboard's MCP server on stdio (mcp/server.ts), as Claude Code and Claude Desktop
 * start it — `node <home>/host/mcp.mjs [--home <dir>] [--agent <address>]`. Logs go to stderr;
 * stdout is the protocol's.
 */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { parseArgs } from 'node:util';
import { AgentAddress } from '../src/protocol/address';
import { parseOrThrow } from '../src/protocol/envelope';
import { resolveApi } from './api-client';
import { defaultHome } from './config';
import { AgentClient } from './mcp/agent-client';
import { createSwitchboardMcp } from './mcp/server';
import { HOST_VERSION } from './version';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { home: { type: 'string' }, agent: { type: 'string' } } });
  const home = values.home ?? defaultHome();
  const agent = values.agent === undefined ? undefined : parseOrThrow(AgentAddress, values.agent, '--agent');
  const client = new AgentClient(await resolveApi(home));
  const server = createSwitchboardMcp({ client, agent, version: HOST_VERSION });
  await server.connect(new StdioServerTransport());
  // Given its own address (Claude Desktop), it is an agent from now on: the hub lists it. A session is known from its hooks.
  if (agent) await client.present(agent).catch((error: Error) => process.stderr.write(`switchboard MCP server: ${error.message}\n`));
}

main().catch((error: unknown) => {
  process.stderr.write(`switchboard MCP server: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
