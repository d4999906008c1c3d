/**
 * The mailbox of messages the hub handed to the host for its agents (API clients), kept in a
 * journal so that a message the host accepted from the hub survives a daemon restart until the
 * agent has read it or it ages out (issue 4: messages to outside agents follow the journal rule).
 *
 * Journal records: `message` (one per recipient and envelope) and `ack` (the message's seq and
 * when it was acked). An ack is its own record because rewriting the message would change its
 * seq, which orders arrival; both go when the message is pruned.
 */
import { z } from 'zod';
import { AgentAddress } from '../src/protocol/address';
import { type Envelope, MessageId, parseOrThrow } from '../src/protocol/envelope';
import { Journal } from './journal';
import type { InboxMessage } from './ports';

export interface InboxOptions {
  /** the folder of the inbox's journal, `inbox.journal` */
  dir: string;
  /** how long a message is kept, acked or not; default 24 h */
  retentionMs?: number;
  onWarning?: (text: string) => void;
}

const DEFAULT_RETENTION_MS = 24 * 3_600_000;
const JOURNAL_NAME = 'inbox';

/**
 * What a replayed record must look like. The envelope was validated when it came in (the hub's
 * frame schema); the journal's checksum guards it since, so only the fields the inbox reads are
 * checked here, which keeps a start with a full inbox fast.
 */
const InboxRecord = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('message'),
    recipient: z.string().min(1),
    envelope: z.looseObject({ id: z.string().min(1) }),
    receivedAt: z.number(),
  }),
  z.object({ type: z.literal('ack'), seq: z.int().positive(), at: z.number() }),
]);
type InboxRecord = { type: 'message'; recipient: string; envelope: Envelope; receivedAt: number } | { type: 'ack'; seq: number; at: number };

/** A message as the inbox keeps it: the public shape, plus the seq of its ack record. */
interface Stored extends InboxMessage {
  ackSeq?: number;
}

const keyOf = (recipient: string, messageId: string) => `${recipient}\n${messageId}`;
const publicView = ({ ackSeq: _ackSeq, ...message }: Stored): InboxMessage => message;
/** Receive time, then arrival: the order `list` gives. */
const before = (a: Stored, b: Stored) => a.receivedAt < b.receivedAt || (a.receivedAt === b.receivedAt && a.seq < b.seq);

export class Inbox {
  readonly #journal: Journal<InboxRecord>;
  readonly #retentionMs: number;
  readonly #warn: (text: string) => void;
  readonly #byKey = new Map<string, Stored>();
  /** each recipient's messages, sorted by receivedAt then seq */
  readonly #byRecipient = new Map<string, Stored[]>();
  /** adds and acks on their way to disk, so a second call for the same message waits for the first */
  readonly #adding = new Map<string, Promise<number>>();
  readonly #acking = new Map<string, Promise<number>>();
  readonly #listeners = new Map<string, Set<(message: InboxMessage) => void>>();

  private constructor(journal: Journal<InboxRecord>, retentionMs: number, warn: (text: string) => void) {
    this.#journal = journal;
    this.#retentionMs = retentionMs;
    this.#warn = warn;
  }

  static async open(options: InboxOptions): Promise<Inbox> {
    const retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
    if (!(retentionMs > 0)) throw new RangeError(`retentionMs must be a positive number of milliseconds, not ${retentionMs}`);
    const warn = options.onWarning ?? ((text: string) => console.warn(text));
    const journal = await Journal.open<InboxRecord>({ dir: options.dir, name: JOURNAL_NAME, onWarning: warn });
    const inbox = new Inbox(journal, retentionMs, warn);
    try {
      await inbox.#replay();
    } catch (error) {
      await journal.close();
      throw error;
    }
    return inbox;
  }

  /**
   * Keeps a message for `recipient`; resolves once it is on disk, with the message, or undefined
   * when this recipient already has this envelope (the hub resends until it hears back).
   */
  async add(recipient: string, envelope: Envelope, receivedAt: number): Promise<InboxMessage | undefined> {
    parseOrThrow(AgentAddress, recipient, 'recipient');
    parseOrThrow(MessageId, envelope?.id, 'envelope id');
    if (!Number.isFinite(receivedAt)) throw new RangeError(`receivedAt must be a time in ms, not ${receivedAt}`);
    const key = keyOf(recipient, envelope.id);
    const earlier = this.#adding.get(key);
    if (earlier) {
      // The same message is being written: answer as a duplicate once it is, or fail as it did.
      await earlier;
      return undefined;
    }
    if (this.#byKey.has(key)) return undefined;

    const adding = this.#journal.append({ type: 'message', recipient, envelope, receivedAt });
    this.#adding.set(key, adding);
    let seq: number;
    try {
      seq = await adding;
    } finally {
      this.#adding.delete(key);
    }
    const stored: Stored = { seq, recipient, envelope, receivedAt };
    this.#index(stored);
    const message = publicView(stored);
    for (const listener of this.#listeners.get(recipient) ?? []) {
      try {
        listener({ ...message });
      } catch (error) {
        this.#warn(`inbox: a listener for ${recipient} failed: ${(error as Error).message}`);
      }
    }
    return message;
  }

  /** Messages for `recipient` received after `since` (ms), oldest first, at most `limit`. */
  list(recipient: string, since: number, limit: number): InboxMessage[] {
    const messages = this.#byRecipient.get(recipient);
    if (!messages || !(limit > 0)) return [];
    // Binary search for the first message received after `since`.
    let low = 0;
    let high = messages.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (messages[middle]!.receivedAt > since) high = middle;
      else low = middle + 1;
    }
    return messages.slice(low, low + Math.floor(limit)).map(publicView);
  }

  /**
   * Records that `recipient` acked `messageId`, durably; false when the inbox does not hold that
   * message for that recipient. Acking again keeps the first time and writes nothing.
   */
  async ack(recipient: string, messageId: string, at: number): Promise<boolean> {
    if (!Number.isFinite(at)) throw new RangeError(`at must be a time in ms, not ${at}`);
    const key = keyOf(recipient, messageId);
    // A message still on its way in is waited for, and so is another ack of it: one ack record each.
    await this.#adding.get(key)?.catch(() => {});
    for (let earlier = this.#acking.get(key); earlier; earlier = this.#acking.get(key)) await earlier.catch(() => {});
    const stored = this.#byKey.get(key);
    if (!stored) return false;
    if (stored.ackedAt !== undefined) return true;

    const acking = this.#journal.append({ type: 'ack', seq: stored.seq, at });
    this.#acking.set(key, acking);
    try {
      stored.ackSeq = await acking;
    } finally {
      this.#acking.delete(key);
    }
    stored.ackedAt = at;
    // Pruned while the ack was on its way: its record goes too.
    if (this.#byKey.get(key) !== stored) await this.#journal.remove([stored.ackSeq]);
    return true;
  }

  /**
   * Takes back an ack, durably: the message is unread again (it went into a hook answer that Claude
   * Code never got). False when there was no ack to take back.
   */
  async unack(recipient: string, messageId: string): Promise<boolean> {
    const key = keyOf(recipient, messageId);
    for (let earlier = this.#acking.get(key); earlier; earlier = this.#acking.get(key)) await earlier.catch(() => {});
    const stored = this.#byKey.get(key);
    if (!stored || stored.ackSeq === undefined) return false;
    await this.#journal.remove([stored.ackSeq]);
    stored.ackSeq = undefined;
    stored.ackedAt = undefined;
    return true;
  }

  /** Calls `listener` with each message added for `recipient` from now on, until the returned function is called. */
  subscribe(recipient: string, listener: (message: InboxMessage) => void): () => void {
    let listeners = this.#listeners.get(recipient);
    if (!listeners) this.#listeners.set(recipient, (listeners = new Set()));
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0 && this.#listeners.get(recipient) === listeners) this.#listeners.delete(recipient);
    };
  }

  /** Drops messages received more than the retention before `now`, with their acks; returns how many. */
  async prune(now: number): Promise<number> {
    const oldest = now - this.#retentionMs;
    const seqs: number[] = [];
    let pruned = 0;
    for (const [recipient, messages] of this.#byRecipient) {
      // Sorted by receivedAt: the old ones are a prefix.
      let count = 0;
      while (count < messages.length && messages[count]!.receivedAt < oldest) count++;
      if (count === 0) continue;
      for (const stored of messages.splice(0, count)) {
        this.#byKey.delete(keyOf(stored.recipient, stored.envelope.id));
        seqs.push(stored.seq);
        if (stored.ackSeq !== undefined) seqs.push(stored.ackSeq);
      }
      if (messages.length === 0) this.#byRecipient.delete(recipient);
      pruned += count;
    }
    // Out of memory first, so nothing lists or acks what is on its way out.
    if (seqs.length) await this.#journal.remove(seqs);
    return pruned;
  }

  get count(): number {
    return this.#byKey.size;
  }

  async close(): Promise<void> {
    this.#listeners.clear();
    await this.#journal.close();
  }

  #index(stored: Stored): void {
    this.#byKey.set(keyOf(stored.recipient, stored.envelope.id), stored);
    let messages = this.#byRecipient.get(stored.recipient);
    if (!messages) this.#byRecipient.set(stored.recipient, (messages = []));
    // Nearly always the newest: append; a clock that stepped back puts it in its place.
    let at = messages.length;
    while (at > 0 && before(stored, messages[at - 1]!)) at--;
    messages.splice(at, 0, stored);
  }

  async #replay(): Promise<void> {
    const bySeq = new Map<number, Stored>();
    const orphans: number[] = [];
    for (const { seq, record } of this.#journal.entries()) {
      const parsed = InboxRecord.safeParse(record);
      if (!parsed.success) {
        this.#warn(`inbox: dropped journal record ${seq}, which is not an inbox record: ${parsed.error.issues[0]?.message}`);
        orphans.push(seq);
        continue;
      }
      const value = parsed.data;
      if (value.type === 'message') {
        const stored: Stored = { seq, recipient: value.recipient, envelope: value.envelope as Envelope, receivedAt: value.receivedAt };
        if (this.#byKey.has(keyOf(stored.recipient, stored.envelope.id))) orphans.push(seq);
        else {
          this.#index(stored);
          bySeq.set(seq, stored);
        }
      } else {
        const stored = bySeq.get(value.seq);
        if (!stored || stored.ackSeq !== undefined) orphans.push(seq);
        else {
          stored.ackedAt = value.at;
          stored.ackSeq = seq;
        }
      }
    }
    // Records with nothing to say (an ack whose message was pruned first, a duplicate) go for good.
    if (orphans.length) await this.#journal.remove(orphans);
  }
}
