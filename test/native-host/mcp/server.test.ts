/**
 * The MCP server driven by the SDK's own client, against the real local API (with an in-memory
 * core playing the hub): what each tool answers, that reading does not consume, that a reply closes
 * the loop, and that bad input comes back as a tool error saying what was wrong.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startApi, type RunningApi } from '../../../native-host/api/server';
import { HostMetrics } from '../../../native-host/metrics';
import { AgentClient } from '../../../native-host/mcp/agent-client';
import { createSwitchboardMcp } from '../../../native-host/mcp/server';
import { MemoryHostCore, envelopeFor } from '../../support/memory-host-core';
import { newMessageId } from '../../../src/protocol/envelope';

const TOKEN = 'test-token-mcp';
const SESSION = 'claude-code:local/5f0c-session';
const ASKER = 'claude-ai:local/chat-1';
const UNKNOWN = newMessageId();

let core: MemoryHostCore;
let api: RunningApi;
let client: Client;

async function connect(options: { agent?: string; pids?: number[] } = {}) {
  const server = createSwitchboardMcp({
    client: new AgentClient({ base: `http://127.0.0.1:${api.port}`, token: TOKEN }),
    agent: options.agent,
    version: 'test',
    pids: () => options.pids ?? [4300, 4242],
  });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  client = new Client({ name: 'test', version: '1' });
  await client.connect(clientSide);
}

async function call(name: string, args: Record<string, unknown> = {}) {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  const text = (result.content[0] as { text: string }).text;
  return { isError: result.isError ?? false, text, data: result.isError ? undefined : JSON.parse(text) };
}

beforeEach(async () => {
  core = new MemoryHostCore();
  core.sessionPids.set(4242, SESSION);
  api = await startApi({ core, token: TOKEN, port: 0, metrics: new HostMetrics({ processMetrics: false }) });
});

afterEach(async () => {
  await client?.close();
  await api.close();
});

describe('the Switchboard MCP server', () => {
  it('offers its tools, with instructions that say other agents are not the person', async () => {
    await connect();
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['ack', 'list_agents', 'read_inbox', 'read_message', 'reply', 'send_message', 'wait_for_message']);
    expect(client.getInstructions()).toMatch(/not an instruction from the person you work for/);
  });

  it('lists the agents the hub told, without ended sessions unless asked, and says who it is', async () => {
    core.hubDirectory = {
      type: 'directory',
      at: 1_700_000_100_000,
      agents: [
        { address: SESSION, state: 'working', title: 'Fix the tests' },
        { address: 'claude-code:local/old', state: 'ended' },
        { address: ASKER },
      ],
      destinations: [],
    };
    await connect();
    const listed = await call('list_agents');
    expect(listed.data).toMatchObject({ you: SESSION, hubConnected: true, agents: [{ address: SESSION, kind: 'claude-code', state: 'working' }, { address: ASKER, kind: 'claude-ai' }] });
    expect(listed.data.agents).toHaveLength(2);
    expect((await call('list_agents', { include_ended: true })).data.agents).toHaveLength(3);
    expect((await call('list_agents', { kind: 'claude-ai' })).data.agents.map((a: { address: string }) => a.address)).toEqual([ASKER]);
  });

  it('sends as its session; "ask X, answer to Y" sets replyTo', async () => {
    await connect();
    const sent = await call('send_message', { to: 'claude-ai:local/chat-2', text: 'Summarise the diff', reply_to: ASKER });
    expect(sent.data).toMatchObject({ from: SESSION, answersGoTo: ASKER });
    expect(core.submitted[0]).toMatchObject({ id: sent.data.sent, from: SESSION, to: ['claude-ai:local/chat-2'], replyTo: ASKER, kind: 'prompt', body: { text: 'Summarise the diff' } });
    await call('send_message', { to: ['topic:builds', 'broadcast'], text: 'green', kind: 'status' });
    expect(core.submitted[1]).toMatchObject({ from: SESSION, to: ['topic:builds', 'broadcast'], kind: 'status' });
    expect(core.submitted[1].replyTo).toBeUndefined(); // the bus makes it the sender
  });

  it('reads its inbox without using it up, waits for a message, and replies to close the loop', async () => {
    await connect();
    const asked = core.deliver(SESSION, envelopeFor({ from: ASKER, to: [SESSION], body: { text: 'What is 6 × 7?' } }));
    const first = await call('read_inbox');
    expect(first.data.messages).toMatchObject([{ id: asked.envelope.id, from: ASKER, text: 'What is 6 × 7?', read: false, untrusted: true }]);
    expect((await call('read_inbox')).data.messages).toHaveLength(1);

    const waiting = call('wait_for_message', { after: asked.seq, timeout_seconds: 10 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const next = core.deliver(SESSION, envelopeFor({ from: ASKER, to: [SESSION], body: { text: 'And 6 × 8?' } }));
    expect((await waiting).data.message).toMatchObject({ id: next.envelope.id, text: 'And 6 × 8?' });

    const replied = await call('reply', { message_id: asked.envelope.id, text: '42' });
    expect(replied.data).toMatchObject({ to: asked.envelope.id, acked: true });
    expect(core.submitted.at(-1)).toMatchObject({ from: SESSION, to: [ASKER], inReplyTo: asked.envelope.id, kind: 'reply', body: { text: '42' } });
    expect(core.acks).toContainEqual({ messageId: asked.envelope.id, recipient: SESSION });
    // What the tools showed it counts as read: listed still, never put into the session again by a hook.
    expect((await call('read_inbox', { unread_only: true })).data.messages).toEqual([]);
    expect((await call('read_inbox')).data.messages.map((m: { id: string; read: boolean }) => [m.id, m.read])).toEqual([
      [asked.envelope.id, true],
      [next.envelope.id, true],
    ]);
    expect(core.marked.flatMap((m) => m.ids)).toEqual([asked.envelope.id, next.envelope.id]);
    await call('ack', { message_id: next.envelope.id });
    expect(core.acks).toContainEqual({ messageId: next.envelope.id, recipient: SESSION });
    const none = await call('wait_for_message', { timeout_seconds: 1 });
    expect(none.data, none.text).toMatchObject({ message: null, note: 'no message within 1 s' });
  });

  it('reads a long message whole', async () => {
    await connect();
    const long = core.deliver(SESSION, envelopeFor({ from: ASKER, to: [SESSION], body: { text: 'y'.repeat(30_000) } }));
    expect((await call('read_message', { message_id: long.envelope.id })).data.text).toHaveLength(30_000);
  });

  it('speaks as --agent when given (Claude Desktop)', async () => {
    await connect({ agent: 'api:local/claude-desktop', pids: [] });
    await call('send_message', { to: SESSION, text: 'hi' });
    expect(core.submitted[0]).toMatchObject({ from: 'api:local/claude-desktop' });
  });

  it('answers bad input and a missing session with a tool error that says what was wrong', async () => {
    await connect({ pids: [999] });
    const lost = await call('read_inbox');
    expect(lost).toMatchObject({ isError: true, text: expect.stringMatching(/no Claude Code session has run a Switchboard hook from process 999/) });
    await client.close();
    await connect();
    const badAddress = await call('send_message', { to: 'nobody', text: 'x' });
    expect(badAddress.isError).toBe(true);
    expect(badAddress.text).toMatch(/expected an agent address/);
    expect((await call('reply', { message_id: UNKNOWN, text: 'x' })).text).toContain(`has no message ${UNKNOWN}`);
    expect((await call('ack', { message_id: UNKNOWN })).isError).toBe(true);
    expect(core.submitted).toHaveLength(0);
  });

  it('says the daemon is not there when it is not', async () => {
    await api.close();
    await connect();
    const down = await call('read_inbox');
    expect(down).toMatchObject({ isError: true, text: expect.stringMatching(/nothing answers at http:\/\/127\.0\.0\.1:\d+.*is the daemon running/) });
    api = await startApi({ core, token: TOKEN, port: 0, metrics: new HostMetrics({ processMetrics: false }) });
  });
});
