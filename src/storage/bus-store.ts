/** The bus's store over Dexie: every method is one IndexedDB transaction. */
import Dexie, { cmp, type Table } from 'dexie';
import { PRIORITIES, type Envelope } from '../protocol/envelope';
import { byUrgency, DELIVERY_STATES, isFinished, type Delivery, type DeliveryState } from '../bus/delivery';
import type { ArchivedMessage, BusStore, ListQuery, StoredEntry, Transition } from '../bus/ports';
import type { StoredMessage, SwitchboardDb } from './db';
import { queryTerms } from '../bus/search-terms';
import { SearchIndexer } from './search-indexer';
import type { StoredRule } from '../bus/routing';
import type { DestinationRecord } from '../bus/destinations';

type Key = [string, string];

const asList = (result: Delivery | Delivery[] | undefined): Delivery[] => (result === undefined ? [] : Array.isArray(result) ? result : [result]);

/** The envelope without what it is stored with (its retention). */
function envelopeOf({ retainUntil: _, ...message }: StoredMessage): Envelope {
  return message;
}

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

export class DexieBusStore implements BusStore {
  private readonly indexer: SearchIndexer;

  constructor(private readonly db: SwitchboardDb) {
    this.indexer = new SearchIndexer(db);
  }

  /** After a stop: index the messages the last worker committed but did not index. */
  async recover(): Promise<void> {
    await this.indexer.catchUp();
  }

  async insert(entries: StoredEntry[]): Promise<boolean[]> {
    const { messages, deliveries } = this.db;
    const stored = await this.db.transaction('rw', messages, deliveries, async () => {
      // Add first and let the primary key find duplicates: one request per message, not a read and a write.
      const added = await addEach(
        messages,
        entries.map((e) => (e.retainUntil !== undefined ? { ...e.message, retainUntil: e.retainUntil } : e.message)),
      );
      // A delivery's key holds its message's id, just added: it cannot exist, so skip add's existence check.
      await deliveries.bulkPut(entries.filter((_, i) => added[i]).flatMap((e) => e.deliveries));
      return added;
    });
    this.indexer.add(entries.filter((_, i) => stored[i]).map((e) => e.message));
    return stored;
  }

  claimDue(now: number, limit: number, transition: Transition) {
    const { deliveries } = this.db;
    return this.db.transaction('rw', deliveries, async () => {
      // Usually everything due fits in one batch: one query, ordered here. Only a larger backlog
      // needs a query per priority level to take the most urgent first.
      let due = await deliveries.where('dueAt').belowOrEqual(now).limit(limit + 1).toArray();
      if (due.length > limit) {
        due = [];
        for (let rank = 0; rank < PRIORITIES.length && due.length < limit; rank++) {
          const level = await deliveries
            .where('[priority+dueAt]')
            .between([rank, Dexie.minKey], [rank, now], true, true)
            .limit(limit - due.length)
            .toArray();
          due.push(...level);
        }
      } else {
        due.sort(byUrgency);
      }
      const { changed: claimed, added } = await this.apply(due, transition);
      const next = await deliveries.orderBy('dueAt').first();
      return { claimed, added, nextDueAt: next?.dueAt };
    });
  }

  queuedFor(recipient: string, transition: Transition) {
    const { deliveries } = this.db;
    return this.db.transaction('rw', deliveries, async () => {
      const current = await deliveries.where('[recipient+state]').equals([recipient, 'queued']).toArray();
      return this.apply(current, transition);
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
    await this.db.deliveries.bulkPut(changed);
    if (!extras.length) return { changed, added: [] };
    const fresh = await addEach(this.db.deliveries, extras);
    return { changed, added: extras.filter((_, i) => fresh[i]) };
  }

  async archiveDue(now: number, limit: number): Promise<number> {
    const { messages, deliveries, archive, searchIndex } = this.db;
    await this.indexer.flushed(); // an entry written after its message left would never be removed
    return this.db.transaction('rw', messages, deliveries, archive, searchIndex, async () => {
      const candidates = new Set<string>();
      for (const key of await deliveries.where('retainUntil').belowOrEqual(now).limit(limit * 4).primaryKeys()) candidates.add(key[0]);
      for (const id of await messages.where('retainUntil').belowOrEqual(now).limit(limit).primaryKeys()) candidates.add(id);
      const archived: ArchivedMessage[] = [];
      for (const id of [...candidates].slice(0, limit)) {
        const all = await this.deliveriesOf(id);
        // A message leaves only when every one of its deliveries is finished and past retention.
        if (!all.every((d) => isFinished(d) && d.retainUntil !== undefined && d.retainUntil <= now)) continue;
        const stored = await messages.get(id);
        if (stored) archived.push({ id, archivedAt: now, message: envelopeOf(stored), deliveries: all });
      }
      await archive.bulkPut(archived);
      await messages.bulkDelete(archived.map((a) => a.id));
      await searchIndex.bulkDelete(archived.map((a) => a.id));
      await deliveries.bulkDelete(archived.flatMap((a) => a.deliveries.map((d) => [d.messageId, d.recipient] as Key)));
      return archived.length;
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

  update(keys: Key[], transition: (current: Delivery | undefined, index: number) => Delivery | undefined) {
    const { deliveries } = this.db;
    return this.db.transaction('rw', deliveries, async () => {
      const current = await this.readMany(keys);
      const latest = new Map<string, Delivery | undefined>();
      const written = keys.map((key, index) => {
        const id = key.join('\u0000');
        const before = latest.has(id) ? latest.get(id) : current[index];
        const after = transition(before, index);
        if (after) latest.set(id, after);
        return after;
      });
      await deliveries.bulkPut([...latest.values()].filter((d): d is Delivery => d !== undefined));
      return written;
    });
  }

  /**
   * Reads deliveries by key, inside the caller's transaction. A batch usually covers consecutive
   * messages (ids are time-ordered), so one range read replaces a request per key when the range
   * holds little else: IndexedDB requests, not bytes, are what a message costs (BENCHMARKS.md).
   */
  private async readMany(keys: Key[]): Promise<(Delivery | undefined)[]> {
    const { deliveries } = this.db;
    if (keys.length < 8) return deliveries.bulkGet(keys);
    let low = keys[0];
    let high = keys[0];
    for (const key of keys) {
      if (cmp(key, low) < 0) low = key;
      if (cmp(key, high) > 0) high = key;
    }
    const range = deliveries.where('[messageId+recipient]').between(low, high, true, true);
    if ((await range.count()) > 2 * keys.length) return deliveries.bulkGet(keys);
    const found = new Map((await range.toArray()).map((d) => [`${d.messageId}\u0000${d.recipient}`, d]));
    return keys.map(([messageId, recipient]) => found.get(`${messageId}\u0000${recipient}`));
  }

  inState(state: DeliveryState): Promise<Delivery[]> {
    return this.db.deliveries.where('state').equals(state).toArray();
  }

  async message(id: string): Promise<Envelope | undefined> {
    const stored = await this.db.messages.get(id);
    return stored && envelopeOf(stored);
  }

  deliveriesOf(messageId: string): Promise<Delivery[]> {
    return this.db.deliveries.where('[messageId+recipient]').between([messageId, Dexie.minKey], [messageId, Dexie.maxKey]).toArray();
  }

  list(query: ListQuery): Promise<StoredEntry[]> {
    const { messages, deliveries } = this.db;
    const limit = query.limit ?? 100;
    return this.db.transaction('r', messages, deliveries, async () => {
      const filters: Set<string>[] = [];
      if (query.threadId !== undefined) filters.push(new Set(await messages.where('threadId').equals(query.threadId).primaryKeys()));
      if (query.agent !== undefined) {
        const sent = await messages.where('from').equals(query.agent).primaryKeys();
        const received = await deliveries
          .where('[recipient+state]')
          .between([query.agent, Dexie.minKey], [query.agent, Dexie.maxKey])
          .primaryKeys();
        filters.push(new Set([...sent, ...received.map(([messageId]) => messageId)]));
      }
      if (query.state !== undefined) {
        const keys = await deliveries.where('state').equals(query.state).primaryKeys();
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

  /** Messages by id (in that order) with their deliveries, inside the caller's transaction. */
  private async entries(ids: string[]): Promise<StoredEntry[]> {
    const found = await this.db.messages.bulkGet(ids);
    return Promise.all(
      found
        .filter((m): m is StoredMessage => m !== undefined)
        .map(async (stored) => ({ message: envelopeOf(stored), deliveries: await this.deliveriesOf(stored.id) })),
    );
  }

  async counts(): Promise<Record<DeliveryState, number>> {
    const entries = await Promise.all(
      DELIVERY_STATES.map(async (state) => [state, await this.db.deliveries.where('state').equals(state).count()] as const),
    );
    return Object.fromEntries(entries) as Record<DeliveryState, number>;
  }
}
