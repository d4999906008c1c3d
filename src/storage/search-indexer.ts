/**
 * Writes each message's full-text terms (`searchIndex`) after its send commits, in batches, when the
 * bus is idle, so that indexing costs the send and its delivery nothing: a multi-entry index on the messages themselves cut raw
 * insert speed by about a third (BENCHMARKS.md). A search first waits for what is pending, so it
 * always sees every accepted message.
 */
import Dexie from 'dexie';
import { termsOf } from '../bus/search-terms';
import type { Envelope } from '../protocol/envelope';
import type { SearchEntry, SwitchboardDb } from './db';

/**
 * Indexing runs at low priority: once sends have paused this long (ms), or when this many messages
 * wait — so during a stream it does not compete with deliveries for IndexedDB. A search (and the
 * archive) makes it write at once.
 */
const IDLE_MS = 250;
const MAX_QUEUED = 5_000;
const CATCH_UP_PAGE = 2_000;

export class SearchIndexer {
  private queue: Pick<Envelope, 'id' | 'body'>[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private writing: Promise<void> | undefined;

  constructor(private readonly db: SwitchboardDb) {}

  /** Messages just committed: index them soon. */
  add(messages: Pick<Envelope, 'id' | 'body'>[]): void {
    if (!messages.length) return;
    this.queue.push(...messages);
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.queue.length >= MAX_QUEUED) void this.write();
    else this.timer = setTimeout(() => void this.write(), IDLE_MS);
  }

  /** Resolves when every message added so far is indexed. */
  async flushed(): Promise<void> {
    while (this.queue.length || this.writing) await this.write();
  }

  /**
   * After a stop: index the newest messages that have no entry — the last worker committed them but
   * did not live to index them. Call before new messages arrive.
   */
  async catchUp(): Promise<number> {
    let indexed = 0;
    let below: string | undefined;
    for (;;) {
      const page = await (below === undefined ? this.db.messages.orderBy(':id') : this.db.messages.where(':id').below(below))
        .reverse()
        .limit(CATCH_UP_PAGE)
        .primaryKeys();
      if (!page.length) return indexed;
      const entries = await this.db.searchIndex.bulkGet(page);
      const missing = page.filter((_, i) => !entries[i]);
      if (!missing.length) return indexed;
      const messages = (await this.db.messages.bulkGet(missing)).filter((m) => m !== undefined);
      await this.db.searchIndex.bulkPut(messages.map(entryOf));
      indexed += messages.length;
      below = page.at(-1);
    }
  }

  private write(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    // Only start a drain when there is something to drain, and clear `writing` in a callback that
    // runs after the assignment: a drain that finished synchronously (an idle timer firing after a
    // running write had taken its messages) once left its settled promise in `writing`, and
    // flushed() then spun on it in microtasks forever, starving the worker (BENCHMARKS.md, issue 3).
    if (!this.writing && this.queue.length) {
      this.writing = this.drain().finally(() => {
        this.writing = undefined;
      });
    }
    return this.writing ?? Promise.resolve();
  }

  private async drain(): Promise<void> {
    while (this.queue.length) {
      const batch = this.queue;
      this.queue = [];
      // Started from inside other transactions' zones: write in a transaction of its own.
      await Dexie.ignoreTransaction(() => this.db.searchIndex.bulkPut(batch.map(entryOf)));
    }
  }
}

function entryOf(message: Pick<Envelope, 'id' | 'body'>): SearchEntry {
  return { id: message.id, terms: termsOf(message) };
}
