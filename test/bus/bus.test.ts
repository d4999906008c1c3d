import { describe, expect, it, vi } from 'vitest';
import { busFixture, until } from '../support/bus-fixture';
import { retryDelay, DEFAULT_RETRY_POLICY } from '../../src/bus/delivery';
import { ValidationError } from '../../src/protocol/envelope';
import { BURST_SENDS, MAX_HOLD_FOR_SENDS_MS, MAX_UNREAD_CHANGES, type DeliveryChange } from '../../src/bus/bus';
import type { DeliveryAttempt, DeliveryOutcome } from '../../src/bus/ports';
import { TestSinkAdapter } from '../../src/adapters/test-sink';

const SENDER = 'extension:local/popup';
const CODE = 'claude-code:laptop/session-1';

const states = (history: { state: string }[]) => history.map((h) => h.state);

describe('Bus: delivery states', () => {
  it('walks queued → sent → delivered → acked, recording the time of each step', async () => {
    const { make, clock, scripted, advance } = busFixture();
    const bus = make();
    await bus.start();
    const t0 = clock.now();
    const receipt = await bus.send({ from: SENDER, to: CODE, body: 'hello', ackRequired: true });
    await bus.settled();
    expect(scripted.calls).toHaveLength(1);

    let status = await bus.status(receipt.id);
    expect(status!.deliveries[0].state).toBe('delivered');

    await advance(250);
    await bus.ack(receipt.id, CODE);
    status = await bus.status(receipt.id);
    const [delivery] = status!.deliveries;
    expect(delivery.state).toBe('acked');
    expect(delivery.history).toEqual([
      { state: 'queued', at: t0 },
      { state: 'sent', at: t0 },
      { state: 'delivered', at: t0 },
      { state: 'acked', at: t0 + 250 },
    ]);
    expect(delivery.dueAt).toBeUndefined();
  });

  it('fills in what the sender left out: id, thread, replyTo = sender, defaults', async () => {
    const { make } = busFixture();
    const bus = make();
    await bus.start();
    const first = await bus.send({ from: SENDER, to: CODE, body: 'question' });
    const reply = await bus.send({ from: CODE, to: SENDER, kind: 'reply', inReplyTo: first.id, body: 'answer' });
    const { message } = (await bus.status(reply.id))!;
    expect(message).toMatchObject({ replyTo: CODE, threadId: first.id, priority: 'normal', ttl: 'medium', hops: 0, ackRequired: false });
    expect(reply.threadId).toBe(first.id);
    // time-ordered ids
    expect(reply.id > first.id).toBe(true);
  });

  it('keeps "ask A, send the answer to B" in replyTo', async () => {
    const { make } = busFixture();
    const bus = make();
    await bus.start();
    const { id } = await bus.send({ from: SENDER, to: CODE, replyTo: 'claude-ai:laptop/chat-9', kind: 'prompt', body: 'review this' });
    expect((await bus.status(id))!.message.replyTo).toBe('claude-ai:laptop/chat-9');
  });

  it('ends delivered when no ack is asked for', async () => {
    const { make } = busFixture();
    const bus = make();
    await bus.start();
    const { id } = await bus.send({ from: SENDER, to: CODE, body: 'fyi' });
    await bus.settled();
    const [delivery] = (await bus.status(id))!.deliveries;
    expect(delivery.state).toBe('delivered');
    expect(delivery.dueAt).toBeUndefined();
  });

  it('tells subscribers about every change', async () => {
    const { make } = busFixture();
    const bus = make();
    await bus.start();
    const seen: DeliveryChange[] = [];
    bus.subscribe((changes) => seen.push(...changes));
    const { id } = await bus.send({ from: SENDER, to: CODE, body: 'watch me' });
    await bus.settled();
    expect(seen.filter((c) => c.messageId === id).map((c) => c.state)).toEqual(['queued', 'sent', 'delivered']);
  });

  it('lists messages by thread, by agent and by state', async () => {
    const { make, scripted } = busFixture();
    const bus = make();
    await bus.start();
    scripted.script = ({ envelope }) => (envelope.body.text === 'bad' ? { status: 'failed', reason: 'nope' } : { status: 'delivered' });
    const a = await bus.send({ from: SENDER, to: CODE, body: 'one' });
    const b = await bus.send({ from: CODE, to: SENDER.replace('popup', 'dashboard'), inReplyTo: a.id, body: 'two' });
    const c = await bus.send({ from: SENDER, to: 'claude-code:laptop/other', body: 'bad' });
    await bus.settled();
    expect((await bus.list({ threadId: a.id })).map((e) => e.message.id)).toEqual([b.id, a.id]);
    expect((await bus.list({ agent: CODE })).map((e) => e.message.id)).toEqual([b.id, a.id]);
    expect((await bus.list({ state: 'failed' })).map((e) => e.message.id)).toEqual([c.id]);
    expect((await bus.list({ agent: CODE, state: 'failed' }))).toEqual([]);
    expect((await bus.list({ limit: 2 })).map((e) => e.message.id)).toEqual([c.id, b.id]);
  });
});

describe('Bus: retries', () => {
  it('retries with exponential backoff and jitter on the clock, then delivers', async () => {
    const { make, clock, scripted, advance } = busFixture();
    const bus = make();
    await bus.start();
    scripted.script = ({ attempt }) => (attempt <= 2 ? { status: 'retry', reason: `busy ${attempt}` } : { status: 'delivered' });
    const t0 = clock.now();
    const { id } = await bus.send({ from: SENDER, to: CODE, body: 'try hard' });
    await bus.settled();
    const first = retryDelay(1, DEFAULT_RETRY_POLICY, 0.5); // 750 ms
    const second = retryDelay(2, DEFAULT_RETRY_POLICY, 0.5); // 1,500 ms
    expect([first, second]).toEqual([750, 1500]);

    await advance(first - 1);
    await bus.settled();
    expect(scripted.calls).toHaveLength(1);
    await advance(1);
    await bus.settled();
    await advance(second);
    await bus.settled();
    expect(scripted.calls.map((c) => c.at - t0)).toEqual([0, first, first + second]);

    const [delivery] = (await bus.status(id))!.deliveries;
    expect(delivery.state).toBe('delivered');
    expect(delivery.attempts).toBe(3);
    expect(states(delivery.history)).toEqual(['queued', 'sent', 'queued', 'sent', 'queued', 'sent', 'delivered']);
    expect(delivery.history[2].note).toBe('busy 1; retry in 750 ms');
  });

  it('keeps jittered waits within [half, full] of the exponential step and under the cap', () => {
    const policy = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 100, factor: 3, maxDelayMs: 2_000 };
    expect(retryDelay(1, policy, 0)).toBe(50);
    expect(retryDelay(1, policy, 0.999999)).toBe(100);
    expect(retryDelay(3, policy, 0)).toBe(450);
    expect(retryDelay(10, policy, 0)).toBe(1_000);
    expect(retryDelay(10, policy, 0.999999)).toBe(2_000);
  });

  it('fails for good after the last attempt, saying why', async () => {
    const { make, scripted, advance } = busFixture({ retry: { maxAttempts: 3 } });
    const bus = make();
    await bus.start();
    scripted.script = () => ({ status: 'retry', reason: 'tab closed' });
    const { id } = await bus.send({ from: SENDER, to: CODE, body: 'never' });
    for (let i = 0; i < 5; i++) {
      await bus.settled();
      await advance(60_000);
    }
    await bus.settled();
    const [delivery] = (await bus.status(id))!.deliveries;
    expect(scripted.calls).toHaveLength(3);
    expect(delivery.state).toBe('failed');
    expect(delivery.lastError).toBe('tab closed');
    expect(delivery.history.at(-1)!.note).toBe('tab closed (gave up after 3 attempts)');
    expect(delivery.dueAt).toBeUndefined();
  });

  it('fails at once on a permanent error, and counts a thrown error as retryable', async () => {
    const { make, scripted, advance } = busFixture();
    const bus = make();
    await bus.start();
    scripted.script = ({ envelope, attempt }) => {
      if (envelope.body.text === 'permanent') return { status: 'failed', reason: 'no such session' };
      if (attempt === 1) throw new Error('socket reset');
      return { status: 'delivered' };
    };
    const permanent = await bus.send({ from: SENDER, to: CODE, body: 'permanent' });
    const thrown = await bus.send({ from: SENDER, to: CODE, body: 'thrown' });
    await bus.settled();
    await advance(1_000);
    await bus.settled();
    const [p] = (await bus.status(permanent.id))!.deliveries;
    const [t] = (await bus.status(thrown.id))!.deliveries;
    expect([p.state, p.attempts, p.lastError]).toEqual(['failed', 1, 'no such session']);
    expect([t.state, t.attempts]).toEqual(['delivered', 2]);
    expect(t.history[2].note).toMatch(/^socket reset; retry in/);
  });

  it('waits, then retries, when no adapter serves the kind', async () => {
    const { make, advance } = busFixture();
    const bus = make();
    await bus.start();
    const { id } = await bus.send({ from: SENDER, to: 'claude-desktop:laptop/app', body: 'hi' });
    await bus.settled();
    let [d] = (await bus.status(id))!.deliveries;
    expect([d.state, d.attempts]).toEqual(['queued', 1]);
    expect(d.lastError).toBe('no adapter for claude-desktop agents is connected');
    await advance(750);
    [d] = (await bus.status(id))!.deliveries;
    expect([d.state, d.attempts]).toEqual(['queued', 2]);
  });

  it('frees the slot of an adapter that never answers, so later messages still go', async () => {
    const { make, clock, scripted } = busFixture({ maxInFlight: 2, retry: { attemptTimeoutMs: 1_000 } });
    const bus = make();
    await bus.start();
    await bus.settled();
    scripted.script = ({ envelope, attempt }) => (envelope.body.text.startsWith('hang') && attempt === 1 ? new Promise(() => {}) : { status: 'delivered' });
    const hung = [await bus.send({ from: SENDER, to: CODE, body: 'hang 1' }), await bus.send({ from: SENDER, to: CODE, body: 'hang 2' })];
    const later = await bus.send({ from: SENDER, to: CODE, body: 'later' });
    const settle = () => bus.settled({ attempts: false });
    await clock.advance(1_000, settle);
    await clock.advance(1_000, settle);
    await until(async () => (await bus.status(later.id))!.deliveries[0].state === 'delivered');
    for (const { id } of hung) {
      await until(async () => (await bus.status(id))!.deliveries[0].state === 'delivered');
      expect((await bus.status(id))!.deliveries[0].history[2].note).toMatch(/^attempt timed out after 1000 ms; retry in/);
    }
  });

  it('keeps going when a change listener throws, and drops that listener', async () => {
    const { make } = busFixture();
    const bus = make();
    await bus.start();
    await bus.settled();
    let calls = 0;
    bus.subscribe(() => {
      calls++;
      throw new Error('Attempting to use a disconnected port object');
    });
    const { id } = await bus.send({ from: SENDER, to: CODE, body: 'still delivered' });
    await bus.settled();
    expect((await bus.status(id))!.deliveries[0].state).toBe('delivered');
    expect(calls).toBe(1);
  });

  it('times out an attempt that never answers and ignores its late answer', async () => {
    const { make, clock, scripted } = busFixture({ retry: { attemptTimeoutMs: 5_000 } });
    const bus = make();
    await bus.start();
    let release!: () => void;
    scripted.script = ({ attempt }) =>
      attempt === 1 ? new Promise((resolve) => (release = () => resolve({ status: 'failed', reason: 'late' }))) : { status: 'delivered' };
    const { id } = await bus.send({ from: SENDER, to: CODE, body: 'slow' });
    await until(() => scripted.calls.length === 1);
    // the first attempt never ends, so settle without waiting for attempts
    const settle = () => bus.settled({ attempts: false });
    await clock.advance(5_000, settle);
    expect((await bus.status(id))!.deliveries[0].state).toBe('queued');
    await clock.advance(1_000, settle);
    await until(() => scripted.calls.length === 2);
    await until(async () => (await bus.status(id))!.deliveries[0].state === 'delivered');
    release();
    await bus.settled();
    const [d] = (await bus.status(id))!.deliveries;
    expect(d.state).toBe('delivered');
    expect(d.history[2].note).toMatch(/^attempt timed out after 5000 ms/);
  });
});

describe('Bus: priority', () => {
  it.each([
    ['a backlog larger than a batch (a query per level)', { batchSize: 2, maxInFlight: 1 }],
    ['everything due in one batch (one query, ordered in memory)', {}],
  ])('delivers the most urgent first, first-in first-out within a level: %s', async (_, options) => {
    const { make, scripted } = busFixture(options);
    const bus = make();
    // Queue while stopped, so every message is waiting when delivery begins.
    const order = ['low', 'normal', 'critical', 'bulk', 'normal', 'high', 'critical', 'low'] as const;
    for (const [i, priority] of order.entries()) await bus.send({ from: SENDER, to: CODE, body: `${priority} ${i}`, priority });
    expect(scripted.calls).toHaveLength(0);
    await bus.start();
    await bus.settled();
    expect(scripted.calls.map((c) => c.text)).toEqual([
      'critical 2',
      'critical 6',
      'high 5',
      'normal 1',
      'normal 4',
      'low 0',
      'low 7',
      'bulk 3',
    ]);
  });
});

describe('Bus: dedupe and exactly one effect', () => {
  it('dedupes a redelivery at the receiver when the confirmation was lost', async () => {
    const { make, advance, sinkDb } = busFixture();
    const bus = make();
    await bus.start();
    const to = 'test:local/lose-1.a';
    const { id } = await bus.send({ from: SENDER, to, body: 'once only' });
    await bus.settled();
    await advance(1_000);
    await bus.settled();
    const [d] = (await bus.status(id))!.deliveries;
    expect([d.state, d.attempts]).toEqual(['delivered', 2]);
    expect(await sinkDb.sinkEffects.where('messageId').equals(id).count()).toBe(1);
    expect((await sinkDb.sinkReceipts.get([to, id]))!.duplicates).toBe(1);
  });

  it('accepts a resent id once', async () => {
    const { make, db, sinkDb } = busFixture();
    const bus = make();
    await bus.start();
    const first = await bus.send({ from: SENDER, to: 'test:local/inbox', body: 'x' });
    const again = await bus.send({ id: first.id, from: SENDER, to: 'test:local/inbox', body: 'x' });
    const [c1, c2] = await Promise.all([
      bus.send({ id: '019a0000-0000-7000-8000-000000000001', from: SENDER, to: 'test:local/inbox', body: 'y' }),
      bus.send({ id: '019a0000-0000-7000-8000-000000000001', from: SENDER, to: 'test:local/inbox', body: 'y' }),
    ]);
    await bus.settled();
    expect([first.duplicate, again.duplicate, c1.duplicate, c2.duplicate]).toEqual([false, true, false, true]);
    // A resend that names other recipients is told what was stored, not what it asked for.
    const changed = await bus.send({ id: first.id, from: SENDER, to: 'test:local/elsewhere', body: 'x' });
    expect(changed).toEqual({ id: first.id, threadId: first.id, recipients: ['test:local/inbox'], duplicate: true, routedBy: [] });
    expect(await sinkDb.sinkEffects.count()).toBe(2);
    expect(await db.messages.count()).toBe(2);
  });
});

describe('Bus: acks', () => {
  it('redelivers when no ack comes in time, and fails after the last attempt', async () => {
    const { make, advance, sinkDb } = busFixture({ retry: { ackTimeoutMs: 10_000, maxAttempts: 2 } });
    const bus = make();
    await bus.start();
    const to = 'test:local/noack';
    const { id } = await bus.send({ from: SENDER, to, body: 'ack me', ackRequired: true });
    await bus.settled();
    expect((await bus.status(id))!.deliveries[0].state).toBe('delivered');
    await advance(10_000);
    await bus.settled();
    let [d] = (await bus.status(id))!.deliveries;
    expect([d.state, d.lastError]).toEqual(['queued', 'no ack within 10000 ms']);
    await advance(1_000);
    await bus.settled();
    await advance(10_000);
    await bus.settled();
    [d] = (await bus.status(id))!.deliveries;
    expect([d.state, d.attempts]).toEqual(['failed', 2]);
    expect(d.history.at(-1)!.note).toBe('no ack within 10000 ms (gave up after 2 attempts)');
    // the receiver saw it twice and applied it once
    expect(await sinkDb.sinkEffects.count()).toBe(1);
    expect((await sinkDb.sinkReceipts.get([to, id]))!.duplicates).toBe(1);
  });

  it('acks through the adapter when the message asks for it', async () => {
    const { make } = busFixture();
    const bus = make();
    await bus.start();
    const { id } = await bus.send({ from: SENDER, to: 'test:local/inbox', body: 'ack me', ackRequired: true });
    await until(async () => (await bus.status(id))!.deliveries[0].state === 'acked');
    expect(states((await bus.status(id))!.deliveries[0].history)).toEqual(['queued', 'sent', 'delivered', 'acked']);
  });

  it('treats a repeated ack as a no-op and rejects an ack for what was never sent', async () => {
    const { make } = busFixture();
    const bus = make();
    const { id } = await bus.send({ from: SENDER, to: CODE, body: 'x', ackRequired: true });
    await expect(bus.ack(id, CODE)).rejects.toThrow(`${CODE} cannot ack ${id}: it was never sent there`);
    await expect(bus.ack(id, 'claude-code:laptop/stranger')).rejects.toThrow(`no message ${id} for claude-code:laptop/stranger`);
    await bus.start();
    await bus.settled();
    await bus.ack(id, CODE);
    const acked = await bus.ack(id, CODE);
    expect(acked.state).toBe('acked');
    expect(acked.history.filter((h) => h.state === 'acked')).toHaveLength(1);
  });
});

describe('Bus: TTL', () => {
  it('expires what could not be delivered before its TTL', async () => {
    const { make, scripted, advance } = busFixture({ ttlMs: { short: 5_000 } });
    const bus = make();
    await bus.start();
    scripted.script = () => ({ status: 'retry', reason: 'offline' });
    const { id } = await bus.send({ from: SENDER, to: CODE, body: 'soon stale', ttl: 'short' });
    for (let i = 0; i < 10; i++) {
      await bus.settled();
      await advance(1_000);
    }
    await bus.settled();
    const [d] = (await bus.status(id))!.deliveries;
    expect(d.state).toBe('expired');
    expect(d.history.at(-1)).toEqual({ state: 'expired', at: d.expiresAt, note: 'TTL passed before delivery' });
  });

  it('counts TTL from creation, but never from a creation time in the future', async () => {
    const { make, clock, scripted } = busFixture({ ttlMs: { short: 60_000 } });
    const bus = make();
    await bus.start();
    await bus.settled();
    const stale = await bus.send({ from: SENDER, to: CODE, body: 'relayed too late', ttl: 'short', createdAt: clock.now() - 120_000 });
    const future = await bus.send({ from: SENDER, to: CODE, body: 'from a fast clock', ttl: 'short', createdAt: clock.now() + 3_600_000 });
    await bus.settled();
    const [s] = (await bus.status(stale.id))!.deliveries;
    expect([s.state, s.attempts]).toEqual(['expired', 0]);
    const [f] = (await bus.status(future.id))!.deliveries;
    expect(f.expiresAt).toBe(clock.now() + 60_000);
    expect(scripted.calls.map((c) => c.text)).toEqual(['from a fast clock']);
  });

  it('gives an immediate message one attempt only', async () => {
    const { make, scripted } = busFixture();
    const bus = make();
    await bus.start();
    scripted.script = () => ({ status: 'retry', reason: 'not now' });
    const { id } = await bus.send({ from: SENDER, to: CODE, body: 'typing…', ttl: 'immediate' });
    await bus.settled();
    const [d] = (await bus.status(id))!.deliveries;
    expect([d.state, d.attempts, d.lastError]).toEqual(['failed', 1, 'not now']);
  });
});

describe('Bus: hop limit and bad input', () => {
  it('accepts up to the hop limit and rejects past it, naming the field', async () => {
    const { make, db } = busFixture();
    const bus = make();
    await bus.start();
    await expect(bus.send({ from: SENDER, to: CODE, body: 'loop', hops: 8 })).resolves.toMatchObject({ duplicate: false });
    await expect(bus.send({ from: SENDER, to: CODE, body: 'loop', hops: 9 })).rejects.toThrow('invalid message: hops: hop limit of 8 exceeded');
    expect(await db.messages.count()).toBe(1);
  });

  it('rejects bad input with every bad field named, stores nothing, and keeps working', async () => {
    const { make, db } = busFixture();
    const bus = make();
    await bus.start();
    const error = await bus.send({ from: 'me', to: ['claude-code:laptop/x', 'mars:base/1'], body: '', priority: 'urgent', extra: 1 }).catch((e) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.issues.map((i: { field: string }) => i.field)).toEqual(['from', 'to[1]', 'body', 'priority', '']);
    expect(error.message).toContain('to[1]: expected an address like "kind:device/instance"');
    expect(error.message).toContain('got "mars:base/1"');
    expect(error.message).toContain('Unrecognized key: "extra"');
    await expect(bus.send(null)).rejects.toThrow('invalid message: Invalid input: expected object, received null');
    await expect(bus.send({ from: SENDER, to: [], body: 'x' })).rejects.toThrow('to: needs at least one recipient');
    expect(await db.messages.count()).toBe(0);
    expect(await db.deliveries.count()).toBe(0);
    await expect(bus.send({ from: SENDER, to: 'test:local/ok', body: 'still fine' })).resolves.toBeTruthy();
  });
});

describe('Bus: durability', () => {
  it('group-commits sends that arrive together in one transaction', async () => {
    const { make, store } = busFixture();
    const bus = make();
    let inserts = 0;
    const insert = store.insert.bind(store);
    store.insert = (entries) => (inserts++, insert(entries));
    const receipts = await Promise.all(Array.from({ length: 50 }, (_, i) => bus.send({ from: SENDER, to: CODE, body: `m${i}` })));
    expect(inserts).toBe(1);
    expect(new Set(receipts.map((r) => r.id)).size).toBe(50);
  });

  it('begins the next commit of sends while one runs, and starts their attempts in the order sent', async () => {
    const { make, store, scripted } = busFixture();
    const bus = make();
    await bus.start();
    // The first commit's writes finish last: the second must still not overtake it.
    const insert = store.insert.bind(store);
    let release!: () => void;
    const slow = new Promise<void>((resolve) => (release = resolve));
    let inserts = 0;
    store.insert = async (entries) => {
      const n = ++inserts;
      const stored = await insert(entries);
      if (n === 1) await slow;
      return stored;
    };
    // Sent while the starting bus's pump may still look for due work, the first may be queued for
    // the pump; the second comes after that pump is done: it must not start ahead of the first.
    const first = bus.send({ from: SENDER, to: CODE, body: 'first' });
    await until(() => inserts === 1);
    await new Promise((resolve) => setTimeout(resolve, 10));
    const second = bus.send({ from: SENDER, to: CODE, body: 'second' });
    await until(() => inserts === 2);
    let secondDone = false;
    void second.then(() => (secondDone = true));
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(secondDone, 'the second commit finished before the first').toBe(false);
    expect(scripted.calls).toEqual([]);
    release();
    await Promise.all([first, second]);
    await bus.settled();
    expect(scripted.calls.map((c) => c.text)).toEqual(['first', 'second']);
  });

  it('resolves a send only once it is committed', async () => {
    const { make, db } = busFixture();
    const bus = make();
    const { id } = await bus.send({ from: SENDER, to: CODE, body: 'durable' });
    // a second connection to the same database sees it
    const { SwitchboardDb } = await import('../../src/storage/db');
    const other = new SwitchboardDb(db.name);
    expect((await other.messages.get(id))?.body.text).toBe('durable');
    expect((await other.deliveries.get([id, CODE]))?.state).toBe('queued');
    other.close();
  });

  it('a new bus over the same store retries what the old one was in the middle of; the receiver dedupes', async () => {
    const { make, store, scripted, sinkDb, clock, advance } = busFixture();
    // The old worker's receiver applies the effect, then the worker dies before the outcome is recorded.
    class DyingSink extends TestSinkAdapter {
      async deliver(attempt: DeliveryAttempt): Promise<DeliveryOutcome> {
        await super.deliver(attempt);
        return new Promise(() => {});
      }
    }
    const old = make((ack) => new DyingSink(sinkDb, ack));
    await old.start();
    scripted.script = () => new Promise(() => {});
    const toSink = await old.send({ from: SENDER, to: 'test:local/inbox', body: 'mid-flight' });
    const toCode = await old.send({ from: SENDER, to: CODE, body: 'mid-flight too' });
    await until(async () => (await store.inState('sent')).length === 2 && (await sinkDb.sinkEffects.count()) === 1);

    scripted.script = () => ({ status: 'delivered' });
    clock.dropTimers(); // the old worker is gone, and its timers with it
    const restarted = make();
    await restarted.start();
    await restarted.settled();
    // The interrupted attempts count as failed: retried after the first backoff.
    await advance(750);
    for (const id of [toSink.id, toCode.id]) {
      const [d] = (await restarted.status(id))!.deliveries;
      expect(d.state).toBe('delivered');
      expect(d.attempts).toBe(2);
      expect(d.history[2].note).toBe('attempt interrupted: the service worker stopped; retry in 750 ms');
    }
    expect(await sinkDb.sinkEffects.where('messageId').equals(toSink.id).count()).toBe(1);
    expect((await sinkDb.sinkReceipts.get(['test:local/inbox', toSink.id]))!.duplicates).toBe(1);
  });

  it('counts an interrupted attempt against the limit, so a message that kills the worker cannot loop', async () => {
    const { make, store, db, scripted, clock } = busFixture({ retry: { maxAttempts: 2 } });
    scripted.script = () => new Promise(() => {}); // the worker dies in every attempt
    const first = make();
    await first.start();
    const once = await first.send({ from: SENDER, to: CODE, body: 'now or never', ttl: 'immediate' });
    const twice = await first.send({ from: SENDER, to: 'claude-code:laptop/other', body: 'two tries' });
    await until(async () => (await store.counts()).sent === 2);
    for (let restart = 0; restart < 3; restart++) {
      clock.dropTimers();
      const next = make();
      await next.start();
      await next.settled({ attempts: false });
      await clock.advance(1_000, () => next.settled({ attempts: false }));
    }
    const [a] = await store.deliveriesOf(once.id);
    const [b] = await store.deliveriesOf(twice.id);
    expect([a.state, a.attempts, a.lastError]).toEqual(['failed', 1, 'attempt interrupted: the service worker stopped']);
    expect([b.state, b.attempts]).toEqual(['failed', 2]);
    expect(scripted.calls).toHaveLength(3);
  });

  it('reports the next due time to the backstop, and nothing once all is done', async () => {
    const dues: (number | undefined)[] = [];
    const { make, clock, scripted, advance } = busFixture({ onNextDue: (at) => dues.push(at) });
    const bus = make();
    await bus.start();
    scripted.script = ({ attempt }) => (attempt === 1 ? { status: 'retry', reason: 'later' } : { status: 'delivered' });
    const t0 = clock.now();
    await bus.send({ from: SENDER, to: CODE, body: 'x' });
    await bus.settled();
    expect(dues.at(-1)).toBe(t0 + 750);
    await advance(750);
    // The last attempt's lease is still armed (armed without a store read); when it fires it finds
    // nothing due, and the backstop is cleared.
    expect(dues.at(-1)).toBe(t0 + 750 + DEFAULT_RETRY_POLICY.attemptTimeoutMs);
    await advance(DEFAULT_RETRY_POLICY.attemptTimeoutMs);
    expect(dues.at(-1)).toBeUndefined();
  });
});

describe('Bus: metrics', () => {
  it('counts its transactions and what they carried', async () => {
    const { make } = busFixture();
    const bus = make();
    await bus.start();
    await Promise.all(Array.from({ length: 10 }, (_, i) => bus.send({ from: SENDER, to: CODE, body: `m${i}` })));
    await bus.settled();
    expect(bus.metrics).toMatchObject({ sendCommits: 1, messagesCommitted: 10, changesCommitted: 10, changeRereads: 0 });
    expect(bus.metrics.deliveriesClaimed + bus.metrics.startedOnSend).toBe(10);
    expect(bus.metrics.changeCommits).toBeGreaterThanOrEqual(1);
  });
});

describe('Bus: writing outcomes', () => {
  it('writes a small batch without reading it first, and reads a large one in one go', async () => {
    const { make, store } = busFixture();
    const bus = make();
    await bus.start();
    const unread = vi.spyOn(store, 'replaceIfUnchanged');
    const read = vi.spyOn(store, 'update');
    await bus.send({ from: SENDER, to: CODE, body: 'alone' });
    await bus.settled();
    expect(unread.mock.calls.map(([changes]) => changes.length)).toEqual([1]);
    expect(read).not.toHaveBeenCalled();
    const ids = (await Promise.all(Array.from({ length: 30 }, (_, i) => bus.send({ from: SENDER, to: CODE, body: `m${i}` })))).map((r) => r.id);
    await bus.settled();
    expect(unread.mock.calls.every(([changes]) => changes.length <= MAX_UNREAD_CHANGES)).toBe(true);
    expect(read.mock.calls.some(([keys]) => keys.length > MAX_UNREAD_CHANGES)).toBe(true);
    for (const id of ids) expect((await bus.status(id))!.deliveries[0].state).toBe('delivered');
    expect(bus.metrics.changeRereads).toBe(0);
  });
});

describe('Bus: the fast path', () => {
  it('starts attempts straight from the commit when nothing waits, recording every step', async () => {
    const { make, clock } = busFixture();
    const bus = make();
    await bus.start();
    await bus.settled();
    const claimsBefore = bus.metrics.claimCommits;
    const seen: DeliveryChange[] = [];
    bus.subscribe((changes) => seen.push(...changes));
    const t0 = clock.now();
    const { id } = await bus.send({ from: SENDER, to: [CODE, 'test:local/inbox'], body: 'quick' });
    await bus.settled();
    expect(bus.metrics.startedOnSend).toBe(2);
    expect(bus.metrics.claimCommits).toBe(claimsBefore);
    for (const d of (await bus.status(id))!.deliveries) {
      expect(d.history).toEqual([
        { state: 'queued', at: t0 },
        { state: 'sent', at: t0 },
        { state: 'delivered', at: t0 },
      ]);
    }
    expect(seen.filter((c) => c.recipient === CODE).map((c) => c.state)).toEqual(['queued', 'sent', 'delivered']);
  });

  it('queues behind waiting work, in priority order, when attempts are at their limit', async () => {
    const { make, scripted } = busFixture({ maxInFlight: 1 });
    const bus = make();
    await bus.start();
    await bus.settled();
    let release!: () => void;
    scripted.script = ({ envelope }) =>
      envelope.body.text === 'blocker' ? new Promise((resolve) => (release = () => resolve({ status: 'delivered' }))) : { status: 'delivered' };
    await bus.send({ from: SENDER, to: CODE, body: 'blocker' });
    await until(() => scripted.calls.length === 1);
    for (const priority of ['low', 'critical', 'normal'] as const) await bus.send({ from: SENDER, to: CODE, body: priority, priority });
    expect(scripted.calls).toHaveLength(1);
    release();
    await bus.settled();
    expect(scripted.calls.map((c) => c.text)).toEqual(['blocker', 'critical', 'normal', 'low']);
    expect(bus.metrics.startedOnSend).toBe(1);
  });
});

describe('Bus: bursts', () => {
  /** Holds the store's commits of sends until each is released, in order. */
  function gateInserts(store: ReturnType<typeof busFixture>['store']) {
    const insert = store.insert.bind(store);
    const gates: (() => void)[] = [];
    vi.spyOn(store, 'insert').mockImplementation(async (entries) => {
      await new Promise<void>((resolve) => gates.push(resolve));
      return insert(entries);
    });
    return gates;
  }

  it("holds a burst's attempts until the burst is committed: accepting comes first", async () => {
    const { make, scripted, store, db } = busFixture();
    const bus = make();
    await bus.start();
    await bus.settled();
    const storedAtAttempts: number[] = [];
    scripted.script = async () => {
      storedAtAttempts.push(await db.messages.count());
      return { status: 'delivered' };
    };
    const gates = gateInserts(store);
    const first = bus.send({ from: SENDER, to: CODE, body: 'first' });
    await until(() => gates.length === 1);
    // BURST_SENDS or more arrive while the first commits: a burst.
    const rest = Array.from({ length: BURST_SENDS + 4 }, (_, i) => bus.send({ from: SENDER, to: CODE, body: `burst ${i}` }));
    await new Promise((r) => setTimeout(r, 20));
    gates[0]();
    await first;
    await new Promise((r) => setTimeout(r, 20));
    expect(scripted.calls).toHaveLength(0); // the first message is committed, but its attempt waits for the burst
    await until(() => gates.length === 2);
    gates[1]();
    await Promise.all(rest);
    await bus.settled();
    expect(new Set(storedAtAttempts)).toEqual(new Set([BURST_SENDS + 5])); // no attempt ran before the whole burst was stored
    expect(scripted.calls.map((c) => c.text)).toEqual(['first', ...Array.from({ length: BURST_SENDS + 4 }, (_, i) => `burst ${i}`)]);
  });

  it('does not hold a send for a few others: a steady stream starts each attempt at once', async () => {
    const { make, scripted, store } = busFixture();
    const bus = make();
    await bus.start();
    await bus.settled();
    const gates = gateInserts(store);
    const first = bus.send({ from: SENDER, to: CODE, body: 'first' });
    await until(() => gates.length === 1);
    const next = bus.send({ from: SENDER, to: CODE, body: 'next' });
    await new Promise((r) => setTimeout(r, 20));
    gates[0]();
    await first;
    await until(() => scripted.calls.length === 1);
    await until(() => gates.length === 2);
    gates[1]();
    await next;
    await bus.settled();
    expect(scripted.calls.map((c) => c.text)).toEqual(['first', 'next']);
  });

  it(`starts held attempts after ${MAX_HOLD_FOR_SENDS_MS} ms even while sends keep coming`, async () => {
    const { make, scripted, store, clock } = busFixture();
    const bus = make();
    await bus.start();
    await bus.settled();
    const gates = gateInserts(store);
    const sendMany = (tag: string) => Array.from({ length: BURST_SENDS }, (_, i) => bus.send({ from: SENDER, to: CODE, body: `${tag} ${i}` }));
    const first = bus.send({ from: SENDER, to: CODE, body: 'first' });
    await until(() => gates.length === 1);
    const second = sendMany('second');
    await new Promise((r) => setTimeout(r, 20));
    gates[0](); // commits 'first'; a burst waits: its attempt is held
    await first;
    await until(() => gates.length === 2);
    const third = sendMany('third');
    await new Promise((r) => setTimeout(r, 20));
    await clock.advance(MAX_HOLD_FOR_SENDS_MS);
    gates[1](); // commits the second group; the third still waits, but 'first' has been held long enough
    await Promise.all(second);
    await until(() => scripted.calls.length === BURST_SENDS + 1);
    await until(() => gates.length === 3);
    gates[2]();
    await Promise.all(third);
    await bus.settled();
    expect(scripted.calls).toHaveLength(2 * BURST_SENDS + 1);
  });
});
