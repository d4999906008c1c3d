/**
 * Claude Code sessions as agents (issue 5), for real: the built extension in Chromium, the host
 * installed and launched by it, `claude-code install` into a temporary HOME, and the real `claude`
 * CLI against the fake Messages API. Its hook events travel hook script → daemon (or spool) →
 * journal → hub, where the session appears as an agent with its events.
 */
import { describe, expect, it } from 'vitest';
import { useClaudeCodeRig } from '../support/claude-code-rig';
import { createClaudeHome } from '../support/claude-cli';
import { installClaudeCode } from '../../native-host/claude-code/install';
import { waitFor } from '../support/extension-browser';
import type { SessionRecord, StoredHookEvent } from '../../src/storage/events-db';
import type { MessageStatus } from '../../src/bus/bus';
import type { StoredEntry } from '../../src/bus/ports';
import type { DestinationRecord } from '../../src/bus/destinations';
import { requestText } from '../support/fake-anthropic';
import { RESUME_TEXT } from '../../src/adapters/claude-code/rate-limits';

// A one-shot `claude -p` run ends its session: SessionEnd closes it.
const LIFECYCLE = ['SessionStart', 'UserPromptSubmit', 'PreToolUse', 'PostToolUse', 'Stop', 'SessionEnd'];

describe('Claude Code sessions in the hub', () => {
  const rig = useClaudeCodeRig();

  const open = async () => (await rig.open());
  const sessionsOf = () => rig.browser!.request<SessionRecord[]>({ type: 'sessions' });
  const eventsOf = (sessionId: string) => rig.browser!.request<StoredHookEvent[]>({ type: 'session-events', sessionId });


  it('shows a run that used a tool as an agent, with its events in order', async () => {
    await open();
    await waitFor(() => rig.browser!.hubStatus(), (s) => s.nativeHost.connected, 30_000, 'the hub to connect to the host');
    rig.api.enqueue({ kind: 'bash', command: 'echo hello > hello.txt', description: 'Say hello' }, { kind: 'text', text: 'Done.' });
    const run = await rig.claude.runPrint('Write hello into a file', { timeoutMs: 60_000 });
    expect(run.exitCode, run.stderr).toBe(0);
    const sessionId = run.result!.session_id;

    const events = await waitFor(() => eventsOf(sessionId), (e) => e.length >= LIFECYCLE.length, 30_000, 'the session events in the hub');
    expect(events.map((e) => e.name)).toEqual(LIFECYCLE);
    expect(events[2].payload).toMatchObject({ tool_name: 'Bash', tool_input: { command: 'echo hello > hello.txt' } });
    const [session] = (await sessionsOf()).filter((s) => s.sessionId === sessionId);
    expect(session).toMatchObject({
      address: `claude-code:local/${sessionId}`,
      project: rig.claude.projectDir,
      title: 'Write hello into a file',
      state: 'ended',
      lastEvent: 'SessionEnd',
      events: 6,
    });
    // The session is an agent the hub knows: broadcast reaches it.
    const receipt = await rig.browser!.request<{ recipients: string[] }>({ type: 'send', message: { from: 'extension:local/popup', to: 'broadcast', body: 'hello, everyone' } });
    expect(receipt.recipients).toContain(session.address);
  });

  it('loses no event of a whole session run while the daemon is down', async () => {
    await open();
    await waitFor(() => rig.browser!.hubStatus(), (s) => s.nativeHost.connected, 30_000, 'the hub to connect to the host');
    // No browser to restart it: the daemon stays down for the whole session.
    await rig.browser!.close({ keepProfile: true });
    rig.browser = undefined;
    await rig.host.killDaemon();

    rig.api.enqueue({ kind: 'bash', command: 'echo offline > offline.txt', description: 'Offline work' }, { kind: 'text', text: 'Done offline.' });
    const run = await rig.claude.runPrint('Work while Switchboard is down', { timeoutMs: 60_000 });
    expect(run.exitCode, run.stderr).toBe(0);
    const sessionId = run.result!.session_id;

    await open(); // the browser starts the shim, the shim the daemon, the daemon drains its spool
    const events = await waitFor(() => eventsOf(sessionId), (e) => e.length >= LIFECYCLE.length, 30_000, 'the spooled events in the hub');
    expect(events.map((e) => e.name)).toEqual(LIFECYCLE);
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
  });

  it('puts a message into a session during a turn and wakes it when idle; its answers reach the sender, delivered then acked', async () => {
    await open();
    await waitFor(() => rig.browser!.hubStatus(), (s) => s.nativeHost.connected, 30_000, 'the hub to connect to the host');
    const statusOf = (id: string) => rig.browser!.request<MessageStatus>({ type: 'status', id });
    const session = await rig.claude.startStreaming({ timeoutMs: 120_000 });

    // During a turn: the tool runs for a few seconds; the message is sent while it does.
    rig.api.enqueue({ kind: 'bash', command: 'sleep 3', description: 'Take a while' }, { kind: 'text', text: 'Seven.' });
    session.send('Run the slow command');
    const started = await session.waitForEvent((e) => e.type === 'system', { timeoutMs: 30_000 });
    const sessionId = started.session_id!;
    const address = `claude-code:local/${sessionId}`;
    await waitFor(() => eventsOf(sessionId), (e) => e.some((x) => x.name === 'PreToolUse'), 30_000, 'the tool to start');
    const during = await rig.browser!.request<{ id: string }>({ type: 'send', message: { from: 'extension:local/popup', to: address, body: 'What is 3 + 4? (probe-during-turn)', ackRequired: true } });
    await waitFor(() => statusOf(during.id), (s) => s.deliveries[0]?.state === 'sent', 20_000, 'the message held for the session');
    await session.waitForEvent((e) => e.type === 'result', { timeoutMs: 60_000 });
    // The model saw it in the request after the tool's result.
    expect(rig.api.turnRequests().some((r) => requestText(r).includes('probe-during-turn'))).toBe(true);
    const answered = await waitFor(() => statusOf(during.id), (s) => s.deliveries[0]?.state === 'acked', 30_000, 'the answer and the ack');
    expect(answered.deliveries[0].history.map((h) => h.state)).toEqual(expect.arrayContaining(['sent', 'delivered', 'acked']));
    const replies = () => rig.browser!.request<StoredEntry[]>({ type: 'list', agent: 'extension:local/popup' });
    const reply = await waitFor(replies, (list) => list.some((e) => e.message.inReplyTo === during.id), 20_000, 'the reply');
    expect(reply.find((e) => e.message.inReplyTo === during.id)!.message).toMatchObject({ from: address, kind: 'reply', body: { text: 'Seven.' } });

    // Idle: the session waits; a message wakes it.
    const before = rig.api.turnRequests().length;
    rig.api.enqueue({ kind: 'text', text: 'Forty-two.' });
    const idle = await rig.browser!.request<{ id: string }>({ type: 'send', message: { from: 'extension:local/popup', to: address, body: 'What is 6 × 7? (probe-idle-wake)', ackRequired: true } });
    await waitFor(async () => rig.api.turnRequests().slice(before), (r) => r.some((x) => requestText(x).includes('probe-idle-wake')), 60_000, 'the woken turn');
    await waitFor(() => statusOf(idle.id), (s) => s.deliveries[0]?.state === 'acked', 60_000, 'the woken answer and the ack');
    const woken = await waitFor(replies, (list) => list.some((e) => e.message.inReplyTo === idle.id), 20_000, 'the woken reply');
    expect(woken.find((e) => e.message.inReplyTo === idle.id)!.message.body.text).toBe('Forty-two.');
    await session.close();
  });

  it('holds a rate-limited session, then delivers the held message and resumes it once the limit passes', async () => {
    await open();
    await waitFor(() => rig.browser!.hubStatus(), (s) => s.nativeHost.connected, 30_000, 'the hub to connect to the host');
    const session = await rig.claude.startStreaming({ maxRetries: 0, timeoutMs: 120_000 });
    rig.api.enqueue({ kind: 'rate_limit', retryAfterSeconds: 5 });
    session.send('Work until the limit');
    const limited = await session.waitForEvent((e) => e.type === 'result', { timeoutMs: 30_000 });
    expect(limited).toMatchObject({ is_error: true, api_error_status: 429 });
    const address = `claude-code:local/${limited.session_id}`;

    // The interruption is visible: the session is rate-limited, and held on the bus.
    await waitFor(sessionsOf, (list) => list.some((s) => s.address === address && s.state === 'rate-limited'), 20_000, 'the session marked rate-limited');
    const destination = () => rig.browser!.request<DestinationRecord[]>({ type: 'destinations' }).then((all) => all.find((d) => d.address === address));
    expect((await waitFor(destination, (d) => d?.hold !== undefined, 20_000, 'the hold'))!.hold).toMatchObject({ strategy: 'exponential_backoff', reason: expect.stringContaining('rate limit') });

    // A message sent meanwhile waits, then goes in when a probe finds the way open, and wakes the session.
    rig.api.enqueue({ kind: 'text', text: 'Back to work.' });
    const sent = await rig.browser!.request<{ id: string }>({ type: 'send', message: { from: 'extension:local/popup', to: address, body: 'Carry on (probe-after-limit)', ackRequired: true } });
    const statusOf = (id: string) => rig.browser!.request<MessageStatus>({ type: 'status', id });
    await waitFor(() => statusOf(sent.id), (s) => s.deliveries[0]?.state === 'acked', 90_000, 'the held message delivered and answered');
    expect(rig.api.turnRequests().some((r) => requestText(r).includes('probe-after-limit'))).toBe(true);
    // The session was told to carry on with the work the limit interrupted.
    expect(rig.api.turnRequests().some((r) => requestText(r).includes(RESUME_TEXT))).toBe(true);

    // The recovery is visible: the hold ended, and the session works again.
    const after = await waitFor(destination, (d) => d?.hold === undefined, 20_000, 'the hold released');
    expect(after!.history.map((h) => h.note ?? '').join(' | ')).toMatch(/exponential_backoff: Claude Code hit a rate limit.* \| a probe got through/);
    await waitFor(sessionsOf, (list) => list.some((s) => s.address === address && s.state === 'idle'), 20_000, 'the session idle again');
    await session.close();
  });

  it("pauses a subscriber's session until the reset its 429 named, then delivers the held message and wakes it", async () => {
    await rig.open({ connected: true });
    // Signed in to a subscription: the CLI writes the reset time of the unified rate-limit headers.
    const subscriber = await createClaudeHome({ apiUrl: rig.api.url, env: { ANTHROPIC_API_KEY: '', CLAUDE_CODE_OAUTH_TOKEN: 'sk-ant-oat01-switchboard-test-token' } });
    installClaudeCode({ home: rig.host.home, userHome: subscriber.home, apiPort: rig.host.port });
    try {
      const session = await subscriber.startStreaming({ maxRetries: 0, timeoutMs: 120_000 });
      const resetAt = (Math.floor(Date.now() / 1000) + 25) * 1000;
      rig.api.enqueue({ kind: 'rate_limit', retryAfterSeconds: 25, resetAt: new Date(resetAt), claim: 'five_hour' });
      session.send('Work until the limit');
      const limited = await session.waitForEvent((e) => e.type === 'result', { timeoutMs: 30_000 });
      expect(limited).toMatchObject({ is_error: true, api_error_status: 429, result: expect.stringMatching(/^You've hit your 5-hour limit · resets /) });
      const address = `claude-code:local/${limited.session_id}`;

      // The usage monitor read the reset time in the transcript: a pause until then replaced the StopFailure's backoff.
      const destination = () => rig.browser!.request<DestinationRecord[]>({ type: 'destinations' }).then((all) => all.find((d) => d.address === address));
      const paused = await waitFor(destination, (d) => d?.hold?.strategy === 'session_pause', 20_000, 'the pause until the reset');
      expect(paused!.hold).toMatchObject({ until: resetAt, reason: expect.stringContaining("You've hit your 5-hour limit") });

      rig.api.enqueue({ kind: 'text', text: 'Back after the reset.' });
      const sent = await rig.browser!.request<{ id: string }>({ type: 'send', message: { from: 'extension:local/popup', to: address, body: 'Carry on (probe-after-reset)', ackRequired: true } });
      const statusOf = (id: string) => rig.browser!.request<MessageStatus>({ type: 'status', id });
      // Nothing goes to the session before the reset: no probe, unlike a backoff.
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, resetAt - Date.now() - 3_000)));
      expect((await statusOf(sent.id)).deliveries[0].state).toBe('queued');
      expect(rig.api.turnRequests().some((r) => requestText(r).includes('probe-after-reset'))).toBe(false);

      const answered = await waitFor(() => statusOf(sent.id), (s) => s.deliveries[0]?.state === 'acked', 90_000, 'the held message delivered and answered after the reset');
      const firstSent = answered.deliveries[0].history.find((h) => h.state === 'sent')!;
      expect(firstSent.at).toBeGreaterThanOrEqual(resetAt);
      expect(rig.api.turnRequests().some((r) => requestText(r).includes('probe-after-reset'))).toBe(true);
      const after = await waitFor(destination, (d) => d?.hold === undefined, 20_000, 'the hold released');
      // The pause from the transcript may come before the StopFailure's backoff (which then does not
      // replace it) or after it (and replaces it): either way the pause held until the reset.
      expect(after!.history.map((h) => h.note ?? h.event).join(' | ')).toMatch(/^(exponential_backoff: Claude Code hit a rate limit.* \| )?session_pause: Claude Code hit a rate limit: You've hit your 5-hour limit.* \| hold ended$/);
      await session.close();
    } finally {
      await subscriber.cleanup();
    }
  });
});
