import { afterEach, describe, expect, it, vi } from 'vitest';

afterEach(() => vi.restoreAllMocks());
import { SwitchboardDb } from '../../src/storage/db';
import { DexieBusStore } from '../../src/storage/bus-store';
import { newMessageId, type Envelope } from '../../src/protocol/envelope';
import type { Delivery } from '../../src/bus/delivery';

function entry(recipients: string[]) {
  const id = newMessageId();
  const message: Envelope = {
    id, from: 'extension:local/popup', to: recipients, replyTo: 'extension:local/popup', threadId: id, kind: 'note',
    body: { text: id }, priority: 'normal', ttl: 'medium', createdAt: 1, hops: 0, ackRequired: false,
  };
  const deliveries: Delivery[] = recipients.map((recipient) => ({
    messageId: id, recipient, state: 'queued', priority: 2, attempts: 0, ackRequired: false, dueAt: 1, once: false, history: [{ state: 'queued', at: 1 }],
  }));
  return { message, deliveries };
}

async function storeWith(count: number, recipients = ['test:local/a']) {
  const db = new SwitchboardDb(`store-test-${Math.random()}`);
  const store = new DexieBusStore(db);
  const entries = Array.from({ length: count }, () => entry(recipients));
  await store.insert(entries);
  return { db, store, entries };
}

const bump = (d: Delivery | undefined) => (d ? { ...d, attempts: d.attempts + 1 } : undefined);

describe('DexieBusStore.update', () => {
  it('reads a dense batch with one range read and applies each change', async () => {
    const { store, db, entries } = await storeWith(30);
    const keys = entries.slice(5, 25).map((e) => [e.message.id, 'test:local/a'] as [string, string]);
    const seen: (Delivery | undefined)[] = [];
    const get = vi.spyOn(IDBObjectStore.prototype, 'get');
    const getAll = vi.spyOn(IDBObjectStore.prototype, 'getAll');
    const written = await store.update(keys, (d) => (seen.push(d), bump(d)));
    expect(get).not.toHaveBeenCalled();
    expect(getAll).toHaveBeenCalledTimes(1);
    expect(seen.map((d) => d?.messageId)).toEqual(keys.map(([id]) => id));
    expect(written.every((d) => d?.attempts === 1)).toBe(true);
    expect((await db.deliveries.toArray()).filter((d) => d.attempts === 1)).toHaveLength(20);
  });

  it('falls back to reading key by key when the range holds many others, and reports missing keys', async () => {
    const { store, db, entries } = await storeWith(100);
    const keys = entries.filter((_, i) => i % 10 === 0).map((e) => [e.message.id, 'test:local/a'] as [string, string]);
    keys.push(['019a0000-0000-7000-8000-000000000001', 'test:local/a']);
    const seen: (Delivery | undefined)[] = [];
    const get = vi.spyOn(IDBObjectStore.prototype, 'get');
    await store.update(keys, (d) => (seen.push(d), bump(d)));
    expect(get.mock.calls.map(([key]) => key)).toEqual(keys);
    expect(seen.slice(0, 10).map((d) => d?.messageId)).toEqual(keys.slice(0, 10).map(([id]) => id));
    expect(seen[10]).toBeUndefined();
    expect((await db.deliveries.toArray()).filter((d) => d.attempts === 1)).toHaveLength(10);
  });

  it('applies two changes to the same key in order', async () => {
    const { store, entries } = await storeWith(1);
    const key: [string, string] = [entries[0].message.id, 'test:local/a'];
    const written = await store.update([key, key], bump);
    expect(written.map((d) => d?.attempts)).toEqual([1, 2]);
  });
});

describe('DexieBusStore.replaceIfUnchanged', () => {
  it('writes each change over the delivery it expected', async () => {
    const { store, entries } = await storeWith(2);
    const changes = entries.map(({ deliveries: [before] }) => ({ before, after: { ...before, attempts: 1 } }));
    expect(await store.replaceIfUnchanged(changes)).toBe(true);
    for (const { message } of entries) expect((await store.deliveriesOf(message.id))[0].attempts).toBe(1);
  });

  it('writes nothing when one delivery changed since, or is gone', async () => {
    const { store, entries } = await storeWith(3);
    await store.update([[entries[1].message.id, 'test:local/a']], bump); // someone else's change
    const changes = entries.map(({ deliveries: [before] }) => ({ before, after: { ...before, state: 'delivered' as const } }));
    expect(await store.replaceIfUnchanged(changes)).toBe(false);
    const gone = { ...entries[0].deliveries[0], messageId: newMessageId() };
    expect(await store.replaceIfUnchanged([{ before: gone, after: { ...gone, attempts: 1 } }])).toBe(false);
    for (const { message } of entries) expect((await store.deliveriesOf(message.id))[0].state).toBe('queued');
    expect(await store.deliveriesOf(gone.messageId)).toEqual([]);
  });
});

describe('DexieBusStore.replaceIfUnchanged, from what it last wrote', () => {
  /** Stored deliveries in flight, as the bus's send writes them when it starts the attempts at once. */
  async function inFlight(count: number) {
    const db = new SwitchboardDb(`store-test-${Math.random()}`);
    const store = new DexieBusStore(db);
    const entries = Array.from({ length: count }, () => entry(['test:local/a']));
    for (const e of entries) e.deliveries = e.deliveries.map((d) => ({ ...d, state: 'sent', attempts: 1, history: [...d.history, { state: 'sent', at: 2 }] }));
    await store.insert(entries);
    return { db, store, sent: entries.map((e) => e.deliveries[0]) };
  }
  const outcome = (d: Delivery, state: Delivery['state'] = 'delivered'): Delivery => ({ ...d, state, history: [...d.history, { state, at: 3 }] });

  it('writes without reading when each delivery is the one it last wrote, again after a pending outcome', async () => {
    const { db, store, sent } = await inFlight(3);
    const get = vi.spyOn(IDBObjectStore.prototype, 'get');
    const pending = outcome(sent[0], 'sent');
    expect(await store.replaceIfUnchanged([{ before: sent[0], after: pending }, { before: sent[1], after: outcome(sent[1]) }])).toBe(true);
    expect(await store.replaceIfUnchanged([{ before: pending, after: outcome(pending) }])).toBe(true);
    expect(get).not.toHaveBeenCalled();
    expect((await db.deliveries.toArray()).map((d) => d.state)).toEqual(['delivered', 'delivered', 'sent']);
    // An equal copy is not what it wrote: that is read first, and written since it matches.
    expect(await store.replaceIfUnchanged([{ before: { ...sent[2] }, after: outcome(sent[2]) }])).toBe(true);
    expect(get).toHaveBeenCalledTimes(1);
  });

  it('writes nothing over a change written after it looked, by a transaction that runs before it', async () => {
    const { db, store, sent } = await inFlight(2);
    const cancelled = (d: Delivery | undefined) => d && { ...d, state: 'failed' as const, history: [...d.history, { state: 'failed' as const, at: 3 }] };
    // The cancel's transaction is made first; it writes once its read is back, after the check.
    const cancel = store.update([[sent[0].messageId, sent[0].recipient]], cancelled);
    const replaced = store.replaceIfUnchanged([{ before: sent[0], after: outcome(sent[0]) }, { before: sent[1], after: outcome(sent[1]) }]);
    expect(await replaced).toBe(false);
    await cancel;
    expect((await db.deliveries.toArray()).map((d) => d.state)).toEqual(['failed', 'sent']);
    // The cancel's write is now the last: an outcome from the old one is read and refused.
    const get = vi.spyOn(IDBObjectStore.prototype, 'get');
    expect(await store.replaceIfUnchanged([{ before: sent[0], after: outcome(sent[0]) }])).toBe(false);
    expect(get).toHaveBeenCalledTimes(1);
    // The other one, in the refused batch too, is read as well (nothing of the batch is trusted), and written.
    expect(await store.replaceIfUnchanged([{ before: sent[1], after: outcome(sent[1]) }])).toBe(true);
    expect(get).toHaveBeenCalledTimes(2);
    expect((await db.deliveries.toArray()).map((d) => d.state)).toEqual(['failed', 'delivered']);
  });

  it('reads first after the messages were cleared, and finds nothing to write over', async () => {
    const { db, store, sent } = await inFlight(1);
    await store.clearMessages();
    expect(await store.replaceIfUnchanged([{ before: sent[0], after: outcome(sent[0]) }])).toBe(false);
    expect(await db.deliveries.count()).toBe(0);
  });
});

describe('DexieBusStore.insert', () => {
  it('stores each id once, in one transaction, telling which entries were new', async () => {
    const { store, db, entries } = await storeWith(3, ['test:local/a', 'test:local/b']);
    const again = entry(['test:local/c']);
    const result = await store.insert([entries[1], again, again]);
    expect(result).toEqual([false, true, false]);
    expect(await db.messages.count()).toBe(4);
    expect(await db.deliveries.count()).toBe(7);
  });

  it('stores a batch of new messages in one transaction, and one with a stored message without touching it', async () => {
    const { store, db, entries } = await storeWith(2, ['test:local/a']);
    const spy = vi.spyOn(IDBDatabase.prototype, 'transaction');
    // Only the inserts' (the search indexer may write beside them).
    const transactions = { mockClear: () => spy.mockClear(), count: () => spy.mock.calls.filter(([stores]) => String(stores) === 'messages,deliveries').length };
    const fresh = [entry(['test:local/a']), entry(['test:local/b'])];
    expect(await store.insert(fresh)).toEqual([true, true]);
    expect(transactions.count()).toBe(1);
    // A resend of a stored message, asking for other recipients and carrying other delivery states.
    const resend = { message: { ...entries[0].message, body: { text: 'changed' } }, deliveries: entry(['test:local/z']).deliveries.map((d) => ({ ...d, messageId: entries[0].message.id, state: 'failed' as const })) };
    const next = entry(['test:local/c']);
    transactions.mockClear();
    expect(await store.insert([next, resend])).toEqual([true, false]);
    expect(transactions.count()).toBe(2); // the first, aborted, wrote nothing
    expect((await db.messages.get(entries[0].message.id))?.body).toEqual({ text: entries[0].message.id });
    expect((await store.deliveriesOf(entries[0].message.id)).map((d) => [d.recipient, d.state])).toEqual([['test:local/a', 'queued']]);
    expect((await store.deliveriesOf(next.message.id)).map((d) => [d.recipient, d.state])).toEqual([['test:local/c', 'queued']]);
    expect(await db.messages.count()).toBe(5);
    expect(await db.deliveries.count()).toBe(5);
  });

  it('stores nothing of a batch when one record cannot be stored, and says why', async () => {
    const { store, db } = await storeWith(2);
    const good = entry(['test:local/a']);
    const bad = entry(['test:local/a']);
    (bad.message as { body: unknown }).body = { text: 'x', run: () => undefined }; // a function cannot be stored
    await expect(store.insert([good, bad])).rejects.toThrow();
    expect(await db.messages.count()).toBe(2);
    expect(await db.deliveries.count()).toBe(2);
    expect(await store.insert([good])).toEqual([true]); // the store still takes what it can
  });
});
