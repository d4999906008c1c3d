import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Envelope, ValidationError, newMessageId, parseOrThrow } from '../../src/protocol/envelope';
import { Inbox } from '../../native-host/inbox';
import { Journal } from '../../native-host/journal';
import type { InboxMessage } from '../../native-host/ports';
import { envelopeFor } from '../support/envelopes';

const BOT = 'api:local/ci-bot';
const OTHER = 'api:local/other';
const HOUR = 3_600_000;

let dir: string;
let warnings: string[];
const opened: Inbox[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchboard-inbox-'));
  warnings = [];
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((inbox) => inbox.close().catch(() => {})));
  await rm(dir, { recursive: true, force: true });
});

async function openInbox(retentionMs?: number): Promise<Inbox> {
  const inbox = await Inbox.open({ dir, retentionMs, onWarning: (text) => warnings.push(text) });
  opened.push(inbox);
  return inbox;
}

async function reopen(inbox: Inbox, retentionMs?: number): Promise<Inbox> {
  await inbox.close();
  return openInbox(retentionMs);
}

function envelope(text: string, to = BOT): Envelope {
  // parsed, so the fixture is known to be a valid envelope
  return parseOrThrow(Envelope, envelopeFor({ from: 'claude-code:laptop/s1', to: [to], body: { text }, createdAt: 1_000, ackRequired: true }), 'envelope');
}

const texts = (messages: InboxMessage[]) => messages.map((message) => message.envelope.body.text);

describe('Inbox', () => {
  it('keeps messages per recipient across a restart, oldest first', async () => {
    let inbox = await openInbox();
    const first = await inbox.add(BOT, envelope('one'), 1_000);
    await inbox.add(OTHER, envelope('for the other', OTHER), 1_500);
    await inbox.add(BOT, envelope('two'), 2_000);
    expect(first).toMatchObject({ seq: 1, recipient: BOT, receivedAt: 1_000 });
    expect(first!.ackedAt).toBeUndefined();

    inbox = await reopen(inbox);
    expect(inbox.count).toBe(3);
    expect(texts(inbox.list(BOT, 0, 100))).toEqual(['one', 'two']);
    expect(inbox.list(BOT, 0, 100)[0]).toEqual(first);
    expect(texts(inbox.list(OTHER, 0, 100))).toEqual(['for the other']);
    expect(inbox.list('api:local/nobody', 0, 100)).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it('lists what came after `since`, at most `limit`, in receive order', async () => {
    const inbox = await openInbox();
    for (const [text, at] of [['a', 100], ['b', 200], ['c', 300], ['late-clock', 150], ['d', 300]] as const) {
      await inbox.add(BOT, envelope(text), at);
    }
    expect(texts(inbox.list(BOT, 0, 100))).toEqual(['a', 'late-clock', 'b', 'c', 'd']);
    expect(texts(inbox.list(BOT, 150, 100))).toEqual(['b', 'c', 'd']);
    expect(texts(inbox.list(BOT, 100, 2))).toEqual(['late-clock', 'b']);
    expect(inbox.list(BOT, 300, 100)).toEqual([]);
    expect(inbox.list(BOT, 0, 0)).toEqual([]);
  });

  it('takes each envelope once per recipient, even when it arrives twice at once', async () => {
    const inbox = await openInbox();
    const message = envelope('once');
    const [a, b] = await Promise.all([inbox.add(BOT, message, 1), inbox.add(BOT, message, 2)]);
    expect([a, b].filter(Boolean)).toHaveLength(1);
    expect(await inbox.add(BOT, message, 3)).toBeUndefined();
    // The same envelope for another recipient is its own message.
    expect(await inbox.add(OTHER, message, 4)).toBeDefined();
    expect(inbox.count).toBe(2);
    const again = await reopen(inbox);
    expect(await again.add(BOT, message, 5)).toBeUndefined();
    expect(again.count).toBe(2);
  });

  it('keeps acks across a restart; an unknown message is not acked', async () => {
    let inbox = await openInbox();
    const message = envelope('ack me');
    await inbox.add(BOT, message, 1_000);
    expect(await inbox.ack(BOT, message.id, 5_000)).toBe(true);
    expect(await inbox.ack(BOT, message.id, 9_000)).toBe(true); // the first time stays
    expect(await inbox.ack(OTHER, message.id, 5_000)).toBe(false);
    expect(await inbox.ack(BOT, newMessageId(), 5_000)).toBe(false);
    expect(inbox.list(BOT, 0, 10)[0]!.ackedAt).toBe(5_000);

    inbox = await reopen(inbox);
    expect(inbox.list(BOT, 0, 10)[0]!.ackedAt).toBe(5_000);
  });

  it('takes an ack back for good: unread again, after a restart too, and ackable again', async () => {
    let inbox = await openInbox();
    const message = envelope('put back');
    await inbox.add(BOT, message, 1_000);
    expect(await inbox.unack(BOT, message.id)).toBe(false); // nothing to take back
    await inbox.ack(BOT, message.id, 5_000);
    expect(await inbox.unack(BOT, message.id)).toBe(true);
    expect(inbox.list(BOT, 0, 10)[0]!.ackedAt).toBeUndefined();
    inbox = await reopen(inbox);
    expect(inbox.list(BOT, 0, 10)[0]!.ackedAt).toBeUndefined();
    await inbox.ack(BOT, message.id, 7_000);
    inbox = await reopen(inbox);
    expect(inbox.list(BOT, 0, 10)[0]!.ackedAt).toBe(7_000);
    expect(await inbox.unack(OTHER, message.id)).toBe(false);
  });

  it('acks a message that is still being added once it is in', async () => {
    const inbox = await openInbox();
    const message = envelope('fast ack');
    const [added, acked] = await Promise.all([inbox.add(BOT, message, 1), inbox.ack(BOT, message.id, 2)]);
    expect(added).toBeDefined();
    expect(acked).toBe(true);
    expect(inbox.list(BOT, 0, 10)[0]!.ackedAt).toBe(2);
  });

  it('tells subscribers about each new message once it is on disk', async () => {
    const inbox = await openInbox();
    const seen: string[] = [];
    const stop = inbox.subscribe(BOT, (message) => {
      expect(inbox.list(BOT, 0, 100).some((listed) => listed.seq === message.seq)).toBe(true);
      seen.push(message.envelope.body.text);
    });
    inbox.subscribe(BOT, () => {
      throw new Error('a broken listener');
    });
    await inbox.add(BOT, envelope('first'), 1);
    await inbox.add(OTHER, envelope('not mine', OTHER), 2);
    await inbox.add(BOT, envelope('first'.replace('first', 'second')), 3);
    stop();
    await inbox.add(BOT, envelope('after stop'), 4);
    expect(seen).toEqual(['first', 'second']);
    expect(warnings.filter((text) => text.includes('a broken listener'))).toHaveLength(3);
  });

  it('prunes messages past retention, with their acks, for good', async () => {
    let inbox = await openInbox(HOUR);
    const old = envelope('old');
    await inbox.add(BOT, old, 0);
    await inbox.ack(BOT, old.id, 10);
    await inbox.add(OTHER, envelope('old too', OTHER), 500);
    await inbox.add(BOT, envelope('fresh'), HOUR);
    expect(await inbox.prune(HOUR + 1_000)).toBe(2);
    expect(inbox.count).toBe(1);
    expect(texts(inbox.list(BOT, -1, 10))).toEqual(['fresh']);
    expect(await inbox.ack(BOT, old.id, 20)).toBe(false);
    expect(await inbox.prune(HOUR + 1_000)).toBe(0);

    inbox = await reopen(inbox, HOUR);
    expect(texts(inbox.list(BOT, -1, 10))).toEqual(['fresh']);
    expect(inbox.list(OTHER, -1, 10)).toEqual([]);
    await inbox.close();
    // Nothing of the pruned messages is left in the journal.
    const journal = await Journal.open({ dir, name: 'inbox' });
    expect(journal.entries()).toHaveLength(1);
    await journal.close();
  });

  it('refuses bad input with a clear error, writes nothing, and keeps serving', async () => {
    const inbox = await openInbox();
    await expect(inbox.add('not an address', envelope('x'), 1)).rejects.toThrow(ValidationError);
    await expect(inbox.add('not an address', envelope('x'), 1)).rejects.toThrow(/^invalid recipient: /);
    await expect(inbox.add(BOT, { ...envelope('x'), id: 'nope' }, 1)).rejects.toThrow(/^invalid envelope id: /);
    await expect(inbox.add(BOT, envelope('x'), Number.NaN)).rejects.toThrow('receivedAt must be a time in ms, not NaN');
    await expect(inbox.ack(BOT, newMessageId(), Number.POSITIVE_INFINITY)).rejects.toThrow('at must be a time in ms');
    expect(inbox.count).toBe(0);
    expect(await inbox.add(BOT, envelope('fine'), 1)).toMatchObject({ seq: 1 });
    await expect(Inbox.open({ dir: join(dir, 'other'), retentionMs: 0 })).rejects.toThrow(RangeError);
  });

  it('drops journal records that are not inbox records or whose message is gone', async () => {
    const journal = await Journal.open<unknown>({ dir, name: 'inbox' });
    await journal.append({ type: 'message', recipient: BOT, envelope: envelope('kept'), receivedAt: 1 });
    await journal.append({ type: 'ack', seq: 999, at: 2 }); // its message was pruned before it
    await journal.append({ something: 'else' });
    await journal.close();

    const inbox = await openInbox();
    expect(texts(inbox.list(BOT, 0, 10))).toEqual(['kept']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^inbox: dropped journal record 3, which is not an inbox record/);
    await inbox.close();
    const after = await Journal.open({ dir, name: 'inbox' });
    expect(after.entries().map((entry) => entry.seq)).toEqual([1]);
    await after.close();
  });
});
