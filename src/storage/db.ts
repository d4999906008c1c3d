/**
 * Switchboard's IndexedDB databases. Versions only ever add: a new `this.version(n)` with its
 * upgrade function, never an edit of an old one (Dexie applies them in order on open).
 */
import Dexie, { type Table } from 'dexie';
import { DEFAULT_TTL_MS, type Envelope } from '../protocol/envelope';
import { isFinished, retentionOf, type Delivery, type DeliveryState } from '../bus/delivery';
import { termsOf } from '../bus/search-terms';
import type { ArchivedMessage } from '../bus/ports';
import type { StoredRule } from '../bus/routing';
import type { DestinationRecord } from '../bus/destinations';
import { Checkpoint } from './checkpoint';

export type DexieDependencies = { indexedDB?: IDBFactory; IDBKeyRange?: typeof IDBKeyRange };

/**
 * How every transaction commits: once written to the operating system; the hub's checkpoint has
 * the disk confirm it at the next pause (checkpoint.ts says what survives what, and why).
 */
export const COMMIT_DURABILITY: IDBTransactionDurability = 'relaxed';

/** How every Switchboard database opens. */
export class SwitchboardDexie extends Dexie {
  constructor(name: string, dependencies: DexieDependencies) {
    super(name, { ...dependencies, chromeTransactionDurability: COMMIT_DURABILITY, cache: 'disabled' });
    // Switchboard never uses Dexie's liveQuery: pages learn of changes from the hub's changes
    // port. Dexie's observability middleware would otherwise compute the key ranges of every write
    // and post them on a BroadcastChannel after each commit, for nobody (see BENCHMARKS.md).
    this.unuse({ stack: 'dbcore', name: 'Observability' });
    // Nor table hooks, nor querying by a prefix of a compound index ("virtual indexes"): Switchboard
    // names every index it queries. Both middlewares rebuild their state for every table each
    // transaction touches.
    this.unuse({ stack: 'dbcore', name: 'HooksMiddleware' });
    this.unuse({ stack: 'dbcore', name: 'VirtualIndexMiddleware' });
    this.use({
      stack: 'dbcore',
      name: 'CommittedWrites',
      create: (down) => ({
        ...down,
        transaction: (stores, mode, options) => {
          const tx = down.transaction(stores, mode, options) as unknown as IDBTransaction;
          if (mode === 'readwrite') tx.addEventListener('complete', () => this.committedWrite());
          return tx as never;
        },
      }),
    });
  }

  /**
   * A read-write transaction on the IndexedDB connection itself, for the few transactions every
   * message makes (bus-store.ts, the test receiver): the same requests as through Dexie, without
   * its promise and zone machinery. That machinery was much of the ~110 KB the worker allocated per
   * message, and so of the garbage collector's pauses in the latency tail (BENCHMARKS.md, "Where
   * the tail came from").
   * `done` resolves once the transaction has committed, and rejects with why it aborted.
   */
  async writeTransaction(stores: string[]): Promise<{ tx: IDBTransaction; done: Promise<void> }> {
    if (!this.isOpen()) await this.open();
    const tx = this.backendDB().transaction(stores, 'readwrite', { durability: COMMIT_DURABILITY });
    tx.addEventListener('complete', () => this.committedWrite());
    const done = committed(tx);
    done.catch(() => undefined); // the caller awaits it once its requests are made; a failed one rejects first
    return { tx, done };
  }

  /**
   * A write transaction (as `writeTransaction`) with the requests `make` makes, committed at once,
   * without waiting for their results, only if each add `make` returns (requests of `store.add`)
   * finds its key free: the first that does not aborts it, so nothing of it is written, and this
   * resolves false. For batches that are nearly always new: their writes and the commit go with the
   * adds instead of waiting to hear that each was new (round trips to IndexedDB's backend).
   */
  async writeIfAllNew(stores: string[], make: (tx: IDBTransaction) => IDBRequest[]): Promise<boolean> {
    const { tx, done } = await this.writeTransaction(stores);
    let adds: IDBRequest[] = [];
    requests(tx, () => void (adds = make(tx)));
    let taken = false;
    for (const request of adds) {
      // Not prevented: the error aborts the transaction (committing or not), and `done` rejects.
      request.onerror = () => void (taken ||= request.error?.name === 'ConstraintError');
    }
    tx.commit();
    return committedUnless(done, () => taken);
  }

  /** Called after every read-write transaction commits. */
  protected committedWrite(): void {}
}

/** Resolves with a request's result, or rejects with its error. */
export function resultOf<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** Resolves once the transaction has committed; rejects with why it aborted. */
function committed(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.addEventListener('complete', () => resolve());
    tx.addEventListener('abort', () => reject(tx.error ?? new Error('the transaction was aborted')));
  });
}

/**
 * Makes a transaction's requests; when making one throws (a value that cannot be stored, a bad
 * key), aborts the transaction, so that none of it is written, and throws that error.
 */
export function requests(tx: IDBTransaction, make: () => void): void {
  try {
    make();
  } catch (error) {
    try {
      tx.abort();
    } catch {
      // already finished: nothing was written since
    }
    throw error;
  }
}

/**
 * Adds each record; a record whose key is taken is left as it is, without aborting the
 * transaction. Then, inside the transaction (where more requests may follow), calls `then` with
 * whether each was added. Only the last request gets a success handler: requests complete in order,
 * so when it has, all have, and the worker runs one callback per batch, not one per record.
 */
export function addAllUnlessTaken(store: IDBObjectStore, values: unknown[], then: (added: boolean[]) => void): void {
  const added = values.map(() => true);
  if (!values.length) return then(added);
  values.forEach((value, i) => {
    const request = store.add(value);
    const last = i === values.length - 1;
    request.onerror = (event) => {
      if (request.error?.name !== 'ConstraintError') return; // aborts the transaction: its `done` rejects
      event.preventDefault();
      event.stopPropagation();
      added[i] = false;
      if (last) then(added);
    };
    if (last) request.onsuccess = () => then(added);
  });
}

/**
 * Resolves true once the transaction commits, false when it aborted on purpose (as `onPurpose`
 * says, asked after the abort); rejects with any other reason it aborted.
 */
export async function committedUnless(done: Promise<void>, onPurpose: () => boolean): Promise<boolean> {
  try {
    await done;
    return true;
  } catch (error) {
    if (onPurpose()) return false;
    throw error;
  }
}

export interface MetaRecord {
  key: string;
  value: unknown;
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
 * A message as stored: the envelope; since version 3 the agents it went to (`recipients`: topics
 * and broadcast expanded, rules and re-routes applied); and — when it never had a delivery — its
 * own retention.
 */
export type StoredMessage = Envelope & { retainUntil?: number; recipients?: string[] };

/**
 * A delivery as stored since version 3: the bus's Delivery plus what only the indexes need. Every
 * write of a delivery rewrites an entry in each index whose key the record holds, so the indexes
 * are sparse: each holds only the deliveries in the states it answers for (BENCHMARKS.md, issue 3).
 *  - `queuedFor`: the recipient, only while queued ("queued for X", wake-ups).
 *  - `retainUntil`: on every finished delivery, `Infinity` when it is kept for good, so that
 *    `[state+retainUntil]` answers the archive and "finished in this state" alike.
 */
export type StoredDelivery = Delivery & { queuedFor?: string };

/** A finished state and when its retention ends: the key of `[state+retainUntil]`. */
export type FinishedKey = [DeliveryState, number];

/** A message's full-text terms, written just after the message by the search indexer. */
export interface SearchEntry {
  id: string;
  terms: string[];
}


/** Version 1's tables, as first shipped; kept so the migration test can write rows under them. */
export const SCHEMA_V1 = {
  // ids are UUIDv7: ordering by id is ordering by creation
  messages: 'id, threadId, from',
  // [priority+dueAt] holds only live deliveries (dueAt is removed once nothing is left to do)
  deliveries: '[messageId+recipient], [priority+dueAt], dueAt, state, recipient',
  meta: 'key',
  subscriptions: '[topic+agent], topic, agent',
  agents: 'address',
} as const;

/** Version 2: full-text search, retention on finished deliveries, rules, destinations, archive. */
export const SCHEMA_V2 = {
  ...SCHEMA_V1,
  // retainUntil: only on messages that never had a delivery (every recipient dropped by a rule)
  messages: 'id, threadId, from, retainUntil',
  // apart from messages, so indexing a message's words costs its send nothing (BENCHMARKS.md)
  searchIndex: 'id, *terms',
  // [recipient+state] replaces recipient: it answers "by recipient" as a range, and "queued for X"
  deliveries: '[messageId+recipient], [priority+dueAt], dueAt, state, [recipient+state], retainUntil',
  rules: 'id, position',
  destinations: 'address',
  archive: 'id, archivedAt',
  settings: 'key',
} as const;

/**
 * Version 3: smaller index work per delivery write (BENCHMARKS.md, issue 3). Deliveries lose the
 * `dueAt`, `state` and `[recipient+state]` indexes, which every write of a delivery rewrote:
 *  - due work, and live deliveries by state: `[priority+dueAt]`, which holds only live deliveries;
 *  - queued deliveries (by recipient, or all): `queuedFor`, set only while queued;
 *  - finished deliveries by state, and the archive: `[state+retainUntil]`, set only once finished;
 *  - "messages an agent received": `*recipients` on the message, written once with it.
 */
export const SCHEMA_V3 = {
  ...SCHEMA_V2,
  messages: 'id, threadId, from, retainUntil, *recipients',
  deliveries: '[messageId+recipient], [priority+dueAt], queuedFor, [state+retainUntil]',
} as const;

/** Messages rewritten per step of the version 3 upgrade: bounded memory on a large store. */
const UPGRADE_PAGE = 2_000;

/** The stored form of a delivery: the index fields set, or cleared, from its state. */
export function toStoredDelivery(delivery: Delivery): StoredDelivery {
  const { queuedFor: _, ...plain } = delivery as StoredDelivery;
  const stored: StoredDelivery = plain;
  if (delivery.state === 'queued') stored.queuedFor = delivery.recipient;
  if (isFinished(delivery) && delivery.retainUntil === undefined) stored.retainUntil = Number.POSITIVE_INFINITY;
  return stored;
}

/** The bus's view of a stored delivery: without the fields only the indexes need. */
export function fromStoredDelivery(stored: StoredDelivery): Delivery {
  const { queuedFor: _, ...delivery } = stored;
  if (delivery.retainUntil === Number.POSITIVE_INFINITY) delete delivery.retainUntil;
  return delivery;
}

/** The hub's database: messages, their deliveries, and what the hub knows of agents and topics. */
export class SwitchboardDb extends SwitchboardDexie {
  messages!: Table<StoredMessage, string>;
  deliveries!: Table<StoredDelivery, [string, string]>;
  meta!: Table<MetaRecord, string>;
  subscriptions!: Table<Subscription, [string, string]>;
  agents!: Table<KnownAgent, string>;
  rules!: Table<StoredRule, string>;
  destinations!: Table<DestinationRecord, string>;
  archive!: Table<ArchivedMessage, string>;
  searchIndex!: Table<SearchEntry, string>;
  settings!: Table<MetaRecord, string>;

  /** Has the disk confirm what was committed once writes pause (checkpoint.ts). */
  readonly checkpoint = new Checkpoint(() => this.flushToDisk());

  constructor(name = DB_NAME, dependencies: DexieDependencies = {}) {
    super(name, dependencies);
    this.version(1).stores(SCHEMA_V1);
    this.version(2)
      .stores(SCHEMA_V2)
      .upgrade(async (tx) => {
        // Index what was stored before search existed.
        const entries: SearchEntry[] = [];
        await tx.table('messages').each((message: StoredMessage) => void entries.push({ id: message.id, terms: termsOf(message) }));
        await tx.table('searchIndex').bulkPut(entries);
        // Give finished deliveries the retention their message's TTL policy gives them (defaults).
        const ttlOf = new Map<string, Envelope['ttl']>();
        await tx.table('messages').each((m: StoredMessage) => ttlOf.set(m.id, m.ttl));
        await tx.table('deliveries').toCollection().modify((delivery: Delivery) => {
          const ttl = ttlOf.get(delivery.messageId) ?? 'medium';
          delivery.retainFor = retentionOf(ttl, DEFAULT_TTL_MS);
          if (isFinished(delivery)) {
            const finishedAt = delivery.history.at(-1)?.at ?? 0;
            if (delivery.retainFor !== undefined) delivery.retainUntil = finishedAt + delivery.retainFor;
          }
        });
      });
    this.version(3)
      .stores(SCHEMA_V3)
      .upgrade(async (tx) => {
        // Each message gets the agents it went to, from its deliveries. Only the deliveries whose
        // index fields change are written again (queued ones, and finished ones kept for good):
        // an upgrade of a store of 100,000 messages writes each message once and few deliveries.
        const recipientsOf = new Map<string, string[]>();
        const changed: StoredDelivery[] = [];
        await tx.table('deliveries').each((delivery: StoredDelivery) => {
          const list = recipientsOf.get(delivery.messageId);
          if (list) list.push(delivery.recipient);
          else recipientsOf.set(delivery.messageId, [delivery.recipient]);
          const stored = toStoredDelivery(delivery);
          if (stored.queuedFor !== undefined || stored.retainUntil !== delivery.retainUntil) changed.push(stored);
        });
        await tx.table('deliveries').bulkPut(changed);
        const messages = tx.table<StoredMessage, string>('messages');
        for (let page = await messages.orderBy(':id').limit(UPGRADE_PAGE).toArray(); page.length; ) {
          await messages.bulkPut(page.map((message) => ({ ...message, recipients: recipientsOf.get(message.id) ?? [] })));
          page = await messages.where(':id').above(page.at(-1)!.id).limit(UPGRADE_PAGE).toArray();
        }
      });
  }

  protected committedWrite(): void {
    this.checkpoint.wrote();
  }

  close(options?: { disableAutoOpen: boolean }): void {
    this.checkpoint.cancel();
    super.close(options);
  }

  /** One strict commit, straight on the IndexedDB connection so that it arms no further checkpoint. */
  private flushToDisk(): Promise<void> {
    if (!this.isOpen()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const tx = this.backendDB().transaction('meta', 'readwrite', { durability: 'strict' });
      tx.objectStore('meta').put({ key: 'checkpoint', value: Date.now() });
      tx.oncomplete = () => resolve();
      tx.onabort = () => reject(tx.error ?? new Error('the checkpoint transaction was aborted'));
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

/** The test adapter's receiver keeps its own database, as any receiver keeps its state apart from the hub's. */
export const SINK_DB_NAME = 'switchboard-test-sink';

export class TestSinkDb extends SwitchboardDexie {
  sinkReceipts!: Table<SinkReceipt, [string, string]>;
  sinkEffects!: Table<SinkEffect, number>;

  constructor(name = SINK_DB_NAME, dependencies: DexieDependencies = {}) {
    super(name, dependencies);
    this.version(1).stores({
      sinkReceipts: '[recipient+messageId]',
      sinkEffects: '++seq, messageId',
    });
  }
}
