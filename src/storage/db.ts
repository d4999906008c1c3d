/**
 * The hub's IndexedDB database. Versions only ever add: a new `this.version(n)` with its upgrade
 * function, never an edit of an old one (Dexie applies them in order on open).
 */
import Dexie, { type Table } from 'dexie';
import type { Envelope } from '../protocol/envelope';
import type { Delivery } from '../bus/delivery';

export interface MetaRecord {
  key: string;
  value: unknown;
}

/**
 * The test adapter's receiver keeps its own database, as any receiver keeps its own state apart
 * from the hub's (and so its writes do not queue behind the hub's transactions).
 */
export const SINK_DB_NAME = 'switchboard-test-sink';

export class TestSinkDb extends Dexie {
  sinkReceipts!: Table<SinkReceipt, [string, string]>;
  sinkEffects!: Table<SinkEffect, number>;

  constructor(name = SINK_DB_NAME, options: { indexedDB?: IDBFactory; IDBKeyRange?: typeof IDBKeyRange } = {}) {
    super(name, { ...options, chromeTransactionDurability: 'strict', cache: 'disabled' });
    withoutLiveQueries(this);
    this.version(1).stores({
      sinkReceipts: '[recipient+messageId]',
      sinkEffects: '++seq, messageId',
    });
  }
}

/** One per message the test adapter has accepted, for receiver-side dedupe. */
export interface SinkReceipt {
  recipient: string;
  messageId: string;
  at: number;
  /** redeliveries that were recognised and not applied again */
  duplicates: number;
}

/** One per effect the test adapter applied: tests count these, never the bus's bookkeeping. */
export interface SinkEffect {
  seq?: number;
  recipient: string;
  messageId: string;
  attempt: number;
  at: number;
}

export interface Subscription {
  topic: string;
  agent: string;
  since: number;
}

export interface KnownAgent {
  address: string;
  firstSeen: number;
}

export const DB_NAME = 'switchboard';

/**
 * Switchboard never uses Dexie's liveQuery: pages learn of changes from the hub's changes port.
 * Dexie's observability middleware would otherwise compute the key ranges of every write and post
 * them on a BroadcastChannel after each commit, for nobody (see BENCHMARKS.md).
 */
function withoutLiveQueries(db: Dexie): void {
  db.unuse({ stack: 'dbcore', name: 'Observability' });
}

export class SwitchboardDb extends Dexie {
  messages!: Table<Envelope, string>;
  deliveries!: Table<Delivery, [string, string]>;
  meta!: Table<MetaRecord, string>;
  subscriptions!: Table<Subscription, [string, string]>;
  agents!: Table<KnownAgent, string>;

  constructor(name = DB_NAME, options: { indexedDB?: IDBFactory; IDBKeyRange?: typeof IDBKeyRange } = {}) {
    // 'strict' asks the browser to flush to disk before a commit resolves: an accepted message
    // must survive a crash of the machine, not only of the worker. Group commit pays for it.
    super(name, { ...options, chromeTransactionDurability: 'strict', cache: 'disabled' });
    withoutLiveQueries(this);
    this.version(1).stores({
      // ids are UUIDv7: ordering by id is ordering by creation
      messages: 'id, threadId, from',
      // [priority+dueAt] holds only live deliveries (dueAt is removed once nothing is left to do)
      deliveries: '[messageId+recipient], [priority+dueAt], dueAt, state, recipient',
      meta: 'key',
      subscriptions: '[topic+agent], topic, agent',
      agents: 'address',
    });
  }
}
