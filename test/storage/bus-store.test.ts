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
