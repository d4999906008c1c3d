import { afterEach, describe, expect, it, vi } from 'vitest';
import { Checkpoint, CHECKPOINT_QUIET_MS } from '../../src/storage/checkpoint';
import { SwitchboardDb } from '../../src/storage/db';

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('Checkpoint', () => {
  it('flushes once, a quiet period after the last of a run of writes', async () => {
    vi.useFakeTimers();
    const flush = vi.fn(() => Promise.resolve());
    const checkpoint = new Checkpoint(flush, 1_000);
    checkpoint.wrote();
    await vi.advanceTimersByTimeAsync(600);
    checkpoint.wrote(); // writes keep coming: the flush waits for them to stop
    await vi.advanceTimersByTimeAsync(600);
    checkpoint.wrote();
    await vi.advanceTimersByTimeAsync(999);
    expect(flush).not.toHaveBeenCalled();
    expect(checkpoint.pending).toBe(true);
    await vi.advanceTimersByTimeAsync(1);
    expect(flush).toHaveBeenCalledTimes(1);
    expect(checkpoint.pending).toBe(false);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(flush).toHaveBeenCalledTimes(1); // nothing written since: nothing to flush
  });

  it('flushes at once when asked to (a caller about to stop), and not when nothing waits', async () => {
    vi.useFakeTimers();
    const flush = vi.fn(() => Promise.resolve());
    const checkpoint = new Checkpoint(flush, 1_000);
    await checkpoint.now();
    expect(flush).not.toHaveBeenCalled();
    checkpoint.wrote();
    await checkpoint.now();
    expect(flush).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(flush).toHaveBeenCalledTimes(1);
  });

  it('forgets a waiting flush when cancelled', async () => {
    vi.useFakeTimers();
    const flush = vi.fn(() => Promise.resolve());
    const checkpoint = new Checkpoint(flush, 1_000);
    checkpoint.wrote();
    checkpoint.cancel();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(flush).not.toHaveBeenCalled();
  });

  it('says so when a flush fails, and flushes again after the next write', async () => {
    vi.useFakeTimers();
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const flush = vi.fn().mockRejectedValueOnce(new Error('disk full')).mockResolvedValue(undefined);
    const checkpoint = new Checkpoint(flush, 1_000);
    checkpoint.wrote();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('disk full'));
    checkpoint.wrote();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(flush).toHaveBeenCalledTimes(2);
  });
});

describe("the hub database's durability", () => {
  /** Every transaction opened on fake-indexeddb's connections, with the durability it asked for. */
  function recordTransactions() {
    const opened: { stores: string[]; mode: string; durability: string }[] = [];
    const transaction = IDBDatabase.prototype.transaction;
    vi.spyOn(IDBDatabase.prototype, 'transaction').mockImplementation(function (this: IDBDatabase, stores, mode, options) {
      opened.push({ stores: [stores].flat().map(String), mode: mode ?? 'readonly', durability: options?.durability ?? 'default' });
      return transaction.call(this, stores, mode, options);
    });
    return opened;
  }

  it('commits relaxed, then has the disk confirm every write once writes pause, with one strict commit', async () => {
    const opened = recordTransactions(); // before the connection opens: Dexie binds its transaction method then
    const db = new SwitchboardDb(`checkpoint-${Math.random()}`);
    await db.open();
    await db.settings.put({ key: 'a', value: 1 });
    await db.settings.put({ key: 'b', value: 2 });
    expect(opened.filter((t) => t.mode === 'readwrite').map((t) => t.durability)).toEqual(['relaxed', 'relaxed']);
    expect(db.checkpoint.pending).toBe(true);

    await db.checkpoint.now();
    const strict = opened.filter((t) => t.durability === 'strict');
    expect(strict).toEqual([{ stores: ['meta'], mode: 'readwrite', durability: 'strict' }]);
    expect((await db.meta.get('checkpoint'))?.value).toEqual(expect.any(Number));
    // The checkpoint's own commit arms no further checkpoint, and reading arms none.
    await db.settings.get('a');
    expect(db.checkpoint.pending).toBe(false);
    db.close();
  });

  it('flushes by itself once writes have paused', async () => {
    const opened = recordTransactions(); // before the connection opens: Dexie binds its transaction method then
    const db = new SwitchboardDb(`checkpoint-${Math.random()}`);
    await db.open();
    await db.settings.put({ key: 'a', value: 1 });
    await vi.waitFor(() => expect(opened.some((t) => t.durability === 'strict')).toBe(true), { timeout: CHECKPOINT_QUIET_MS * 3 });
    db.close();
  });

  it('cancels a waiting checkpoint when it closes', async () => {
    const db = new SwitchboardDb(`checkpoint-${Math.random()}`);
    await db.settings.put({ key: 'a', value: 1 });
    expect(db.checkpoint.pending).toBe(true);
    db.close();
    expect(db.checkpoint.pending).toBe(false);
  });
});
