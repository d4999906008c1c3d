import Dexie from 'dexie';
import { describe, expect, it } from 'vitest';
import { SCHEMA_V1, SCHEMA_V2, SwitchboardDb } from '../../src/storage/db';
import { DexieBusStore } from '../../src/storage/bus-store';
import { DEFAULT_TTL_MS, type Envelope } from '../../src/protocol/envelope';
import type { Delivery } from '../../src/bus/delivery';

const id = (n: number) => `019a0000-0000-7000-8000-${String(n).padStart(12, '0')}`;
const id1 = id(1);
const id2 = id(2);
const envelope = (id: string, text: string, ttl: Envelope['ttl'], to = ['test:local/a']): Envelope => ({
  id, from: 'extension:local/popup', to, replyTo: 'extension:local/popup', threadId: id, kind: 'note',
  body: { text }, priority: 'normal', ttl, createdAt: 1_000, hops: 0, ackRequired: false,
});
const delivery = (messageId: string, state: Delivery['state'], at: number, recipient = 'test:local/a'): Delivery => ({
  messageId, recipient, state, priority: 2, attempts: state === 'queued' ? 0 : 1, ackRequired: false, once: false,
  ...(state === 'queued' ? { dueAt: at } : {}),
  history: [{ state: 'queued', at: 1_000 }, ...(state === 'queued' ? [] : [{ state, at }])],
});

describe('schema migration v1 → v2', () => {
  it('indexes old messages for search and gives finished deliveries their retention', async () => {
    // (the search index of version 2 is its own table, filled by the upgrade from the stored messages)
    const name = `migration-${Math.random()}`;
    // Written by version 1, as the first release stored them.
    const v1 = new Dexie(name);
    v1.version(1).stores(SCHEMA_V1);
    await v1.table('messages').bulkAdd([envelope(id1, 'Deploy the release notes', 'short'), envelope(id2, 'Lunch menu', 'permanent')]);
    await v1.table('deliveries').bulkAdd([delivery(id1, 'delivered', 5_000), delivery(id2, 'queued', 2_000)]);
    v1.close();

    const db = new SwitchboardDb(name);
    await db.open(); // through version 2, then 3
    expect(db.verno).toBe(3);
    const store = new DexieBusStore(db);
    expect((await store.search('release', 10)).map((e) => e.message.id)).toEqual([id1]);
    expect(await store.message(id1)).toEqual(envelope(id1, 'Deploy the release notes', 'short'));
    const [finished] = await store.deliveriesOf(id1);
    expect(finished).toMatchObject({ state: 'delivered', retainFor: DEFAULT_TTL_MS.short, retainUntil: 5_000 + DEFAULT_TTL_MS.short });
    const [waiting] = await store.deliveriesOf(id2);
    expect(waiting.state).toBe('queued');
    expect(waiting.retainFor).toBeUndefined(); // permanent
    expect(waiting.retainUntil).toBeUndefined();
    // Rows written before still deliver: the due index sees the waiting one.
    const { claimed } = await store.claimDue(2_000, 10, () => undefined);
    expect(claimed).toEqual([]); // the transition left it as it was
    expect((await db.deliveries.where('[priority+dueAt]').between([2, 0], [2, 2_000], true, true).toArray()).map((d) => d.messageId)).toEqual([id2]);
  });
});

describe('schema migration v2 → v3', () => {
  const HOUR = 3_600_000;
  const retained = (d: Delivery, retainUntil?: number): Delivery => ({ ...d, retainFor: HOUR, ...(retainUntil !== undefined ? { retainUntil } : {}) });
  const A = 'test:local/a';
  const B = 'claude-code:laptop/b';
  const FALLBACK = 'test:local/fallback';

  /** Rows as version 2 wrote them: every state, several recipients, a re-route, a message with no delivery. */
  function version2Rows() {
    const messages: (Envelope & { retainUntil?: number })[] = [
      envelope(id(1), 'queued for a', 'short'),
      envelope(id(2), 'sent to a', 'short'),
      { ...envelope(id(3), 'waiting for an ack', 'short'), ackRequired: true },
      envelope(id(4), 'delivered to both', 'short', [A, B]),
      envelope(id(5), 'kept for good, acked', 'permanent'),
      envelope(id(6), 'failed and rerouted', 'short', [B]),
      { ...envelope(id(7), 'dropped by a rule', 'short', []), retainUntil: 3 * HOUR },
    ];
    const deliveries: Delivery[] = [
      retained(delivery(id(1), 'queued', 9_000)),
      retained({ ...delivery(id(2), 'sent', 2_000), dueAt: 32_000 }),
      retained({ ...delivery(id(3), 'delivered', 3_000), ackRequired: true, dueAt: 63_000 }),
      retained(delivery(id(4), 'delivered', 4_000), 4_000 + HOUR),
      retained(delivery(id(4), 'acked', 4_500, B), 4_500 + HOUR),
      { ...delivery(id(5), 'acked', 5_000), retainFor: undefined },
      retained(delivery(id(6), 'rerouted', 6_000, B), 6_000 + HOUR),
      retained(delivery(id(6), 'failed', 6_500, FALLBACK), 6_500 + HOUR),
    ];
    return { messages, deliveries };
  }

  it('moves each delivery to the sparse indexes of its state and gives each message its recipients', async () => {
    const name = `migration-v3-${Math.random()}`;
    const v2 = new Dexie(name);
    v2.version(2).stores(SCHEMA_V2);
    const { messages, deliveries } = version2Rows();
    await v2.table('messages').bulkAdd(messages);
    await v2.table('deliveries').bulkAdd(deliveries);
    await v2.table('searchIndex').bulkAdd(messages.map((m) => ({ id: m.id, terms: m.body.text.split(' ') })));
    v2.close();

    const db = new SwitchboardDb(name);
    const store = new DexieBusStore(db);
    await db.open();
    expect(db.verno).toBe(3);

    // The bus reads every delivery and message exactly as version 2 stored it.
    for (const m of messages) {
      const { retainUntil: _, ...plain } = m;
      expect(await store.message(m.id)).toEqual(plain);
      const byRecipient = (a: Delivery, b: Delivery) => (a.recipient < b.recipient ? -1 : 1);
      expect(await store.deliveriesOf(m.id)).toEqual(deliveries.filter((d) => d.messageId === m.id).sort(byRecipient));
    }
    // Each state, from the index that holds it.
    const keys = (list: Delivery[]) => list.map((d) => `${d.messageId.slice(-1)} ${d.recipient}`).sort();
    expect(keys(await store.inState('queued'))).toEqual([`1 ${A}`]);
    expect(keys(await store.inState('sent'))).toEqual([`2 ${A}`]);
    expect(keys(await store.inState('delivered'))).toEqual([`3 ${A}`, `4 ${A}`]);
    expect(keys(await store.inState('acked'))).toEqual([`4 ${B}`, `5 ${A}`]);
    expect(keys(await store.inState('rerouted'))).toEqual([`6 ${B}`]);
    expect(await store.counts()).toEqual({ queued: 1, sent: 1, delivered: 2, acked: 2, failed: 1, expired: 0, rerouted: 1 });
    // Lists by agent (sent or received, re-routes included) and by state.
    const ids = (entries: { message: Envelope }[]) => entries.map((e) => e.message.id.slice(-1));
    expect(ids(await store.list({ agent: B }))).toEqual(['6', '4']);
    expect(ids(await store.list({ agent: FALLBACK }))).toEqual(['6']);
    expect(ids(await store.list({ state: 'delivered' }))).toEqual(['4', '3']);
    expect((await store.list({ agent: B }))[0].deliveries.map((d) => d.recipient)).toEqual([B, FALLBACK]);
    // Due work and wake-ups still find what waits.
    const { claimed, nextDueAt } = await store.claimDue(10_000, 10, (d) => ({ ...d, state: 'sent', dueAt: 40_000 }));
    expect(keys(claimed)).toEqual([`1 ${A}`]);
    expect(nextDueAt).toBe(32_000);
    expect((await store.queuedFor(A, () => undefined)).changed).toEqual([]);
    // The archive takes a message once all of its deliveries are finished and past retention —
    // never the one kept for good — and a message that never had a delivery after its own.
    expect(await store.archiveDue(7_000 + HOUR, 100)).toBe(2);
    expect((await store.exportArchive(0, 10)).map((a) => [a.id.slice(-1), a.deliveries.map((d) => d.recipient)])).toEqual([
      ['4', [B, A]],
      ['6', [B, FALLBACK]],
    ]);
    expect(await store.archiveDue(3 * HOUR, 100)).toBe(1);
    expect(await store.message(id(5))).toBeDefined();
    expect(await store.message(id(7))).toBeUndefined();
  });
});
