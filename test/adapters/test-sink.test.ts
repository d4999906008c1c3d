import { describe, expect, it } from 'vitest';
import { TestSinkAdapter } from '../../src/adapters/test-sink';
import { TestSinkDb } from '../../src/storage/db';
import { newMessageId, type Envelope } from '../../src/protocol/envelope';

const TO = 'test:local/inbox';

function envelope(): Envelope {
  const id = newMessageId();
  return {
    id, from: 'extension:local/popup', to: [TO], replyTo: 'extension:local/popup', threadId: id, kind: 'note',
    body: { text: id }, priority: 'normal', ttl: 'medium', createdAt: 1, hops: 0, ackRequired: false,
  };
}

describe('TestSinkAdapter', () => {
  it('applies a new message and counts a redelivery that arrive in one batch, each once', async () => {
    const db = new TestSinkDb(`sink-test-${Math.random()}`);
    const sink = new TestSinkAdapter(db, async () => undefined);
    const old = envelope();
    await sink.deliver({ envelope: old, recipient: TO, attempt: 1 });
    const fresh = envelope();
    // Both in the same task: one batch, which the receipt already stored makes go the careful way.
    const outcomes = await Promise.all([sink.deliver({ envelope: old, recipient: TO, attempt: 2 }), sink.deliver({ envelope: fresh, recipient: TO, attempt: 1 })]);
    expect(outcomes).toEqual([{ status: 'delivered' }, { status: 'delivered' }]);
    expect((await db.sinkEffects.toArray()).map((e) => e.messageId).sort()).toEqual([old.id, fresh.id].sort());
    expect((await db.sinkReceipts.get([TO, old.id]))!.duplicates).toBe(1);
    expect((await db.sinkReceipts.get([TO, fresh.id]))!.duplicates).toBe(0);
  });
});
