/**
 * Claude Code sessions as agents (issue 5), for real: the built extension in Chromium, the host
 * installed and launched by it, `claude-code install` into a temporary HOME, and the real `claude`
 * CLI against the fake Messages API. Its hook events travel hook script → daemon (or spool) →
 * journal → hub, where the session appears as an agent with its events.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { launchExtension, waitFor, type ExtensionBrowser } from '../support/extension-browser';
import { installTestHost, type InstalledHost } from '../support/host-fixture';
import { createClaudeHome, type ClaudeHome } from '../support/claude-cli';
import { startFakeAnthropic, type FakeAnthropic } from '../support/fake-anthropic';
import { installClaudeCode } from '../../native-host/claude-code/install';
import type { SessionRecord, StoredHookEvent } from '../../src/storage/events-db';

// A one-shot `claude -p` run ends its session: SessionEnd closes it.
const LIFECYCLE = ['SessionStart', 'UserPromptSubmit', 'PreToolUse', 'PostToolUse', 'Stop', 'SessionEnd'];

describe('Claude Code sessions in the hub', () => {
  let host: InstalledHost;
  let api: FakeAnthropic;
  let claude: ClaudeHome;
  let browser: ExtensionBrowser | undefined;

  const open = async () => (browser = await launchExtension({ profileDir: host.profileDir, env: host.env }));
  const sessionsOf = () => browser!.request<SessionRecord[]>({ type: 'sessions' });
  const eventsOf = (sessionId: string) => browser!.request<StoredHookEvent[]>({ type: 'session-events', sessionId });

  beforeEach(async () => {
    host = await installTestHost();
    api = await startFakeAnthropic();
    claude = await createClaudeHome({ apiUrl: api.url });
    installClaudeCode({ home: host.home, userHome: claude.home, apiPort: host.port });
  });
  afterEach(async () => {
    await browser?.close({ keepProfile: true });
    browser = undefined;
    await claude.cleanup();
    await api.close();
    await host.remove();
  });

  it('shows a run that used a tool as an agent, with its events in order', async () => {
    await open();
    await waitFor(() => browser!.hubStatus(), (s) => s.nativeHost.connected, 30_000, 'the hub to connect to the host');
    api.enqueue({ kind: 'bash', command: 'echo hello > hello.txt', description: 'Say hello' }, { kind: 'text', text: 'Done.' });
    const run = await claude.runPrint('Write hello into a file', { timeoutMs: 60_000 });
    expect(run.exitCode, run.stderr).toBe(0);
    const sessionId = run.result!.session_id;

    const events = await waitFor(() => eventsOf(sessionId), (e) => e.length >= LIFECYCLE.length, 30_000, 'the session events in the hub');
    expect(events.map((e) => e.name)).toEqual(LIFECYCLE);
    expect(events[2].payload).toMatchObject({ tool_name: 'Bash', tool_input: { command: 'echo hello > hello.txt' } });
    const [session] = (await sessionsOf()).filter((s) => s.sessionId === sessionId);
    expect(session).toMatchObject({
      address: `claude-code:local/${sessionId}`,
      project: claude.projectDir,
      title: 'Write hello into a file',
      state: 'ended',
      lastEvent: 'SessionEnd',
      events: 6,
    });
    // The session is an agent the hub knows: broadcast reaches it.
    const receipt = await browser!.request<{ recipients: string[] }>({ type: 'send', message: { from: 'extension:local/popup', to: 'broadcast', body: 'hello, everyone' } });
    expect(receipt.recipients).toContain(session.address);
  });

  it('loses no event of a whole session run while the daemon is down', async () => {
    await open();
    await waitFor(() => browser!.hubStatus(), (s) => s.nativeHost.connected, 30_000, 'the hub to connect to the host');
    // No browser to restart it: the daemon stays down for the whole session.
    await browser!.close({ keepProfile: true });
    browser = undefined;
    await host.killDaemon();

    api.enqueue({ kind: 'bash', command: 'echo offline > offline.txt', description: 'Offline work' }, { kind: 'text', text: 'Done offline.' });
    const run = await claude.runPrint('Work while Switchboard is down', { timeoutMs: 60_000 });
    expect(run.exitCode, run.stderr).toBe(0);
    const sessionId = run.result!.session_id;

    await open(); // the browser starts the shim, the shim the daemon, the daemon drains its spool
    const events = await waitFor(() => eventsOf(sessionId), (e) => e.length >= LIFECYCLE.length, 30_000, 'the spooled events in the hub');
    expect(events.map((e) => e.name)).toEqual(LIFECYCLE);
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
  });
});
