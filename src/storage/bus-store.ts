/**
 * The bus's store over Dexie: every method is one IndexedDB transaction. Every query goes through
 * an index, never a scan of a table; the indexes are sparse (see SCHEMA_V3 in db.ts), so each
 * answers for the deliveries in some states only, and a question about a state goes to the index
 * that holds it (`sourceOf`).
 */
import Dexie, { cmp, type Table } from 'dexie';
import { PRIORITIES, type Envelope } from '../protocol/envelope';
import { DELIVERY_STATES, FINAL_STATES, isFinished, type Delivery, type DeliveryState } from '../bus/delivery';
import type { ArchivedMessage, BusStore, ListQuery, StoredEntry, Transition } from '../bus/ports';
import { addAllUnlessTaken, committedUnless, fromStoredDelivery, requests, resultOf, toStoredDelivery, type StoredDelivery, type StoredMessage, type SwitchboardDb } from './db';
import { queryTerms } from '../bus/search-terms';
import { SearchIndexer } from './search-indexer';
import type { StoredRule } from '../bus/routing';
import type { DestinationRecord } from '../bus/destinations';

type Key = [string, string];

const RANKS = PRIORITIES.map((_, rank) => rank);
/** States a delivery can finish in (`delivered` too, when no ack was asked for). */
const FINISHING_STATES: DeliveryState[] = ['delivered', ...FINAL_STATES];

const asList = (result: Delivery | Delivery[] | undefined): Delivery[] => (result === undefined ? [] : Array.isArray(result) ? result : [result]);

/** The envelope without what it is stored with (its recipients, its retention). */
function envelopeOf({ retainUntil: _, recipients: __, ...message }: StoredMessage): Envelope {
  return message;
}

const keyOf = (d: Pick<Delivery, 'messageId' | 'recipient'>) => `${d.messageId}\u0000${d.recipient}`;

/**
 * Adds each item; an item whose key is already stored is left as it is. Resolves, per item, whether
 * it was added. Call inside a transaction: the caught constraint errors do not abort it.
 */
export async function addEach<T, K>(table: Table<T, K>, items: T[]): Promise<boolean[]> {
  const added = items.map(() => true);
  try {
    await table.bulkAdd(items);
  } catch (error) {
    if (!(error instanceof Dexie.BulkError)) throw error;
    for (const [position, failure] of Object.entries(error.failuresByPos)) {
      if (failure.name !== 'ConstraintError') throw failure;
      added[Number(position)] = false;
    }
  }
  return added;
}

/**
 * Reads deliveries by key, inside the caller's transaction. A batch usually covers consecutive
 * messages (ids are time-ordered), so one range read replaces a request per key when the range
 * holds little else: IndexedDB requests, not bytes, are what a message costs (BENCHMARKS.md).
 * A range that holds more than twice the keys asked for is read no further: then key by key.
 */
async function readMany(deliveries: IDBObjectStore, keys: Key[]): Promise<(StoredDelivery | undefined)[]> {
  const byKey = () => Promise.all(keys.map((key) => resultOf<StoredDelivery | undefined>(deliveries.get(key))));
  if (keys.length < 8) return byKey();
  let low = keys[0];
  let high = keys[0];
  for (const key of keys) {
    if (cmp(key, low) < 0) low = key;
    if (cmp(key, high) > 0) high = key;
  }
  // One request either way: the range, read only as far as it can be worth it.
  const inRange = await resultOf<StoredDelivery[]>(deliveries.getAll(IDBKeyRange.bound(low, high), 2 * keys.length + 1));
  if (inRange.length > 2 * keys.length) return byKey();
  const found = new Map(inRange.map((d) => [keyOf(d), d]));
  return keys.map(([messageId, recipient]) => found.get(`${messageId}\u0000${recipient}`));
}

export class DexieBusStore implements BusStore {
  private readonly indexer: SearchIndexer;
  /**
   * Every delivery in flight (`sent`) as this store last wrote it, by key: the very object. This
   * store is the only writer of deliveries, so an attempt's outcome made from that object is made
   * from what is stored, and replaceIfUnchanged can write it without reading it first.
   */
  private readonly lastSent = new Map<string, Delivery>();

  constructor(private readonly db: SwitchboardDb) {
    this.indexer = new SearchIndexer(db);
  }

  /** A delivery's stored form, noted as the last written for its key: every write of a delivery goes through here. */
  private readonly stored = (delivery: Delivery): StoredDelivery => {
    if (delivery.state === 'sent') this.lastSent.set(keyOf(delivery), delivery);
    else this.lastSent.delete(keyOf(delivery));
    return toStoredDelivery(delivery);
  };

  /** After a stop: index the messages the last worker committed but did not index. */
  async recover(): Promise<void> {
    await this.indexer.catchUp();
  }

  async insert(entries: StoredEntry[]): Promise<boolean[]> {
    const records: StoredMessage[] = entries.map((e) => ({
      ...e.message,
      recipients: e.deliveries.map((d) => d.recipient),
      ...(e.retainUntil !== undefined ? { retainUntil: e.retainUntil } : {}),
    }));
    // Nearly every batch is all new: its messages and deliveries go in together, without waiting
    // to hear that each message was new (one round trip to IndexedDB's backend fewer). A message
    // already stored aborts that attempt, so nothing of it is written, and the batch is stored
    // again by the way that keeps each stored message, and its deliveries, as they are.
    const stored = (await this.insertAllNew(entries, records)) ?? (await this.insertUnlessTaken(entries, records));
    this.indexer.add(entries.filter((_, i) => stored[i]).map((e) => e.message));
    return stored;
  }

  /** Stores the batch when none of its messages is stored yet; undefined (nothing written) otherwise. */
  private async insertAllNew(entries: StoredEntry[], records: StoredMessage[]): Promise<boolean[] | undefined> {
    // On the connection itself: every message passes here (writeTransaction in db.ts says why).
    const allNew = await this.db.writeIfAllNew(['messages', 'deliveries'], (tx) => {
      const adds = records.map((record) => tx.objectStore('messages').add(record));
      // A delivery's key holds its message's id: while every message is new, so is every delivery.
      for (const e of entries) for (const d of e.deliveries) tx.objectStore('deliveries').put(this.stored(d));
      return adds;
    });
    return allNew ? entries.map(() => true) : undefined;
  }

  /** Stores the messages not stored yet, and their deliveries; each stored one stays as it is. */
  private async insertUnlessTaken(entries: StoredEntry[], records: StoredMessage[]): Promise<boolean[]> {
    const { tx, done } = await this.db.writeTransaction(['messages', 'deliveries']);
    const messages = tx.objectStore('messages');
    const deliveries = tx.objectStore('deliveries');
    const stored = entries.map(() => false);
    // Add and let the primary key find duplicates: one request per message, not a read and a write.
    requests(tx, () =>
      addAllUnlessTaken(messages, records, (added) => {
        added.forEach((isNew, i) => (stored[i] = isNew));
        // A delivery's key holds its message's id, just added: it cannot exist, so skip add's existence check.
        for (const e of entries.filter((_, i) => added[i])) for (const d of e.deliveries) deliveries.put(this.stored(d));
      }),
    );
    await done;
    return stored;
  }

  claimDue(now: number, limit: number, transition: Transition) {
    const { deliveries, messages } = this.db;
    return this.db.transaction('rw', deliveries, messages, async () => {
      // One range per priority level, all asked at once (one round trip). Within a level the index
      // orders by due time, then by key — oldest message first — which is the bus's order (byUrgency).
      const levels = await Promise.all(
        RANKS.map((rank) => deliveries.where('[priority+dueAt]').between([rank, Dexie.minKey], [rank, now], true, true).limit(limit).toArray()),
      );
      const due = levels.flat().slice(0, limit).map(fromStoredDelivery);
      const { changed: claimed, added } = await this.apply(due, transition);
      // The earliest due time left, after those writes: the first key of each level.
      const firsts = await Promise.all(
        RANKS.map((rank) => deliveries.where('[priority+dueAt]').between([rank, Dexie.minKey], [rank, Dexie.maxKey]).limit(1).keys()),
      );
      const dueTimes = firsts.flat().map((key) => (key as unknown as [number, number])[1]);
      return { claimed, added, nextDueAt: dueTimes.length ? Math.min(...dueTimes) : undefined };
    });
  }

  queuedFor(recipient: string, transition: Transition) {
    const { deliveries, messages } = this.db;
    return this.db.transaction('rw', deliveries, messages, async () => {
      const current = await deliveries.where('queuedFor').equals(recipient).toArray();
      return this.apply(current.map(fromStoredDelivery), transition);
    });
  }

  /**
   * Inside the caller's transaction: passes each delivery through `transition` and writes what it
   * returns; the extra deliveries it adds go in only where the key is not taken (a re-route to an
   * agent that already has the message adds nothing).
   */
  private async apply(current: Delivery[], transition: Transition): Promise<{ changed: Delivery[]; added: Delivery[] }> {
    const changed: Delivery[] = [];
    const extras: Delivery[] = [];
    for (const before of current) {
      const [after, ...more] = asList(transition(before));
      if (after) changed.push(after);
      extras.push(...more);
    }
    await this.db.deliveries.bulkPut(changed.map(this.stored));
    if (!extras.length) return { changed, added: [] };
    const fresh = await addEach(this.db.deliveries, extras.map(this.stored));
    const added = extras.filter((_, i) => fresh[i]);
    await this.addRecipients(added);
    return { changed, added };
  }

  /** A re-route added deliveries to stored messages: their agents now count among its recipients. */
  private async addRecipients(added: Delivery[]): Promise<void> {
    if (!added.length) return;
    const ids = [...new Set(added.map((d) => d.messageId))];
    const stored = (await this.db.messages.bulkGet(ids)).filter((m): m is StoredMessage => m !== undefined);
    for (const message of stored) {
      const recipients = new Set(message.recipients);
      for (const d of added) if (d.messageId === message.id) recipients.add(d.recipient);
      message.recipients = [...recipients];
    }
    await this.db.messages.bulkPut(stored);
  }

  async archiveDue(now: number, limit: number): Promise<number> {
    const { messages, deliveries, archive, searchIndex } = this.db;
    await this.indexer.flushed(); // an entry written after its message left would never be removed
    return this.db.transaction('rw', messages, deliveries, archive, searchIndex, async () => {
      // Finished deliveries past retention: one range read per final state, all asked at once. A
      // message whose other deliveries are not done yet stays, and is read again next time: such
      // messages hold up others only while there are `limit` of them in one state.
      const ranges = await Promise.all(
        FINISHING_STATES.map((state) =>
          deliveries.where('[state+retainUntil]').between([state, Dexie.minKey], [state, now], true, true).limit(limit).toArray(),
        ),
      );
      const due = new Map(ranges.flat().map((d) => [keyOf(d), d]));
      const ids = [...new Set([...due.values()].map((d) => d.messageId))].sort().slice(0, limit);
      const [withDeliveries, alone] = await Promise.all([
        messages.bulkGet(ids),
        // messages that never had a delivery keep their own retention
        messages.where('retainUntil').belowOrEqual(now).limit(limit).toArray(),
      ]);
      const candidates = [...withDeliveries.filter((m): m is StoredMessage => m !== undefined), ...alone].slice(0, limit);
      // A message leaves only when every one of its deliveries is finished and past retention. Its
      // recipients name them all; the few not read above (not finished, or not yet past) are read by key.
      const keys = candidates.flatMap((m) => (m.recipients ?? []).map((recipient): Key => [m.id, recipient]));
      const missing = keys.filter(([messageId, recipient]) => !due.has(`${messageId}\u0000${recipient}`));
      for (const d of await deliveries.bulkGet(missing)) if (d) due.set(keyOf(d), d);
      const archived: ArchivedMessage[] = [];
      for (const message of candidates) {
        const all = (message.recipients ?? []).map((recipient) => due.get(`${message.id}\u0000${recipient}`));
        const done = all.every((d) => d !== undefined && isFinished(d) && d.retainUntil !== undefined && d.retainUntil <= now);
        if (!done) continue;
        const list = (all as StoredDelivery[]).map(fromStoredDelivery).sort((a, b) => (a.recipient < b.recipient ? -1 : a.recipient > b.recipient ? 1 : 0));
        archived.push({ id: message.id, archivedAt: now, message: envelopeOf(message), deliveries: list });
      }
      await archive.bulkPut(archived);
      await messages.bulkDelete(archived.map((a) => a.id));
      await searchIndex.bulkDelete(archived.map((a) => a.id));
      for (const a of archived) for (const d of a.deliveries) this.lastSent.delete(keyOf(d));
      await deliveries.bulkDelete(archived.flatMap((a) => a.deliveries.map((d) => [d.messageId, d.recipient] as Key)));
      return archived.length;
    });
  }

  async clearMessages(): Promise<void> {
    const { messages, deliveries, archive, searchIndex } = this.db;
    await this.db.transaction('rw', messages, deliveries, archive, searchIndex, async () => {
      this.lastSent.clear();
      await Promise.all([messages.clear(), deliveries.clear(), archive.clear(), searchIndex.clear()]);
    });
  }

  async purgeArchive(before: number, limit: number): Promise<number> {
    const ids = await this.db.archive.where('archivedAt').belowOrEqual(before).limit(limit).primaryKeys();
    await this.db.archive.bulkDelete(ids);
    return ids.length;
  }

  exportArchive(since: number, limit: number): Promise<ArchivedMessage[]> {
    return this.db.archive.where('archivedAt').aboveOrEqual(since).limit(limit).toArray();
  }

  async loadSetting<T>(key: string): Promise<T | undefined> {
    return (await this.db.settings.get(key))?.value as T | undefined;
  }

  async saveSetting(key: string, value: unknown): Promise<void> {
    await this.db.settings.put({ key, value });
  }

  async loadRules(): Promise<StoredRule[]> {
    return this.db.rules.orderBy('position').toArray();
  }

  async saveRules(rules: StoredRule[]): Promise<void> {
    await this.db.transaction('rw', this.db.rules, async () => {
      await this.db.rules.clear();
      await this.db.rules.bulkPut(rules);
    });
  }

  loadDestinations(): Promise<DestinationRecord[]> {
    return this.db.destinations.toArray();
  }

  async saveDestinations(records: DestinationRecord[]): Promise<void> {
    // Queued from inside other transactions (a claim decides a destination's fate): write in a
    // transaction of its own, not in the one whose zone this runs in.
    await Dexie.ignoreTransaction(() => this.db.destinations.bulkPut(records));
  }

  /**
   * Messages whose text holds every word of the query (the last word also as a prefix), newest
   * first. Each word is looked up in the `terms` index — the rarest narrows the rest — never by a
   * scan of the messages.
   */
  async search(query: string, limit: number): Promise<StoredEntry[]> {
    const { messages, deliveries, searchIndex } = this.db;
    await this.indexer.flushed(); // see every message accepted so far
    return this.db.transaction('r', messages, deliveries, searchIndex, async () => {
      const { whole, prefix } = queryTerms(query);
      if (!whole.length && !prefix) return [];
      const sets: Set<string>[] = [];
      for (const term of whole) sets.push(new Set(await searchIndex.where('terms').equals(term).primaryKeys()));
      if (prefix) sets.push(new Set(await searchIndex.where('terms').startsWith(prefix).primaryKeys()));
      sets.sort((a, b) => a.size - b.size);
      const [smallest, ...rest] = sets;
      const ids = [...smallest].filter((id) => rest.every((set) => set.has(id)));
      ids.sort().reverse();
      return this.entries(ids.slice(0, limit));
    });
  }

  async update(keys: Key[], transition: (current: Delivery | undefined, index: number) => Delivery | undefined) {
    // On the connection itself: every delivery's outcome passes here (writeTransaction in db.ts).
    const { tx, done } = await this.db.writeTransaction(['deliveries']);
    const deliveries = tx.objectStore('deliveries');
    const current = (await readMany(deliveries, keys)).map((d) => d && fromStoredDelivery(d));
    const latest = new Map<string, Delivery | undefined>();
    const written = keys.map((key, index) => {
      const id = key.join('\u0000');
      const before = latest.has(id) ? latest.get(id) : current[index];
      const after = transition(before, index);
      if (after) latest.set(id, after);
      return after;
    });
    requests(tx, () => {
      for (const d of latest.values()) if (d) deliveries.put(this.stored(d));
    });
    await done;
    return written;
  }

  async replaceIfUnchanged(changes: { before: Delivery; after: Delivery }[]): Promise<boolean> {
    // On the connection itself: every delivery's outcome passes here (writeTransaction in db.ts).
    const { tx, done } = await this.db.writeTransaction(['deliveries']);
    const deliveries = tx.objectStore('deliveries');
    let changed = false;
    const abort = () => {
      if (changed) return;
      changed = true;
      tx.abort();
    };
    // Nearly always, each `before` is the very delivery this store last wrote (lastSent): then the
    // writes need no reads, only a check that nobody writes those deliveries in between.
    // A change's `before` and `after` are the same delivery: one key each, made once on this hot path.
    const keys = changes.map(({ before }) => keyOf(before));
    if (changes.length && changes.every(({ before }, i) => this.lastSent.get(keys[i]) === before)) {
      const unchanged = () => changes.every(({ after }, i) => this.lastSent.get(keys[i]) === after);
      let written = false;
      try {
        requests(tx, () => {
          const writes = changes.map(({ after }, i) => (this.lastSent.set(keys[i], after), deliveries.put(toStoredDelivery(after))));
          // A transaction made before this one that writes one of them runs first, and may make its
          // write after the check above: by the time this one's first write is done, it has made it.
          writes[0].onsuccess = () => {
            if (!unchanged()) abort();
          };
        });
        return (written = await committedUnless(done, () => changed));
      } finally {
        // Kept: what was written and is in flight. One written since is left as that write noted it.
        changes.forEach(({ after }, i) => {
          if (this.lastSent.get(keys[i]) === after && !(written && after.state === 'sent')) this.lastSent.delete(keys[i]);
        });
      }
    }
    requests(tx, () => {
      for (const { before, after } of changes) {
        // The read comes before the write in the transaction, so it sees what was there; it is
        // checked when it reaches the worker, while the transaction can still be aborted.
        const expected = JSON.stringify(toStoredDelivery(before));
        const read = deliveries.get([before.messageId, before.recipient]);
        read.onsuccess = () => {
          if (JSON.stringify(read.result) !== expected) abort();
        };
        deliveries.put(this.stored(after));
      }
    });
    return committedUnless(done, () => changed);
  }

  async inState(state: DeliveryState): Promise<Delivery[]> {
    return (await this.inStateRows(state)).map(fromStoredDelivery);
  }

  async message(id: string): Promise<Envelope | undefined> {
    const stored = await this.db.messages.get(id);
    return stored && envelopeOf(stored);
  }

  async deliveriesOf(messageId: string): Promise<Delivery[]> {
    const stored = await this.db.deliveries.where('[messageId+recipient]').between([messageId, Dexie.minKey], [messageId, Dexie.maxKey]).toArray();
    return stored.map(fromStoredDelivery);
  }

  list(query: ListQuery): Promise<StoredEntry[]> {
    const { messages, deliveries } = this.db;
    const limit = query.limit ?? 100;
    return this.db.transaction('r', messages, deliveries, async () => {
      const filters: Set<string>[] = [];
      if (query.threadId !== undefined) filters.push(new Set(await messages.where('threadId').equals(query.threadId).primaryKeys()));
      if (query.agent !== undefined) {
        const [sent, received] = await Promise.all([
          messages.where('from').equals(query.agent).primaryKeys(),
          messages.where('recipients').equals(query.agent).primaryKeys(),
        ]);
        filters.push(new Set([...sent, ...received]));
      }
      if (query.state !== undefined) {
        const keys = await this.keysInState(query.state);
        filters.push(new Set(keys.map(([messageId]) => messageId)));
      }
      let ids: string[];
      if (filters.length) {
        const [first, ...rest] = filters;
        ids = [...first].filter((id) => rest.every((f) => f.has(id)));
        ids.sort().reverse();
        ids = ids.slice(0, limit);
      } else {
        ids = await messages.orderBy('id').reverse().limit(limit).primaryKeys();
      }
      return this.entries(ids);
    });
  }

  /** Messages by id (in that order) with their deliveries — read by key, its recipients naming them — inside the caller's transaction. */
  private async entries(ids: string[]): Promise<StoredEntry[]> {
    const found = (await this.db.messages.bulkGet(ids)).filter((m): m is StoredMessage => m !== undefined);
    const keys = found.flatMap((m) => (m.recipients ?? []).map((recipient): Key => [m.id, recipient]));
    const byKey = new Map((await this.db.deliveries.bulkGet(keys)).filter((d) => d !== undefined).map((d) => [keyOf(d), fromStoredDelivery(d)]));
    return found.map((stored) => ({
      message: envelopeOf(stored),
      deliveries: [...(stored.recipients ?? [])]
        .sort()
        .map((recipient) => byKey.get(`${stored.id}\u0000${recipient}`))
        .filter((d): d is Delivery => d !== undefined),
    }));
  }

  /**
   * Where the deliveries in a state are found: queued ones in `queuedFor`; sent ones, and delivered
   * ones waiting for an ack, among the live deliveries of `[priority+dueAt]` (read, then picked by
   * state); finished ones in their own range of `[state+retainUntil]`. `delivered` is in both of
   * the last two.
   */
  private async inStateRows(state: DeliveryState): Promise<StoredDelivery[]> {
    const { deliveries } = this.db;
    if (state === 'queued') return deliveries.orderBy('queuedFor').toArray();
    const rows: StoredDelivery[] = [];
    if (state === 'sent' || state === 'delivered') rows.push(...(await this.live()).filter((d) => d.state === state));
    if (FINISHING_STATES.includes(state)) rows.push(...(await this.finished(state).toArray()));
    return rows;
  }

  private async keysInState(state: DeliveryState): Promise<Key[]> {
    const { deliveries } = this.db;
    if (state === 'queued') return deliveries.orderBy('queuedFor').primaryKeys();
    const keys: Key[] = [];
    if (state === 'sent' || state === 'delivered') keys.push(...(await this.live()).filter((d) => d.state === state).map((d): Key => [d.messageId, d.recipient]));
    if (FINISHING_STATES.includes(state)) keys.push(...(await this.finished(state).primaryKeys()));
    return keys;
  }

  /** Every live delivery: the ones with something left to do, which `[priority+dueAt]` holds alone. */
  private live(): Promise<StoredDelivery[]> {
    return this.db.deliveries.orderBy('[priority+dueAt]').toArray();
  }

  private finished(state: DeliveryState) {
    return this.db.deliveries.where('[state+retainUntil]').between([state, Dexie.minKey], [state, Dexie.maxKey], true, true);
  }

  counts(): Promise<Record<DeliveryState, number>> {
    const { deliveries } = this.db;
    return this.db.transaction('r', deliveries, async () => {
      const [queued, live, ...finished] = await Promise.all([
        deliveries.orderBy('queuedFor').count(),
        this.live(),
        ...FINISHING_STATES.map((state) => this.finished(state).count()),
      ]);
      const counts = Object.fromEntries(DELIVERY_STATES.map((state) => [state, 0])) as Record<DeliveryState, number>;
      counts.queued = queued;
      for (const d of live) if (d.state === 'sent' || d.state === 'delivered') counts[d.state]++;
      FINISHING_STATES.forEach((state, i) => (counts[state] += finished[i]));
      return counts;
    });
  }
}
