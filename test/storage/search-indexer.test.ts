import { describe, expect, it, vi } from 'vitest';
import { SwitchboardDb } from '../../src/storage/db';
import { SearchIndexer } from '../../src/storage/search-indexer';

const message = (n: number) => ({ id: `019a0000-0000-7000-8000-${String(n).padStart(12, '0')}`, body: { text: `word${n} shared` } });

/**
 * The bug this guards against spins in microtasks, where no timer (not even the test's timeout) can
 * fire: bound the number of writes one flush may ask for, so a spin fails the test instead of hanging it.
 */
function boundWrites(indexer: SearchIndexer, max: number): void {
  const target = indexer as unknown as { write(): Promise<void> };
  const write = target.write.bind(indexer);
  let calls = 0;
  vi.spyOn(target, 'write').mockImplementation(() => {
    if (++calls > max) throw new Error(`flushed() asked for ${calls} writes: it spins`);
    return write();
  });
}

describe('SearchIndexer', () => {
  it('still flushes after its idle timer fires with nothing left to write', async () => {
    const db = new SwitchboardDb(`indexer-test-${Math.random()}`);
    const indexer = new SearchIndexer(db);
    indexer.add([message(1)]);
    const writing = indexer.flushed();
    // Arrives while the first write runs: the running write takes it, and the idle timer it armed
    // later finds nothing to do. That timer once left a settled promise as "the write in progress",
    // and every later flushed() spun on it forever, starving the service worker (issue 3's 100k run).
    indexer.add([message(2)]);
    await writing;
    await new Promise((resolve) => setTimeout(resolve, 400)); // past the idle delay
    boundWrites(indexer, 50);
    await indexer.flushed();
    indexer.add([message(3)]);
    await indexer.flushed();
    expect(await db.searchIndex.where('terms').equals('shared').primaryKeys()).toHaveLength(3);
  });
});
