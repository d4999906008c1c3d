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

/** Sends from the extension page, all at once, as a page script would. */
function sendAll(b: ExtensionBrowser, messages: SendRequest[]) {
  return b.page.evaluate(
    (list) =>
      Promise.all(list.map((message) => chrome.runtime.sendMessage({ type: 'send', message }))) as Promise<
        ({ ok: true; result: SendReceipt } | { ok: false; error: string })[]
      >,
    messages,
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

    // Straight from IndexedDB: three messages stored (the bad one is not), three effects applied.
    const messages = await b.readStore<Envelope>('messages');
    expect(messages.map((m) => m.body.text).sort()).toEqual(['plain', 'refused', 'two recipients, acked']);
    const effects = await b.readStore<SinkEffect>('sinkEffects');
    expect(effects.map((e) => `${e.recipient} ${e.messageId}`).sort()).toEqual(
      [`test:local/inbox ${plain}`, `test:local/inbox ${acked}`, `test:local/other ${acked}`].sort(),
    );
  });

  it('delivers a stream of 1,000 messages exactly once across a service-worker stop', async () => {
    const b = await launch();
    // Every 10th recipient fails its first attempt (a retry is pending for ~1 s); every 25th loses
    // its first confirmation (the redelivery must be deduped); every 4th message asks for an ack.
    const messages: SendRequest[] = Array.from({ length: 1_000 }, (_, i) => ({
      from: FROM,
      to: i % 10 === 3 ? `test:local/fail-1.r${i % 7}` : i % 25 === 7 ? `test:local/lose-1.d${i % 3}` : `test:local/inbox-${i % 5}`,
      body: `message ${i}`,
      priority: (['critical', 'high', 'normal', 'low', 'bulk'] as const)[i % 5],
      ackRequired: i % 4 === 0,
    }));
    const ids: string[] = [];
    const sendChunks = async (from: number, to: number) => {
      for (let i = from; i < to; i += 50) {
        const results = await sendAll(b, messages.slice(i, i + 50));
        for (const r of results) {
          if (!r.ok) throw new Error(r.error);
          ids.push(r.result.id);
        }
      }
    };

    await sendChunks(0, 500);
    const startsBefore = (await b.hubStatus()).workerStarts;
    await b.stopWorker();
    const stoppedAt = Date.now();
    // Read while the worker is stopped (IndexedDB from the page does not wake it): what is pending now
    // is pending across the stop.
    const acrossStop = await b.readStore<Delivery>('deliveries');
    const pendingRetries = acrossStop.filter((d) => d.state === 'queued' && d.attempts >= 1);
    expect(pendingRetries.length, 'retries pending across the stop').toBeGreaterThan(0);
    // Waking the worker: the next request starts it again, and it counts the start.
    const woken = await b.hubStatus();
    expect(woken.workerStarts, 'the service worker really restarted').toBe(startsBefore + 1);
    expect(woken.startedAt).toBeGreaterThanOrEqual(stoppedAt);

    await sendChunks(500, 1_000);
    const done = await waitFor(() => b.hubStatus(), (s) => unfinished(s) === 0, 120_000, 'all 1,000 deliveries to finish');
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
      Array.from({ length: 20 }, (_, i) => ({ from: FROM, to: `test:local/fail-1.p${i % 4}`, body: `restart ${i}` })),
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
