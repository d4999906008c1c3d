import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { mkdtemp, open, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Journal, crc32, type JournalOptions } from '../../native-host/journal';

type Item = { n: number; text?: string };

let dir: string;
let warnings: string[];
const opened: Journal<unknown>[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchboard-journal-'));
  warnings = [];
});
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(opened.splice(0).map((journal) => journal.close().catch(() => {})));
  await rm(dir, { recursive: true, force: true });
});

async function openJournal<T = Item>(options: Partial<JournalOptions> = {}): Promise<Journal<T>> {
  const journal = await Journal.open<T>({ dir, name: 'test', onWarning: (text) => warnings.push(text), ...options });
  opened.push(journal as Journal<unknown>);
  return journal;
}

const file = () => join(dir, 'test.journal');

/** Entry sizes in the file, read by their length fields. */
async function entryOffsets(): Promise<number[]> {
  const bytes = await readFile(file());
  const offsets: number[] = [];
  for (let offset = 0; offset < bytes.length; offset += 9 + bytes.readUInt32LE(offset)) offsets.push(offset);
  return offsets;
}

describe('crc32', () => {
  it('matches the standard check value', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32(Buffer.alloc(0))).toBe(0);
  });
});

describe('Journal', () => {
  it('replays records in append order after a reopen', async () => {
    const journal = await openJournal();
    const first = await journal.append({ n: 1 });
    const many = await journal.appendMany([{ n: 2 }, { n: 3, text: 'ünïcödé 🎉 "quoted"' }]);
    const last = await journal.append({ n: 4 });
    expect([first, ...many, last]).toEqual([1, 2, 3, 4]);
    await journal.close();

    const again = await openJournal();
    expect(again.entries()).toEqual([
      { seq: 1, record: { n: 1 } },
      { seq: 2, record: { n: 2 } },
      { seq: 3, record: { n: 3, text: 'ünïcödé 🎉 "quoted"' } },
      { seq: 4, record: { n: 4 } },
    ]);
    expect(again.size).toMatchObject({ records: 4, bytes: (await stat(file())).size });
    expect(again.size.liveBytes).toBe(again.size.bytes);
    expect(warnings).toEqual([]);
  });

  it('shares one write and fsync among appends issued together', async () => {
    const journal = await openJournal();
    const before = journal.fsyncs;
    const seqs = await Promise.all(Array.from({ length: 100 }, (_, n) => journal.append({ n })));
    expect(seqs).toEqual(Array.from({ length: 100 }, (_, n) => n + 1));
    expect(journal.fsyncs - before).toBe(1);

    // Appends made while a batch is on its way form the next batch, not one fsync each.
    const waves = await Promise.all(
      Array.from({ length: 50 }, async (_, n) => {
        await new Promise((resolve) => setImmediate(resolve));
        return journal.append({ n: 1000 + n });
      }),
    );
    expect(new Set(waves).size).toBe(50);
    expect(journal.fsyncs - before).toBeLessThanOrEqual(3);
    expect(journal.entries()).toHaveLength(150);
  });

  it('waits groupCommitMs for more appends before writing', async () => {
    const journal = await openJournal({ groupCommitMs: 20 });
    const first = journal.append({ n: 1 });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = journal.append({ n: 2 });
    await Promise.all([first, second]);
    expect(journal.fsyncs).toBe(1);
  });

  it('records nothing in memory until it is on disk', async () => {
    const journal = await openJournal();
    const pending = journal.append({ n: 1 });
    expect(journal.entries()).toEqual([]);
    await pending;
    expect(journal.entries()).toEqual([{ seq: 1, record: { n: 1 } }]);
  });

  it('refuses a record JSON cannot carry, and keeps serving', async () => {
    const journal = await openJournal<unknown>();
    await expect(journal.append(undefined)).rejects.toThrow('a journal record must be a JSON value, not undefined');
    expect(await journal.append({ n: 1 })).toBe(1);
  });

  it('forgets removed records, for good', async () => {
    const journal = await openJournal();
    await journal.appendMany([1, 2, 3, 4, 5].map((n) => ({ n })));
    await journal.remove([2, 4]);
    const syncs = journal.fsyncs;
    await journal.remove([99, 2]); // unknown or already removed: nothing to write
    expect(journal.fsyncs).toBe(syncs);
    expect(journal.entries().map((entry) => entry.seq)).toEqual([1, 3, 5]);
    await journal.close();
    const again = await openJournal();
    expect(again.entries().map((entry) => entry.seq)).toEqual([1, 3, 5]);
    expect(await again.append({ n: 6 })).toBe(6);
  });

  it('removes a record whose append is still on its way', async () => {
    const journal = await openJournal();
    const appended = journal.append({ n: 1 });
    const seq = 1;
    await Promise.all([appended, journal.remove([seq])]);
    expect(journal.entries()).toEqual([]);
  });

  describe('a torn last record (a crash during a write)', () => {
    async function tornAfter(damage: (bytes: Buffer) => Buffer): Promise<{ goodLength: number }> {
      const journal = await openJournal();
      await journal.appendMany([{ n: 1 }, { n: 2 }]);
      const goodLength = journal.size.bytes;
      await journal.append({ n: 3, text: 'the record a crash tears' });
      await journal.close();
      await writeFile(file(), damage(await readFile(file())));
      return { goodLength };
    }

    async function expectRecovered(goodLength: number): Promise<void> {
      const journal = await openJournal();
      expect(journal.entries().map((entry) => entry.record)).toEqual([{ n: 1 }, { n: 2 }]);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(new RegExp(`^journal test: skipped a torn record of \\d+ bytes at offset ${goodLength} \\(a crash during a write\\)$`));
      expect((await stat(file())).size).toBe(goodLength);
      // It goes on from there, and the next open finds nothing wrong.
      expect(await journal.append({ n: 4 })).toBe(3);
      await journal.close();
      warnings = [];
      const again = await openJournal();
      expect(again.entries().map((entry) => entry.record)).toEqual([{ n: 1 }, { n: 2 }, { n: 4 }]);
      expect(warnings).toEqual([]);
    }

    it('a short header', async () => {
      const { goodLength } = await tornAfter((bytes) => bytes.subarray(0, goodLength0(bytes) + 5));
      await expectRecovered(goodLength);
    });

    it('a short payload', async () => {
      const { goodLength } = await tornAfter((bytes) => bytes.subarray(0, bytes.length - 7));
      await expectRecovered(goodLength);
    });

    it('a checksum mismatch', async () => {
      const { goodLength } = await tornAfter((bytes) => {
        const copy = Buffer.from(bytes);
        copy[copy.length - 3] ^= 0x01;
        return copy;
      });
      await expectRecovered(goodLength);
    });

    it('zeros where the last write should be', async () => {
      const { goodLength } = await tornAfter((bytes) => Buffer.concat([bytes.subarray(0, goodLength0(bytes)), Buffer.alloc(bytes.length - goodLength0(bytes))]));
      await expectRecovered(goodLength);
    });

    /** the offset of the last entry, where the tear goes */
    function goodLength0(bytes: Buffer): number {
      let offset = 0;
      let last = 0;
      while (offset < bytes.length) {
        last = offset;
        offset += 9 + bytes.readUInt32LE(offset);
      }
      return last;
    }
  });

  it('skips a damaged record in the middle and keeps the ones after it', async () => {
    const journal = await openJournal();
    await journal.appendMany([1, 2, 3, 4, 5].map((n) => ({ n, text: 'some text' })));
    await journal.close();
    const offsets = await entryOffsets();
    const bytes = await readFile(file());
    bytes[offsets[1]! + 12] ^= 0x40; // a payload byte of record 2
    bytes.writeUInt32LE(0x7fff_ffff, offsets[3]!); // the length of record 4
    await writeFile(file(), bytes);

    const again = await openJournal();
    expect(again.entries().map((entry) => entry.seq)).toEqual([1, 3, 5]);
    expect(warnings).toEqual([
      `journal test: skipped ${offsets[2]! - offsets[1]!} damaged bytes at offset ${offsets[1]} (a bad checksum or length); the records after them are kept`,
      `journal test: skipped ${offsets[4]! - offsets[3]!} damaged bytes at offset ${offsets[3]} (a bad checksum or length); the records after them are kept`,
    ]);
    expect(await again.append({ n: 6 })).toBe(6);
  });

  it('rejects the callers of a failed write, refuses more, and leaves the file as it was', async () => {
    const journal = await openJournal();
    await journal.appendMany([{ n: 1 }, { n: 2 }]);
    const goodLength = journal.size.bytes;
    vi.spyOn(fs, 'fdatasyncSync').mockImplementationOnce(() => {
      throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
    });

    const results = await Promise.allSettled([journal.append({ n: 3 }), journal.append({ n: 4 })]);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    expect((results[0] as PromiseRejectedResult).reason.message).toBe('EIO: i/o error, fsync');
    expect(journal.writable).toBe(false);
    await expect(journal.append({ n: 5 })).rejects.toThrow('journal test is not writable after a failed write: EIO: i/o error, fsync');
    expect(journal.entries().map((entry) => entry.seq)).toEqual([1, 2]);
    expect((await stat(file())).size).toBe(goodLength);

    await journal.close();
    const again = await openJournal();
    expect(again.entries().map((entry) => entry.record)).toEqual([{ n: 1 }, { n: 2 }]);
    expect(again.writable).toBe(true);
    expect(warnings).toEqual([]);
  });

  it('rejects appends when the disk is full', async () => {
    await symlink('/dev/full', file());
    const journal = await openJournal();
    await expect(journal.append({ n: 1 })).rejects.toThrow(/ENOSPC/);
    expect(journal.writable).toBe(false);
  });

  it('compacts without losing appends made meanwhile', async () => {
    const journal = await openJournal();
    const seqs = await journal.appendMany(Array.from({ length: 200 }, (_, n) => ({ n, text: 'x'.repeat(500) })));
    await journal.remove(seqs.slice(0, 190));
    const before = journal.size.bytes;
    const before_ = Array.from({ length: 30 }, (_, n) => journal.append({ n: 1000 + n }));
    const compacted = journal.compact();
    // Spread over the compaction's own writes, fsync and rename.
    const during: Promise<number>[] = [];
    for (let n = 0; n < 30; n++) {
      await new Promise((resolve) => setImmediate(resolve));
      during.push(journal.append({ n: 2000 + n }));
    }
    await Promise.all([compacted, ...before_, ...during]);

    expect(journal.size.bytes).toBeLessThan(before / 4);
    const expected = [...seqs.slice(190), ...Array.from({ length: 60 }, (_, n) => 201 + n)];
    expect(journal.entries().map((entry) => entry.seq)).toEqual(expected);
    expect(journal.size.bytes).toBe((await stat(file())).size);
    await journal.close();

    const again = await openJournal();
    expect(again.entries().map((entry) => entry.seq)).toEqual(expected);
    expect(again.entries().at(-1)!.record).toEqual({ n: 2029 });
    expect(warnings).toEqual([]);
  });

  it('compacts by itself once removed records pass the threshold', async () => {
    const journal = await openJournal({ compactAfterBytes: 10_000 });
    const seqs = await journal.appendMany(Array.from({ length: 100 }, (_, n) => ({ n, text: 'y'.repeat(300) })));
    const full = journal.size.bytes;
    await journal.remove(seqs.slice(0, 95));
    // The writer compacts once it has nothing else to do, after the removal's callers were answered.
    await vi.waitFor(() => expect(journal.size.bytes).toBeLessThan(full / 5));
    await journal.append({ n: 100 });
    expect((await stat(file())).size).toBe(journal.size.bytes);
    expect(journal.entries().map((entry) => entry.seq)).toEqual([...seqs.slice(95), 101]);
  });

  it('never reuses a seq, even after compaction removed everything and a reopen', async () => {
    const journal = await openJournal();
    await journal.appendMany([{ n: 1 }, { n: 2 }, { n: 3 }]);
    await journal.remove([1, 2, 3]);
    await journal.compact();
    expect(journal.entries()).toEqual([]);
    await journal.close();
    const again = await openJournal();
    expect(again.entries()).toEqual([]);
    expect(await again.append({ n: 4 })).toBe(4);
  });

  it('closes after writing what is pending, and refuses calls after that', async () => {
    const journal = await openJournal({ groupCommitMs: 10_000 });
    const pending = journal.append({ n: 1 });
    await journal.close();
    expect(await pending).toBe(1);
    await expect(journal.append({ n: 2 })).rejects.toThrow('journal test is closed');
    expect(journal.writable).toBe(false);
    const again = await openJournal();
    expect(again.entries()).toEqual([{ seq: 1, record: { n: 1 } }]);
  });

  it('refuses a name that is not a plain file name', async () => {
    await expect(Journal.open({ dir, name: '../escape' })).rejects.toThrow('journal name "../escape" must be letters, digits');
  });

  it('loses nothing it acknowledged when the writing process is killed', { timeout: 60_000 }, async () => {
    const viteNode = resolve('node_modules/vite-node/dist/cli.mjs');
    const fixture = resolve('test/native-host/fixtures/journal-writer.ts');
    const acknowledged: number[] = [];

    for (let round = 0; round < 2; round++) {
      const child = spawn(process.execPath, [viteNode, fixture, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
      const target = acknowledged.length + 400 + Math.floor(Math.random() * 200);
      let buffered = '';
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          buffered += chunk.toString();
          const lines = buffered.split('\n');
          buffered = lines.pop()!;
          for (const line of lines) if (line !== 'ready') acknowledged.push(Number(line));
          if (acknowledged.length >= target) {
            child.kill('SIGKILL');
            resolve();
          }
        });
        child.once('exit', () => reject(new Error(`the writer exited early: ${stderr}`)));
      });
      expect(await exited).toBe('SIGKILL');
      expect(stderr.includes('Error')).toBe(false);
    }

    const journal = await openJournal<{ writer: number; n: number; pad: string }>({ name: 'crash' });
    const seqs = journal.entries().map((entry) => entry.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    const present = new Set(seqs);
    expect(acknowledged.filter((seq) => !present.has(seq))).toEqual([]);
    for (const { record } of journal.entries()) expect(record.pad).toHaveLength((record.n * 37 + record.writer * 101) % 3000);
    expect(warnings.every((text) => text.includes('a torn record'))).toBe(true);
  });
});
