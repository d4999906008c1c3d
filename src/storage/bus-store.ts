/** The bus's store over Dexie: every method is one IndexedDB transaction. */
import Dexie from 'dexie';
import { PRIORITIES, type Envelope } from '../protocol/envelope';
import { DELIVERY_STATES, type Delivery, type DeliveryState } from '../bus/delivery';
import type { BusStore, ListQuery, StoredEntry, Transition } from '../bus/ports';
import type { SwitchboardDb } from './db';

type Key = [string, string];

export class DexieBusStore implements BusStore {
  constructor(private readonly db: SwitchboardDb) {}

  insert(entries: StoredEntry[]): Promise<boolean[]> {
    const { messages, deliveries } = this.db;
    return this.db.transaction('rw', messages, deliveries, async () => {
      const stored = await messages.bulkGet(entries.map((e) => e.message.id));
      const seen = new Set<string>();
      const fresh = entries.map((entry, i) => {
        const id = entry.message.id;
        const isNew = !stored[i] && !seen.has(id);
        seen.add(id);
        return isNew;
      });
      const added = entries.filter((_, i) => fresh[i]);
      await messages.bulkAdd(added.map((e) => e.message));
      await deliveries.bulkAdd(added.flatMap((e) => e.deliveries));
      return fresh;
    });
  }

  claimDue(now: number, limit: number, transition: Transition) {
    const { deliveries } = this.db;
    return this.db.transaction('rw', deliveries, async () => {
      const due: Delivery[] = [];
      for (let rank = 0; rank < PRIORITIES.length && due.length < limit; rank++) {
        const level = await deliveries
          .where('[priority+dueAt]')
          .between([rank, Dexie.minKey], [rank, now], true, true)
          .limit(limit - due.length)
          .toArray();
        due.push(...level);
      }
      const claimed = due.flatMap((before) => {
        const after = transition(before);
        return after ? [{ before, after }] : [];
      });
      await deliveries.bulkPut(claimed.map((c) => c.after));
      return claimed;
    });
  }

  update(keys: Key[], transition: (current: Delivery | undefined, index: number) => Delivery | undefined) {
    const { deliveries } = this.db;
    return this.db.transaction('rw', deliveries, async () => {
      const current = await deliveries.bulkGet(keys);
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

  inState(state: DeliveryState): Promise<Delivery[]> {
    return this.db.deliveries.where('state').equals(state).toArray();
  }

  async nextDueAt(): Promise<number | undefined> {
    const first = await this.db.deliveries.orderBy('dueAt').first();
    return first?.dueAt;
  }

  message(id: string): Promise<Envelope | undefined> {
    return this.db.messages.get(id);
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
        const received = await deliveries.where('recipient').equals(query.agent).primaryKeys();
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
      const found = await messages.bulkGet(ids);
      return Promise.all(
        found
          .filter((m): m is Envelope => m !== undefined)
          .map(async (message) => ({ message, deliveries: await this.deliveriesOf(message.id) })),
      );
    });
  }

  async counts(): Promise<Record<DeliveryState, number>> {
    const entries = await Promise.all(
      DELIVERY_STATES.map(async (state) => [state, await this.db.deliveries.where('state').equals(state).count()] as const),
    );
    return Object.fromEntries(entries) as Record<DeliveryState, number>;
  }
}
