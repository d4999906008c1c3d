/**
 * What the bus needs from the world, injected so the whole delivery state machine runs without a
 * browser or Node (STYLE.md): a store, a clock with timers, and one adapter per agent kind.
 */
import type { Envelope } from '../protocol/envelope';
import type { AgentKind } from '../protocol/address';
import type { Delivery, DeliveryState } from './delivery';
import type { StoredRule } from './routing';
import type { DestinationRecord } from './destinations';

/** A message moved out of the live tables when its retention ended, kept until exported or purged. */
export interface ArchivedMessage {
  id: string;
  archivedAt: number;
  message: Envelope;
  deliveries: Delivery[];
}

export interface StoredEntry {
  message: Envelope;
  deliveries: Delivery[];
  /** only for a message with no delivery at all (every recipient dropped): when it is archived */
  retainUntil?: number;
}

export interface ListQuery {
  threadId?: string;
  /** messages this agent sent or received */
  agent?: string;
  /** messages with at least one delivery in this state */
  state?: DeliveryState;
  /** newest first; at most this many (default 100) */
  limit?: number;
}

/**
 * A read-modify-write of one delivery: the new version, or undefined to leave it as it is. A list
 * is the new version followed by deliveries to add in the same transaction (a re-route's
 * delivery to the fallback); one whose key is taken is not added.
 */
export type Transition = (current: Delivery) => Delivery | Delivery[] | undefined;

export interface BusStore {
  /** Brings what the store derives from its data (the search index) up to date after a stop; called by start(). */
  recover(): Promise<void>;
  /**
   * Commits every entry in one transaction. An entry whose message id is already stored (or came
   * earlier in the same batch) is skipped: the result says, per entry, whether it was stored.
   */
  insert(entries: StoredEntry[]): Promise<boolean[]>;
  /**
   * In one transaction: the deliveries due at `now` (most urgent priority first, then by due time,
   * then oldest message first), at most `limit`, each passed through `transition` and written back;
   * and, after those writes, the earliest `dueAt` left (so the caller needs no second read).
   */
  claimDue(now: number, limit: number, transition: Transition): Promise<{ claimed: Delivery[]; added: Delivery[]; nextDueAt: number | undefined }>;
  /** In one transaction: every queued delivery to `recipient` through `transition`. */
  queuedFor(recipient: string, transition: Transition): Promise<{ changed: Delivery[]; added: Delivery[] }>;
  loadRules(): Promise<StoredRule[]>;
  /** Replaces every rule. */
  saveRules(rules: StoredRule[]): Promise<void>;
  loadDestinations(): Promise<DestinationRecord[]>;
  saveDestinations(records: DestinationRecord[]): Promise<void>;
  /**
   * In one transaction: moves up to `limit` messages whose retention has passed — every delivery
   * finished and past its `retainUntil` — with their deliveries into the archive. Returns how many.
   */
  archiveDue(now: number, limit: number): Promise<number>;
  /** In one transaction: deletes every message, delivery and archived message (rules, holds and settings stay). */
  clearMessages(): Promise<void>;
  /** Deletes messages archived at or before `before`; returns how many. */
  purgeArchive(before: number, limit: number): Promise<number>;
  /** Archived messages, oldest first, archived at or after `since`. */
  exportArchive(since: number, limit: number): Promise<ArchivedMessage[]>;
  loadSetting<T>(key: string): Promise<T | undefined>;
  saveSetting(key: string, value: unknown): Promise<void>;
  /** Messages holding every word of `query` (the last also as a prefix), newest first, through an index. */
  search(query: string, limit: number): Promise<StoredEntry[]>;
  /**
   * In one transaction: reads each delivery (undefined when there is none), applies `transition`
   * (with the key's index), writes back what it returns. A key listed twice sees the first change.
   * Returns what was written, per key.
   */
  update(
    keys: [messageId: string, recipient: string][],
    transition: (current: Delivery | undefined, index: number) => Delivery | undefined,
  ): Promise<(Delivery | undefined)[]>;
  /**
   * In one transaction: writes each `after` in place of `before`, provided what is stored is still
   * exactly `before` (as this bus last wrote it). When any is not, writes nothing and resolves false.
   * Unlike `update`, the writes need not wait for the reads to reach the worker; when each `before`
   * is the very object the store last wrote for its key, there are no reads at all.
   */
  replaceIfUnchanged(changes: { before: Delivery; after: Delivery }[]): Promise<boolean>;
  /** Deliveries in `state` (used on wake-up to find attempts the last worker did not finish). */
  inState(state: DeliveryState): Promise<Delivery[]>;
  message(id: string): Promise<Envelope | undefined>;
  deliveriesOf(messageId: string): Promise<Delivery[]>;
  list(query: ListQuery): Promise<StoredEntry[]>;
  /** Counts of deliveries by state. */
  counts(): Promise<Record<DeliveryState, number>>;
}

export interface Clock {
  now(): number;
  setTimer(callback: () => void, delayMs: number): unknown;
  clearTimer(handle: unknown): void;
}

export interface DeliveryAttempt {
  envelope: Envelope;
  recipient: string;
  /** 1 for the first attempt */
  attempt: number;
}

export type DeliveryOutcome =
  /** the agent has the message (typed into the tab, injected into the session, recorded) */
  | { status: 'delivered' }
  /**
   * the agent's side holds it until the agent can take it (a Claude Code session, at its next hook
   * point); Bus.confirmDelivered says when. The bus asks again after `pendingCheckMs` meanwhile.
   */
  | { status: 'pending'; note: string }
  /** not this time; the bus retries with backoff */
  | { status: 'retry'; reason: string }
  /** never: the bus marks the delivery failed with this reason */
  | { status: 'failed'; reason: string };

/** One adapter per agent kind delivers to agents of that kind. A thrown error counts as `retry`. */
export interface AgentAdapter {
  readonly kind: AgentKind;
  deliver(attempt: DeliveryAttempt): Promise<DeliveryOutcome>;
  /**
   * For agents that take one message at a time (a claude.ai conversation answers one prompt, then
   * the next): why `recipient` cannot take one now, or undefined when it can. A busy agent's due
   * delivery waits, in its order, until the adapter calls Bus.reachable for it (BUSY_RECHECK_MS at
   * the latest). Asked inside the bus's claim, so it must answer at once.
   */
  busy?(recipient: string): string | undefined;
  /** An attempt to `recipient` starts now: it stays busy until its adapter says otherwise. */
  reserve?(recipient: string): void;
}

/** Expands topics and broadcast into agent addresses. */
export interface Directory {
  expand(address: string): Promise<string[]>;
}
