/**
 * Switchboard's MCP server for real (issue 5): the built `mcp.mjs` installed by the host, started
 * over stdio — by the SDK's own client, and by the real `claude` CLI — against the daemon the
 * browser launched, with the hub in a real Chromium on the other side.
 */
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { launchExtension, waitFor, type ExtensionBrowser } from '../support/extension-browser';
import { installTestHost, type InstalledHost } from '../support/host-fixture';
import { createClaudeHome, type ClaudeHome } from '../support/claude-cli';
import { requestText, startFakeAnthropic, type FakeAnthropic } from '../support/fake-anthropic';
import { installClaudeCode } from '../../native-host/claude-code/install';
import { mcpServerEntry } from '../../native-host/mcp/install';
import type { MessageStatus } from '../../src/bus/bus';
import type { StoredEntry } from '../../src/bus/ports';
import type { StoredHookEvent } from '../../src/storage/events-db';

describe('the MCP server with a real hub', () => {
  let host: InstalledHost;
  let browser: ExtensionBrowser | undefined;
  let client: Client | undefined;

  const open = async () => {
    browser = await launchExtension({ profileDir: host.profileDir, env: host.env });
    await waitFor(() => browser!.hubStatus(), (s) => s.nativeHost.connected, 30_000, 'the hub to connect to the host');
  };
  const statusOf = (id: string) => browser!.request<MessageStatus>({ type: 'status', id });
  const call = async (name: string, args: Record<string, unknown> = {}) => {
    const result = (await client!.callTool({ name, arguments: args })) as CallToolResult;
    const text = (result.content[0] as { text: string }).text;
    if (result.isError) throw new Error(`${name} failed: ${text}`);
    return JSON.parse(text);
  };

  beforeEach(async () => {
    host = await installTestHost();
  });
  afterEach(async () => {
    await client?.close();
    client = undefined;
    await browser?.close({ keepProfile: true });
    browser = undefined;
    await host.remove();
  });

  it('driven by the SDK client: lists agents, reads without consuming, waits, replies (delivered → acked), sends, and the holds show in /recovery/status', async () => {
    await open();
    const me = 'api:local/mcp-e2e';
    const entry = mcpServerEntry(host.home, process.execPath, me);
    client = new Client({ name: 'switchboard-e2e', version: '1' });
    await client.connect(new StdioClientTransport({ command: entry.command, args: entry.args, env: { ...host.env, PATH: process.env.PATH ?? '' }, stderr: 'pipe' }));

    // A question from an extension page, answers to go to the popup.
    const asked = await browser!.request<{ id: string }>({ type: 'send', message: { from: 'extension:local/e2e-page', to: me, replyTo: 'extension:local/popup', body: 'What is 6 × 7? (mcp-e2e)', ackRequired: true } });
    await waitFor(() => statusOf(asked.id), (s) => s.deliveries[0]?.state === 'delivered', 20_000, 'the question in the host inbox');

    const listed = await waitFor(() => call('list_agents'), (l) => l.agents.some((a: { address: string }) => a.address === 'extension:local/e2e-page'), 20_000, 'the hub directory');
    expect(listed).toMatchObject({ you: me, hubConnected: true });
    expect(listed.agents.map((a: { address: string }) => a.address)).toEqual(expect.arrayContaining([me, 'extension:local/e2e-page']));

    const inbox = await call('read_inbox');
    expect(inbox.messages).toMatchObject([{ id: asked.id, from: 'extension:local/e2e-page', replyTo: 'extension:local/popup', text: 'What is 6 × 7? (mcp-e2e)', read: false, untrusted: true }]);
    expect((await call('read_inbox')).messages).toHaveLength(1); // not consumed

    const waiting = call('wait_for_message', { after: inbox.messages[0].seq, timeout_seconds: 30 });
    const second = await browser!.request<{ id: string }>({ type: 'send', message: { from: 'extension:local/e2e-page', to: me, body: 'And 6 × 8?' } });
    expect((await waiting).message).toMatchObject({ id: second.id, text: 'And 6 × 8?' });

    const replied = await call('reply', { message_id: asked.id, text: 'Forty-two.' });
    const answered = await waitFor(() => statusOf(asked.id), (s) => s.deliveries[0]?.state === 'acked', 20_000, 'the question acked');
    expect(answered.deliveries[0].history.map((h) => h.state)).toEqual(expect.arrayContaining(['sent', 'delivered', 'acked']));
    const reply = await waitFor(() => statusOf(replied.replied).catch(() => undefined), Boolean, 20_000, 'the reply in the hub');
    expect(reply!.message).toMatchObject({ from: me, to: ['extension:local/popup'], inReplyTo: asked.id, kind: 'reply', body: { text: 'Forty-two.' } });

    const sent = await call('send_message', { to: 'test:local/mcp-sink', text: 'from MCP', kind: 'note' });
    await waitFor(() => statusOf(sent.sent).catch(() => undefined), (s) => s?.deliveries[0]?.state === 'delivered', 20_000, 'the MCP message delivered');

    // A hold made in the hub shows in the host's recovery view, with its reason and release time.
    const until = Date.now() + 3_600_000;
    await browser!.request({ type: 'hold', hold: { address: 'claude-code:local/held-session', strategy: 'session_pause', reason: 'e2e: usage limit', until } });
    const recovery = await waitFor(
      async () => (await fetch(`http://127.0.0.1:${host.port}/recovery/status`, { headers: { Authorization: `Bearer ${host.token}` } })).json(),
      (r) => r.holds.some((h: { address: string }) => h.address === 'claude-code:local/held-session'),
      20_000,
      'the hold in /recovery/status',
    );
    expect(recovery.holds.find((h: { address: string }) => h.address === 'claude-code:local/held-session')).toMatchObject({ strategy: 'session_pause', reason: 'e2e: usage limit', releaseAt: until });
  });

  describe('started by the real claude CLI', () => {
    let api: FakeAnthropic;
    let claude: ClaudeHome;

    beforeEach(async () => {
      api = await startFakeAnthropic();
      claude = await createClaudeHome({ apiUrl: api.url });
      installClaudeCode({ home: host.home, userHome: claude.home, apiPort: host.port });
    });
    afterEach(async () => {
      await claude.cleanup();
      await api.close();
    });

    it('knows its session without being told, reads the mail, and its reply closes the loop once', async () => {
      await open();
      const sessionId = randomUUID();
      const address = `claude-code:local/${sessionId}`;
      const asked = await browser!.request<{ id: string }>({ type: 'send', message: { from: 'extension:local/popup', to: address, body: 'What is 6 × 7? (probe-mcp-read)', ackRequired: true } });
      await waitFor(() => statusOf(asked.id), (s) => s.deliveries[0]?.state === 'sent', 20_000, 'the message held for the session');

      const config = join(claude.home, 'switchboard-mcp.json');
      await writeFile(config, JSON.stringify({ mcpServers: { switchboard: mcpServerEntry(host.home, process.execPath) } }));
      api.enqueue(
        { kind: 'tool', name: 'mcp__switchboard__read_inbox', input: {} },
        { kind: 'tool', name: 'mcp__switchboard__reply', input: { message_id: asked.id, text: 'Forty-two, through MCP.' } },
        { kind: 'text', text: 'Answered through Switchboard.' },
      );
      const run = await claude.runPrint('Deal with your Switchboard mail', {
        timeoutMs: 90_000,
        args: ['--session-id', sessionId, '--mcp-config', config, '--strict-mcp-config'],
        allowedTools: ['mcp__switchboard__read_inbox', 'mcp__switchboard__reply'],
      });
      expect(run.result, run.stderr).toMatchObject({ is_error: false, session_id: sessionId });

      // The tool's answer, in the request after it, holds the mail: the server found its session by itself.
      const toolResults = api.turnRequests().map(requestText).filter((text) => text.includes('"untrusted": true'));
      expect(toolResults.some((text) => text.includes('probe-mcp-read') && text.includes(`"you": "${address}"`))).toBe(true);
      await waitFor(() => statusOf(asked.id), (s) => s.deliveries[0]?.state === 'acked', 30_000, 'the mail acked');
      // The host journals in order and the hub commits in order: once SessionEnd is in the hub, so is
      // any answer the Stop before it could have sent.
      await waitFor(
        () => browser!.request<StoredHookEvent[]>({ type: 'session-events', sessionId }),
        (events) => events.some((e) => e.name === 'SessionEnd'),
        30_000,
        'the session end in the hub',
      );
      const answers = (await browser!.request<StoredEntry[]>({ type: 'list', agent: 'extension:local/popup' })).filter((e) => e.message.inReplyTo === asked.id);
      // The MCP reply, and not the turn's last words as a second one.
      expect(answers.map((e) => e.message.body.text)).toEqual(['Forty-two, through MCP.']);
      expect(answers[0].message).toMatchObject({ from: address, kind: 'reply' });
    });
  });
});
