/**
 * The hub in a real Chromium with the built extension: messages sent from an extension page are
 * stored and delivered, and nothing is lost or applied twice when the service worker is stopped in
 * the middle of a stream or the browser is closed with retries pending.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { launchExtension, waitFor, type ExtensionBrowser } from '../support/extension-browser';
import { EXTENSION_ID } from '../../src/extension-identity';
import type { Delivery } from '../../src/bus/delivery';
import type { SinkEffect, SinkReceipt } from '../../src/storage/db';
import type { MessageStatus, SendReceipt } from '../../src/bus/bus';
import type { Envelope, SendRequest } from '../../src/protocol/envelope';

const FROM = 'extension:local/diagnostics';
let browsers: ExtensionBrowser[] = [];
afterEach(async () => {
  await Promise.all(browsers.map((b) => b.close()));
  browsers = [];
});
async function launch(options?: { profileDir?: string }) {
  const b = await launchExtension(options);
  browsers.push(b);
  return b;
}

type SendResult = { ok: true; result: SendReceipt } | { ok: false; error: string };

/**
 * Sends from the extension page, all at once, as a page script would: through the hub client (one
 * long-lived port, the way Switchboard's pages talk to the hub) or one runtime.sendMessage each.
 */
function sendAll(b: ExtensionBrowser, messages: SendRequest[], via: 'client' | 'sendMessage' = 'sendMessage') {
  return b.page.evaluate(
    ({ list, via }) =>
      Promise.all(
        list.map((message) =>
          via === 'client'
            ? window.switchboard.send(message as never).then(
                (result) => ({ ok: true, result }),
                (error: Error) => ({ ok: false, error: error.message }),
              )
            : chrome.runtime.sendMessage({ type: 'send', message }),
        ),
      ) as Promise<SendResult[]>,
    { list: messages, via },
  );
}

const unfinished = (s: { deliveries: Record<string, number> }) => s.deliveries.queued + s.deliveries.sent;
const effectsPerMessage = (effects: SinkEffect[]) => {
  const counts = new Map<string, number>();
  for (const e of effects) counts.set(e.messageId, (counts.get(e.messageId) ?? 0) + 1);
  return counts;
};

describe('the hub in Chromium', () => {
  it('loads with its pinned id; messages from an extension page are stored, delivered and acked', async () => {
    const b = await launch();
    expect(b.extensionId).toBe(EXTENSION_ID);
    // A subscriber on the page, as the popup is: every change, live.
    await b.page.evaluate(() => {
      const seen: unknown[] = [];
      Object.assign(window, { seen });
      window.switchboard.watch((changes) => seen.push(...changes), new AbortController().signal);
    });
    await new Promise((r) => setTimeout(r, 100));

    const results = await sendAll(b, [
      { from: FROM, to: 'test:local/inbox', body: 'plain' },
      { from: FROM, to: ['test:local/inbox', 'test:local/other'], body: 'two recipients, acked', ackRequired: true },
      { from: FROM, to: 'test:local/reject', body: 'refused' },
      { from: FROM, to: 'nowhere', body: 'bad address' },
    ]);
    expect(results.slice(0, 3).every((r) => r.ok)).toBe(true);
    expect(results[3]).toEqual({ ok: false, error: expect.stringContaining('invalid message: to[0]: expected an address') });
    const [plain, acked, refused] = results.map((r) => (r.ok ? r.result.id : ''));

    await waitFor(() => b.hubStatus(), (s) => unfinished(s) === 0 && s.deliveries.acked === 2, 30_000, 'deliveries to finish');
    const states = async (id: string) => (await b.request<MessageStatus>({ type: 'status', id })).deliveries.map((d) => [d.recipient, d.state]);
    expect(await states(plain)).toEqual([['test:local/inbox', 'delivered']]);
    expect(await states(acked)).toEqual([
      ['test:local/inbox', 'acked'],
      ['test:local/other', 'acked'],
    ]);
    expect(await states(refused)).toEqual([['test:local/reject', 'failed']]);
    const seen = (await b.page.evaluate(() => (window as unknown as { seen: { messageId: string; recipient: string; state: string }[] }).seen));
    expect(seen.filter((c) => c.messageId === acked && c.recipient === 'test:local/other').map((c) => c.state)).toEqual([
      'queued',
      'sent',
      'delivered',
      'acked',
    ]);
    expect(seen.filter((c) => c.messageId === refused).map((c) => c.state)).toEqual(['queued', 'sent', 'failed']);

    // The hub client over its port: the id is made on the page, so a resend is accepted once.
    const [viaClient] = await sendAll(b, [{ from: FROM, to: 'test:local/inbox', body: 'through the client' }], 'client');
    expect(viaClient.ok).toBe(true);
    const id = viaClient.ok ? viaClient.result.id : '';
    // A resend with other recipients and text changes nothing: the receipt says what was stored.
    const [resent] = await sendAll(b, [{ id, from: FROM, to: ['test:local/inbox', 'test:local/elsewhere'], body: 'the same id again' }], 'client');
    expect(resent).toEqual({ ok: true, result: { id, threadId: id, recipients: ['test:local/inbox'], duplicate: true, routedBy: [] } });

    // Straight from IndexedDB: three messages stored (the bad one is not), three effects applied.
    await waitFor(() => b.hubStatus(), (s) => unfinished(s) === 0, 30_000, 'the client message to be delivered');
    const messages = await b.readStore<Envelope>('messages');
    expect(messages.map((m) => m.body.text).sort()).toEqual(['plain', 'refused', 'through the client', 'two recipients, acked']);
    const resentDeliveries = (await b.readStore<Delivery>('deliveries')).filter((d) => d.messageId === id);
    expect(resentDeliveries.map((d) => [d.recipient, d.history.filter((h) => h.state === 'queued').length])).toEqual([['test:local/inbox', 1]]);
    const effects = await b.readStore<SinkEffect>('sinkEffects');
    expect(effects.map((e) => `${e.recipient} ${e.messageId}`).sort()).toEqual(
      [`test:local/inbox ${plain}`, `test:local/inbox ${acked}`, `test:local/other ${acked}`, `test:local/inbox ${id}`].sort(),
    );
  });

  it('delivers a stream of 1,000 messages exactly once across a service-worker stop', { timeout: 240_000 }, async () => {
    const b = await launch();
    // Every 10th recipient fails its first attempt (a retry is pending for ~1 s); every 25th loses
    // its first confirmation (the redelivery must be deduped); every 4th message asks for an ack.
    const messages: SendRequest[] = Array.from({ length: 1_000 }, (_, i) => ({
      from: FROM,
      // (fail-once and lose-once recipients are spread wide, so that no destination fails five times
      // in a row and opens its circuit breaker: that has tests of its own)
      to: i % 10 === 3 ? `test:local/fail-1.r${i}` : i % 25 === 7 ? `test:local/lose-1.d${i}` : `test:local/inbox-${i % 5}`,
      body: `message ${i}`,
      priority: (['critical', 'high', 'normal', 'low', 'bulk'] as const)[i % 5],
      ackRequired: i % 4 === 0,
    }));
    const ids: string[] = [];
    // Through the hub client: its port dies with the worker, so the second half also proves it reconnects.
    const collect = (results: SendResult[]) => {
      for (const r of results) {
        if (!r.ok) throw new Error(r.error);
        ids.push(r.result.id);
      }
    };
    const sendChunks = async (from: number, to: number) => {
      for (let i = from; i < to; i += 50) collect(await sendAll(b, messages.slice(i, i + 50), 'client'));
    };

    await sendChunks(0, 450);
    // The page's requests go over a channel to the worker (CHANNEL_HELLO), not through the browser.
    expect(await b.page.evaluate(() => window.switchboard.transport())).toBe('channel');
    const startsBefore = (await b.hubStatus()).workerStarts;
    // Stop the worker while 50 sends are on their way. Whether any is cut off depends on timing; one
    // that is, the client asks again on a new port, and the hub recognises its id (the resend itself
    // is tested deterministically in test/client/hub-client.test.ts).
    const inFlight = sendAll(b, messages.slice(450, 500), 'client');
    // Taken before asking: the client's resends may start the new worker before the stop call returns.
    const stoppedAt = Date.now();
    await b.stopWorker();
    // Read right after the stop (IndexedDB from the page does not wake the worker; the client's
    // resends may): retries pending now were pending across the stop.
    const acrossStop = await b.readStore<Delivery>('deliveries');
    const pendingRetries = acrossStop.filter((d) => d.state === 'queued' && d.attempts >= 1);
    expect(pendingRetries.length, 'retries pending across the stop').toBeGreaterThan(0);
    collect(await inFlight);
    // The client's resends woke the worker; it counted the start.
    const woken = await b.hubStatus();
    expect(woken.workerStarts, 'the service worker really restarted').toBe(startsBefore + 1);
    expect(woken.startedAt).toBeGreaterThanOrEqual(stoppedAt);

    await sendChunks(500, 1_000);
    // ...and over a new channel to the new worker.
    expect(await b.page.evaluate(() => window.switchboard.transport())).toBe('channel');
    // Finished means acked too: an ack the stopped worker lost comes after the ack timeout (60 s),
    // through a redelivery that the receiver dedupes.
    const done = await waitFor(
      () => b.hubStatus(),
      (s) => unfinished(s) === 0 && s.deliveries.acked === 250,
      150_000,
      'all 1,000 deliveries to finish, every ack included',
    );
    expect(done.deliveries).toMatchObject({ failed: 0, expired: 0, delivered: 750, acked: 250 });

    // The retries that were pending across the stop were delivered by the new worker.
    const after = new Map((await b.readStore<Delivery>('deliveries')).map((d) => [`${d.messageId} ${d.recipient}`, d]));
    for (const pending of pendingRetries) {
      const d = after.get(`${pending.messageId} ${pending.recipient}`)!;
      expect(['delivered', 'acked']).toContain(d.state);
      expect(d.attempts).toBeGreaterThanOrEqual(2);
      expect(d.history.at(-1)!.at).toBeGreaterThanOrEqual(stoppedAt);
    }

    // The test adapter's own store: each of the 1,000 effects exactly once.
    const effects = await b.readStore<SinkEffect>('sinkEffects');
    const perMessage = effectsPerMessage(effects);
    expect(effects).toHaveLength(1_000);
    expect(new Set(ids).size).toBe(1_000);
    expect(ids.every((id) => perMessage.get(id) === 1)).toBe(true);
    const receipts = await b.readStore<SinkReceipt>('sinkReceipts');
    const deduped = receipts.reduce((sum, r) => sum + r.duplicates, 0);
    expect(deduped, 'redeliveries recognised and not applied again').toBeGreaterThanOrEqual(1);
  });

  it('picks up pending retries after the browser is closed and started again on the same profile', async () => {
    const first = await launch();
    const results = await sendAll(
      first,
      Array.from({ length: 20 }, (_, i) => ({ from: FROM, to: `test:local/fail-1.p${i}`, body: `restart ${i}` })),
    );
    const ids = results.map((r) => (r.ok ? r.result.id : ''));
    await waitFor(
      () => first.readStore<Delivery>('deliveries'),
      (ds) => ds.length === 20 && ds.every((d) => d.state === 'queued' && d.attempts === 1),
      10_000,
      'every first attempt to fail',
    );
    await first.close({ keepProfile: true });
    browsers = browsers.filter((b) => b !== first);

    const second = await launch({ profileDir: first.profileDir });
    const status = await waitFor(() => second.hubStatus(), (s) => unfinished(s) === 0, 60_000, 'the retries to finish');
    expect(status.workerStarts).toBeGreaterThanOrEqual(2);
    expect(status.deliveries.delivered).toBe(20);
    const perMessage = effectsPerMessage(await second.readStore<SinkEffect>('sinkEffects'));
    expect(ids.every((id) => perMessage.get(id) === 1)).toBe(true);
  });
});
