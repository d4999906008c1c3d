import { beforeEach, describe, expect, it } from 'vitest';
import { fakeBrowser } from 'wxt/testing';
import { startHub } from '../../src/hub/start-hub';
import { DUE_ALARM } from '../../src/hub/alarm-backstop';
import { until } from '../support/bus-fixture';
import type { HubResponse, HubStatus } from '../../src/protocol/runtime';
import type { MessageStatus, SendReceipt } from '../../src/bus/bus';
import { RESUME_TEXT } from '../../src/adapters/claude-code/rate-limits';
import { newMessageId } from '../../src/protocol/envelope';
import { FakePort } from '../support/fake-port';

// fakeBrowser has no runtime.onConnect; the hub registers a listener on it, so give it one.
const connectListeners: unknown[] = [];
const onConnect = { addListener: (l: unknown) => connectListeners.push(l), removeListener() {}, hasListener: () => false, hasListeners: () => false };

const ownPage = () => ({ id: fakeBrowser.runtime.id, url: fakeBrowser.runtime.getURL('/popup.html') });
const contentScript = () => ({ id: fakeBrowser.runtime.id, url: 'https://claude.ai/new', tab: { id: 4 } });

async function ask<T>(request: unknown, sender: object = ownPage()): Promise<HubResponse<T> | undefined> {
  const answers = await fakeBrowser.runtime.onMessage.trigger(request, sender as never);
  return answers.find((a: unknown) => a !== undefined) as HubResponse<T> | undefined;
}

let dbName: string;
beforeEach(() => {
  fakeBrowser.reset();
  Object.assign(fakeBrowser.runtime, { onConnect });
  dbName = `hub-test-${Math.random()}`;
});

describe('the hub in the service worker', () => {
  it('answers send, status, list, ack and hub-status from its own pages', async () => {
    await startHub({ dbName });
    const sent = await ask<SendReceipt>({
      type: 'send',
      message: { from: 'extension:local/popup', to: 'test:local/inbox', body: 'hi', ackRequired: true },
    });
    expect(sent).toMatchObject({ ok: true, result: { duplicate: false, recipients: ['test:local/inbox'] } });
    const id = (sent as { result: SendReceipt }).result.id;

    await until(async () => {
      const status = await ask<MessageStatus>({ type: 'status', id });
      return status?.ok === true && status.result.deliveries[0].state === 'acked';
    });
    const listed = await ask<unknown[]>({ type: 'list', agent: 'test:local/inbox' });
    expect(listed).toMatchObject({ ok: true, result: [{ message: { id } }] });
    const again = await ask({ type: 'ack', id, recipient: 'test:local/inbox' });
    expect(again).toMatchObject({ ok: true, result: { state: 'acked' } });

    const status = await ask<HubStatus>({ type: 'hub-status' });
    expect(status).toMatchObject({ ok: true, result: { extensionId: fakeBrowser.runtime.id, workerStarts: 1, deliveries: { acked: 1 } } });
  });

  it('counts every start of the worker, and a restarted hub keeps its messages', async () => {
    await startHub({ dbName });
    const sent = (await ask<SendReceipt>({ type: 'send', message: { from: 'extension:local/popup', to: 'claude-code:local/s1', body: 'wait' } })) as {
      result: SendReceipt;
    };
    fakeBrowser.reset();
    Object.assign(fakeBrowser.runtime, { onConnect });
    await startHub({ dbName });
    expect(await ask({ type: 'hub-status' })).toMatchObject({ result: { workerStarts: 2 } });
    expect(await ask({ type: 'status', id: sent.result.id })).toMatchObject({ ok: true, result: { message: { body: { text: 'wait' } } } });
  });

  it('rejects bad requests with the field that was wrong', async () => {
    await startHub({ dbName });
    expect(await ask({ type: 'delete-everything' })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^invalid request: type: expected a request with type send, status, list, ack, hub-status, subscribe, unsubscribe, search, rules, /),
    });
    expect(await ask({ type: 'status', id: 'not-an-id' })).toEqual({ ok: false, error: 'invalid request: id: expected a message id (a UUIDv7)' });
    const bad = await ask({ type: 'send', message: { from: 'extension:local/popup', to: 'nowhere', body: 'x' } });
    expect(bad).toMatchObject({ ok: false, error: expect.stringContaining('invalid message: to[0]: expected an address') });
    expect(await ask({ type: 'status', id: '019a0000-0000-7000-8000-000000000009' })).toEqual({
      ok: false,
      error: 'no message 019a0000-0000-7000-8000-000000000009',
    });
  });

  it('delivers to topic subscribers and broadcasts to every known agent but the sender', async () => {
    const bus = await startHub({ dbName });
    expect(await ask({ type: 'subscribe', agent: 'test:local/a', topic: 'builds' })).toEqual({ ok: true, result: { topics: ['builds'] } });
    await ask({ type: 'subscribe', agent: 'test:local/b', topic: 'builds' });
    await ask({ type: 'subscribe', agent: 'test:local/c', topic: 'docs' });
    expect(await ask({ type: 'subscribe', agent: 'test:local/a', topic: 'Bad Topic' })).toMatchObject({
      ok: false,
      error: expect.stringContaining('topic: expected a topic name'),
    });

    const toTopic = await ask<SendReceipt>({ type: 'send', message: { from: 'extension:local/popup', to: 'topic:builds', body: 'green' } });
    expect(toTopic).toMatchObject({ ok: true, result: { recipients: ['test:local/a', 'test:local/b'] } });

    // test:local/a sends, so it is known; the popup became known by sending above.
    const fromA = await ask<SendReceipt>({ type: 'send', message: { from: 'test:local/a', to: 'broadcast', body: 'hello all' } });
    expect((fromA as { result: SendReceipt }).result.recipients.sort()).toEqual(['extension:local/popup', 'test:local/b', 'test:local/c']);

    expect(await ask({ type: 'unsubscribe', agent: 'test:local/b', topic: 'builds' })).toEqual({ ok: true, result: { topics: [] } });
    const after = await ask<SendReceipt>({ type: 'send', message: { from: 'extension:local/popup', to: 'topic:builds', body: 'red' } });
    expect(after).toMatchObject({ ok: true, result: { recipients: ['test:local/a'] } });
    await bus.settled();
  });

  it("delivers to the extension's own pages: their inbox is the hub's store", async () => {
    const bus = await startHub({ dbName });
    const sent = (await ask<SendReceipt>({
      type: 'send',
      message: { from: 'test:local/a', to: 'extension:local/popup', body: 'for the person', ackRequired: true },
    })) as { result: SendReceipt };
    await bus.settled();
    expect(await ask({ type: 'list', agent: 'extension:local/popup', state: 'delivered' })).toMatchObject({
      ok: true,
      result: [{ message: { id: sent.result.id } }],
    });
    expect(await ask({ type: 'ack', id: sent.result.id, recipient: 'extension:local/popup' })).toMatchObject({ ok: true, result: { state: 'acked' } });
  });

  it('opens its page on first install, not on an update', async () => {
    await startHub({ dbName });
    const page = fakeBrowser.runtime.getURL('/diagnostics.html');
    const opened = async () => (await fakeBrowser.tabs.query({})).filter((tab) => tab.url === page).length;
    await fakeBrowser.runtime.onInstalled.trigger({ reason: 'update', previousVersion: '0.0.1', temporary: false });
    await new Promise((r) => setTimeout(r, 10));
    expect(await opened()).toBe(0);
    await fakeBrowser.runtime.onInstalled.trigger({ reason: 'install', temporary: false });
    await until(async () => (await opened()) === 1);
  });

  it('edits rules, holds and releases destinations, and searches, through the runtime interface', async () => {
    const bus = await startHub({ dbName });
    expect(await ask({ type: 'rule-put', rule: { id: 'cc', name: 'copy', match: { kind: 'prompt' }, action: { type: 'add', recipients: ['test:local/audit'] } } })).toMatchObject({
      ok: true,
      result: { id: 'cc', position: 0, enabled: true },
    });
    expect(await ask({ type: 'rule-put', rule: { id: 'x', name: 'x', match: {}, action: { type: 'explode' } } })).toMatchObject({
      ok: false,
      error: expect.stringContaining('invalid rule: action.type'),
    });
    const sent = await ask<SendReceipt>({ type: 'send', message: { from: 'extension:local/popup', to: 'test:local/a', kind: 'prompt', body: 'deploy now' } });
    expect(sent).toMatchObject({ ok: true, result: { recipients: ['test:local/a', 'test:local/audit'], routedBy: ['cc'] } });
    expect(await ask({ type: 'rules' })).toMatchObject({ ok: true, result: [{ id: 'cc' }] });
    expect(await ask({ type: 'rule-delete', id: 'cc' })).toEqual({ ok: true, result: [] });

    const held = await ask({ type: 'hold', hold: { address: 'test:local/b', strategy: 'session_pause', reason: 'limit', until: Date.now() + 60_000 } });
    expect(held).toMatchObject({ ok: true, result: { address: 'test:local/b', hold: { strategy: 'session_pause' } } });
    expect(await ask({ type: 'hold', hold: { address: 'test:local/b', strategy: 'session_pause', reason: 'x' } })).toMatchObject({ ok: false, error: expect.stringContaining('until') });
    expect(await ask({ type: 'destinations' })).toMatchObject({ ok: true, result: [{ address: 'test:local/b', breaker: 'closed' }] });
    expect(await ask({ type: 'release', address: 'test:local/b' })).toMatchObject({ ok: true, result: { address: 'test:local/b' } });

    await bus.settled();
    expect(await ask({ type: 'search', query: 'deploy' })).toMatchObject({ ok: true, result: [{ message: { body: { text: 'deploy now' } } }] });
  });

  it("holds a rate-limited Claude Code session: the host's pause until the reset replaces the StopFailure's backoff, and a late StopFailure does not undo it", async () => {
    const ports: FakePort[] = [];
    Object.assign(fakeBrowser.runtime, { connectNative: (name: string) => (ports.push(new FakePort(name)), ports.at(-1)) });
    const bus = await startHub({ dbName });
    await until(() => ports.length === 1);
    const port = ports[0];
    port.receive({ type: 'hello', version: '0.1.0', device: 'local' });
    const address = 'claude-code:local/s-limit';
    const committed = (seq: number) => until(() => port.posted.some((f) => f.type === 'committed' && f.results.some((r: { seq: number }) => r.seq === seq)));
    const results = () => port.posted.filter((f) => f.type === 'committed').flatMap((f) => f.results);
    const holdOf = () => bus.destinations().find((d) => d.address === address)?.hold;
    const stopFailure = (seq: number) =>
      port.receive({
        type: 'inbound',
        seq,
        record: { type: 'hook', event: { id: newMessageId(), receivedAt: Date.now(), payload: { session_id: 's-limit', hook_event_name: 'StopFailure', error: 'rate_limit' } } },
      });

    stopFailure(1);
    await committed(1);
    expect(holdOf()).toMatchObject({ strategy: 'exponential_backoff' });

    const resetAt = Date.now() + 3_600_000;
    port.receive({ type: 'inbound', seq: 2, record: { type: 'hold', hold: { address, strategy: 'session_pause', until: resetAt, reason: 'Claude Code hit a rate limit; resets then' } } });
    await committed(2);
    expect(holdOf()).toMatchObject({ strategy: 'session_pause', until: resetAt, reason: 'Claude Code hit a rate limit; resets then' });

    stopFailure(3); // drained late from the spool
    await committed(3);
    expect(holdOf()).toMatchObject({ strategy: 'session_pause', until: resetAt });
    expect(results()).toEqual([{ seq: 1 }, { seq: 2 }, { seq: 3 }]);
    const history = bus.destinations().find((d) => d.address === address)!.history.map((e) => e.event);
    expect(history).toEqual(['held', 'held']);
    // One message to carry on for this limit, however many times it was reported, waiting first in line.
    const resumes = (await bus.list({ agent: address, limit: 100 })).filter((e) => e.message.body.text === RESUME_TEXT);
    expect(resumes).toHaveLength(1);
    expect(resumes[0].message).toMatchObject({ from: 'extension:local/hub', kind: 'command', priority: 'high' });
  });

  it('sends a session held only by the host (a limit seen in its transcript) its message to carry on too', async () => {
    const ports: FakePort[] = [];
    Object.assign(fakeBrowser.runtime, { connectNative: (name: string) => (ports.push(new FakePort(name)), ports.at(-1)) });
    const bus = await startHub({ dbName });
    await until(() => ports.length === 1);
    const port = ports[0];
    port.receive({ type: 'hello', version: '0.1.0', device: 'local' });
    const address = 'claude-code:local/s-transcript';
    port.receive({ type: 'inbound', seq: 1, record: { type: 'hold', hold: { address, strategy: 'exponential_backoff', reason: 'a rate-limit line in the transcript' } } });
    await until(() => port.posted.some((f) => f.type === 'committed'));
    await until(async () => (await bus.list({ agent: address, limit: 10 })).length === 1);
    expect((await bus.list({ agent: address, limit: 10 }))[0].message.body.text).toBe(RESUME_TEXT);
    // Not for an agent that is not a Claude Code session.
    port.receive({ type: 'inbound', seq: 2, record: { type: 'hold', hold: { address: 'api:local/bot', strategy: 'exponential_backoff', reason: 'x' } } });
    await until(() => port.posted.filter((f) => f.type === 'committed').length === 2);
    expect(await bus.list({ agent: 'api:local/bot', limit: 10 })).toEqual([]);
  });

  it('ignores content scripts and other senders', async () => {
    await startHub({ dbName });
    expect(await ask({ type: 'hub-status' }, contentScript())).toBeUndefined();
    expect(await ask({ type: 'hub-status' }, { id: 'another-extension', url: 'chrome-extension://another-extension/x.html' })).toBeUndefined();
  });

  it('arms the alarm backstop for the next due time', async () => {
    const bus = await startHub({ dbName });
    // No adapter serves claude-desktop yet: the delivery waits for a retry.
    const sent = (await ask<SendReceipt>({ type: 'send', message: { from: 'extension:local/popup', to: 'claude-desktop:local/app', body: 'x' } })) as {
      result: SendReceipt;
    };
    await bus.settled();
    const [delivery] = (await bus.status(sent.result.id))!.deliveries;
    expect(delivery.state).toBe('queued');
    const alarm = await fakeBrowser.alarms.get(DUE_ALARM);
    // at the due time, or a second from now when that is sooner (the hub never arms an alarm in the past)
    expect(alarm!.scheduledTime).toBeGreaterThanOrEqual(delivery.dueAt!);
    expect(alarm!.scheduledTime - delivery.dueAt!).toBeLessThanOrEqual(1_000);
  });
});
