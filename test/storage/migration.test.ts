import Dexie from 'dexie';
import { describe, expect, it } from 'vitest';
import { SCHEMA_V1, SwitchboardDb } from '../../src/storage/db';
import { DexieBusStore } from '../../src/storage/bus-store';
import { DEFAULT_TTL_MS, type Envelope } from '../../src/protocol/envelope';
import type { Delivery } from '../../src/bus/delivery';

const id1 = '019a0000-0000-7000-8000-000000000001';
const id2 = '019a0000-0000-7000-8000-000000000002';
const envelope = (id: string, text: string, ttl: Envelope['ttl']): Envelope => ({
  id, from: 'extension:local/popup', to: ['test:local/a'], replyTo: 'extension:local/popup', threadId: id, kind: 'note',
  body: { text }, priority: 'normal', ttl, createdAt: 1_000, hops: 0, ackRequired: false,
});
const delivery = (messageId: string, state: Delivery['state'], at: number): Delivery => ({
  messageId, recipient: 'test:local/a', state, priority: 2, attempts: state === 'queued' ? 0 : 1, ackRequired: false, once: false,
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
    await db.open();
    expect(db.verno).toBe(2);
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
    expect((await db.deliveries.where('dueAt').belowOrEqual(2_000).toArray()).map((d) => d.messageId)).toEqual([id2]);
  });
});
