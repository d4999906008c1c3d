/**
 * The durable journal: every message the daemon accepts is on disk here before the daemon answers
 * (issue 4: "Journal, always in the path"), and stays until the hub has committed it.
 *
 * One append-only file, `<dir>/<name>.journal`, of entries:
 *   [u32 LE payload length][u32 LE CRC-32 of the payload][u8 type] payload
 * type 1 = a record, payload `{"seq":n,"record":…}`; type 2 = a removal, payload `{"seqs":[…]}`.
 *
 * Appends and removals issued together share one write and one fsync (group commit): a write costs
 * the same for one entry or a hundred, and fsync is what makes a disk slow. A caller's promise
 * resolves only after the fsync that covers its entry.
 *
 * Reading back, a bad entry (short header, short payload, checksum mismatch) is handled by scanning
 * forward for the next entry whose checksum holds. When there is none, the bad bytes are the torn
 * tail of a write a crash interrupted: they are reported and truncated away. When there is one, the
 * damage is in the middle: it is reported and skipped, and the records after it are kept.
 */
import fs from 'node:fs';
import { constants, type FileHandle, mkdir, open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';

export interface JournalOptions {
  dir: string;
  name: string;
  /** extra wait for more appends before one write+fsync; default 0 (the next turn of the event loop) */
  groupCommitMs?: number;
  /** compact when removed bytes exceed this and half the file; default 4 MiB */
  compactAfterBytes?: number;
  onWarning?: (text: string) => void;
}

export interface JournalEntry<T> {
  seq: number;
  record: T;
}

const HEADER_BYTES = 9;
const TYPE_RECORD = 1;
const TYPE_REMOVAL = 2;
/** The shortest payload a valid entry can have (`{"seqs":[]}`): shorter lengths are skipped at once while scanning. */
const MIN_PAYLOAD_BYTES = 11;
const DEFAULT_COMPACT_AFTER_BYTES = 4 * 1024 * 1024;
/** The file holds message contents: only the user may read it. */
const FILE_MODE = 0o600;

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE, as zip and zlib compute it); zlib.crc32 arrived only in Node 22. */
export function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = CRC_TABLE[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function encodeEntry(type: number, payload: string): Buffer {
  // Encoded in place after its header: a record may carry megabytes of attachments.
  const length = Buffer.byteLength(payload, 'utf8');
  const entry = Buffer.allocUnsafe(HEADER_BYTES + length);
  entry.write(payload, HEADER_BYTES, 'utf8');
  entry.writeUInt32LE(length, 0);
  entry.writeUInt32LE(crc32(entry.subarray(HEADER_BYTES)), 4);
  entry.writeUInt8(type, 8);
  return entry;
}

function encodeRecord(seq: number, record: unknown): Buffer {
  // A record JSON cannot carry would come back as something else after a restart: refuse it now.
  if (record === undefined || typeof record === 'function' || typeof record === 'symbol') throw new TypeError(`a journal record must be a JSON value, not ${typeof record}`);
  return encodeEntry(TYPE_RECORD, JSON.stringify({ seq, record }));
}

const encodeRemoval = (seqs: number[]) => encodeEntry(TYPE_REMOVAL, JSON.stringify({ seqs }));

type Decoded = { type: 'record'; seq: number; record: unknown } | { type: 'removal'; seqs: number[] };

/** The entry at `offset` if it is whole and its checksum holds; `undefined` otherwise. */
function entryAt(file: Buffer, offset: number): { length: number; type: number; payload: Buffer } | undefined {
  if (file.length - offset < HEADER_BYTES) return undefined;
  const length = file.readUInt32LE(offset);
  const type = file.readUInt8(offset + 8);
  if ((type !== TYPE_RECORD && type !== TYPE_REMOVAL) || length < MIN_PAYLOAD_BYTES) return undefined;
  if (length > file.length - offset - HEADER_BYTES) return undefined;
  const payload = file.subarray(offset + HEADER_BYTES, offset + HEADER_BYTES + length);
  if (crc32(payload) !== file.readUInt32LE(offset + 4)) return undefined;
  return { length: HEADER_BYTES + length, type, payload };
}

function decode(type: number, payload: Buffer): Decoded {
  const value = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
  if (type === TYPE_RECORD) {
    if (!Number.isSafeInteger(value.seq) || !('record' in value)) throw new Error('a record without seq or record');
    return { type: 'record', seq: value.seq as number, record: value.record };
  }
  if (!Array.isArray(value.seqs) || !value.seqs.every(Number.isSafeInteger)) throw new Error('a removal without seqs');
  return { type: 'removal', seqs: value.seqs as number[] };
}

/** Entries waiting for the next group commit, with the caller to answer once they are on disk. */
interface PendingWrite {
  entries: Buffer[];
  /** what the entries do to the live records once durable */
  apply: () => void;
  resolve: () => void;
  reject: (error: Error) => void;
}

interface LiveRecord<T> {
  record: T;
  /** its entry's size in the file, to know how much of the file is dead */
  bytes: number;
}

export class Journal<T> {
  readonly path: string;
  readonly #options: JournalOptions;
  readonly #warn: (text: string) => void;
  #handle: FileHandle;
  /** the length of the file up to its last good entry: where the next write goes */
  #fileBytes = 0;
  #liveBytes = 0;
  /** live records by seq; a Map keeps insertion order, which is seq order */
  #live = new Map<number, LiveRecord<T>>();
  #nextSeq = 1;
  /** seqs handed out whose entries are not yet on disk */
  #unwritten = new Set<number>();
  #queue: PendingWrite[] = [];
  #compactWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  #timer: ReturnType<typeof setTimeout> | ReturnType<typeof setImmediate> | undefined;
  #running: Promise<void> | undefined;
  #failure: Error | undefined;
  #closed = false;
  #fsyncs = 0;

  private constructor(options: JournalOptions, path: string, handle: FileHandle) {
    this.#options = options;
    this.path = path;
    this.#handle = handle;
    this.#warn = options.onWarning ?? ((text) => console.warn(text));
  }

  /** Opens (or creates) the journal and replays it: the live records are in memory when it resolves. */
  static async open<T>(options: JournalOptions): Promise<Journal<T>> {
    if (!/^[A-Za-z0-9._-]+$/.test(options.name)) throw new Error(`journal name "${options.name}" must be letters, digits, '.', '_' or '-'`);
    await mkdir(options.dir, { recursive: true, mode: 0o700 });
    const path = join(options.dir, `${options.name}.journal`);
    // A leftover from a compaction that crashed before its rename: the journal itself is intact.
    await unlink(`${path}.tmp`).catch(() => {});
    const handle = await open(path, constants.O_RDWR | constants.O_CREAT, FILE_MODE);
    const journal = new Journal<T>(options, path, handle);
    try {
      await journal.#replay();
      await syncDir(options.dir);
    } catch (error) {
      await handle.close();
      throw error;
    }
    return journal;
  }

  /** Adds a record; resolves with its seq once it is on disk. */
  async append(record: T): Promise<number> {
    const [seq] = await this.appendMany([record]);
    return seq!;
  }

  /** Adds records with consecutive seqs in one write; resolves once all are on disk. */
  appendMany(records: T[]): Promise<number[]> {
    const unusable = this.#unusable();
    if (unusable) return Promise.reject(unusable);
    if (records.length === 0) return Promise.resolve([]);
    let entries: Buffer[];
    const seqs = records.map((_, index) => this.#nextSeq + index);
    try {
      entries = records.map((record, index) => encodeRecord(seqs[index]!, record));
    } catch (error) {
      return Promise.reject(error);
    }
    this.#nextSeq += records.length;
    for (const seq of seqs) this.#unwritten.add(seq);
    const written = () => {
      for (const seq of seqs) this.#unwritten.delete(seq);
    };
    return new Promise((resolve, reject) => {
      this.#enqueue({
        entries,
        apply: () =>
          records.forEach((record, index) => {
            this.#live.set(seqs[index]!, { record, bytes: entries[index]!.length });
            this.#liveBytes += entries[index]!.length;
          }),
        resolve: () => {
          written();
          resolve(seqs);
        },
        reject: (error) => {
          written();
          reject(error);
        },
      });
    });
  }

  /** Drops records for good; resolves once the removal is on disk. Unknown seqs are ignored. */
  remove(seqs: number[]): Promise<void> {
    const unusable = this.#unusable();
    if (unusable) return Promise.reject(unusable);
    const known = [...new Set(seqs)].filter((seq) => this.#live.has(seq) || this.#unwritten.has(seq));
    if (known.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#enqueue({
        entries: [encodeRemoval(known)],
        apply: () => {
          for (const seq of known) this.#drop(seq);
        },
        resolve,
        reject,
      });
    });
  }

  /** The live records in seq order. The records are the journal's own: do not change them. */
  entries(): JournalEntry<T>[] {
    return [...this.#live].map(([seq, { record }]) => ({ seq, record }));
  }

  /** Live records; the file's bytes; the bytes of the live records (what a compaction would keep). */
  get size(): { records: number; bytes: number; liveBytes: number } {
    return { records: this.#live.size, bytes: this.#fileBytes, liveBytes: this.#liveBytes };
  }

  /** False once a write or fsync failed: the journal refuses appends until it is opened again. */
  get writable(): boolean {
    return !this.#failure && !this.#closed;
  }

  /** How many fsyncs the journal has made since it was opened (group commit keeps this low). */
  get fsyncs(): number {
    return this.#fsyncs;
  }

  /** Rewrites the file with only the live records. Appends made meanwhile wait and go to the new file. */
  compact(): Promise<void> {
    const unusable = this.#unusable();
    if (unusable) return Promise.reject(unusable);
    return new Promise((resolve, reject) => {
      this.#compactWaiters.push({ resolve, reject });
      this.#schedule(true);
    });
  }

  /** Writes what is pending, then closes the file; later calls are refused. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) this.#flushNow();
    await this.#running?.catch(() => {});
    await this.#handle.close();
  }

  #unusable(): Error | undefined {
    if (this.#closed) return new Error(`journal ${this.#options.name} is closed`);
    if (this.#failure) return new Error(`journal ${this.#options.name} is not writable after a failed write: ${this.#failure.message}`, { cause: this.#failure });
    return undefined;
  }

  #drop(seq: number): void {
    const live = this.#live.get(seq);
    if (!live) return;
    this.#live.delete(seq);
    this.#liveBytes -= live.bytes;
  }

  #enqueue(write: PendingWrite): void {
    this.#queue.push(write);
    this.#schedule(false);
  }

  #schedule(now: boolean): void {
    if (this.#running) return; // the running loop picks up what was queued
    if (this.#timer !== undefined) {
      if (now) this.#flushNow();
      return;
    }
    const wait = this.#options.groupCommitMs ?? 0;
    // setImmediate rather than nextTick: appends issued from promise callbacks of this turn join too.
    this.#timer = wait > 0 && !now ? setTimeout(() => this.#flushNow(), wait) : setImmediate(() => this.#flushNow());
  }

  #flushNow(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer as ReturnType<typeof setTimeout>);
      clearImmediate(this.#timer as ReturnType<typeof setImmediate>);
      this.#timer = undefined;
    }
    if (this.#running) return;
    this.#running = this.#run().finally(() => {
      this.#running = undefined;
      // Work queued after the loop's last look (its final await) starts a new loop.
      if (this.#queue.length || this.#compactWaiters.length) this.#schedule(false);
    });
  }

  /** One writer at a time: batches and compactions run one after another, never interleaved. */
  async #run(): Promise<void> {
    for (;;) {
      if (this.#queue.length) {
        await this.#commit(this.#queue.splice(0));
      } else if (this.#compactWaiters.length) {
        const waiters = this.#compactWaiters.splice(0);
        try {
          await this.#compactNow();
          for (const waiter of waiters) waiter.resolve();
        } catch (error) {
          for (const waiter of waiters) waiter.reject(error as Error);
        }
      } else if (this.#dueForCompaction()) {
        await this.#compactNow().catch((error: Error) => this.#warn(`journal ${this.#options.name}: compaction failed, the journal is unchanged: ${error.message}`));
      } else {
        return;
      }
    }
  }

  async #commit(batch: PendingWrite[]): Promise<void> {
    // close() waits for what was queued before it, so only a failure refuses a queued batch.
    if (this.#failure) {
      const unusable = this.#unusable()!;
      for (const write of batch) write.reject(unusable);
      return;
    }
    const bytes = Buffer.concat(batch.flatMap((write) => write.entries));
    try {
      // Synchronous on purpose: a batch is small and local (a few KB, 40–50 µs with its fdatasync
      // here), and every caller waiting on it waits for the fsync anyway. The promise API would add
      // two thread-pool round trips and their promises to each batch; the API's ingest rate rose by
      // about half without them (BENCHMARKS.md, "The native host"). The cost: a disk that stalls
      // stalls the daemon's event loop for as long.
      writeAllSync(this.#handle.fd, bytes, this.#fileBytes);
      fs.fdatasyncSync(this.#handle.fd);
      this.#fsyncs++;
    } catch (error) {
      this.#failure = error as Error;
      // Leave the file as it was before this batch, so a reopen finds no half-written entry.
      await this.#handle.truncate(this.#fileBytes).catch(() => {});
      for (const write of batch) write.reject(error as Error);
      return;
    }
    this.#fileBytes += bytes.length;
    for (const write of batch) write.apply();
    for (const write of batch) write.resolve();
  }

  #dueForCompaction(): boolean {
    if (this.#failure) return false;
    const dead = this.#fileBytes - this.#liveBytes;
    return dead > (this.#options.compactAfterBytes ?? DEFAULT_COMPACT_AFTER_BYTES) && dead > this.#fileBytes / 2;
  }

  async #compactNow(): Promise<void> {
    const failure = this.#failure;
    if (failure) throw new Error(`journal ${this.#options.name} is not writable after a failed write: ${failure.message}`);
    const entries: Buffer[] = [];
    let lastSeq = 0;
    for (const [seq, { record }] of this.#live) {
      entries.push(encodeRecord(seq, record));
      lastSeq = seq;
    }
    // Seqs are never reused: when the newest seq is gone, a removal of it keeps the count going.
    if (lastSeq < this.#nextSeq - 1) entries.push(encodeRemoval([this.#nextSeq - 1]));
    const bytes = Buffer.concat(entries);
    const tmpPath = `${this.path}.tmp`;
    const tmp = await open(tmpPath, constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC, FILE_MODE);
    try {
      await writeAll(tmp, bytes, 0);
      await tmp.datasync();
      this.#fsyncs++;
      await rename(tmpPath, this.path);
    } catch (error) {
      await tmp.close().catch(() => {});
      await unlink(tmpPath).catch(() => {});
      throw error;
    }
    // The renamed file is the same inode as `tmp`: keep writing through it.
    const old = this.#handle;
    this.#handle = tmp;
    this.#fileBytes = bytes.length;
    this.#liveBytes = bytes.length - (lastSeq < this.#nextSeq - 1 ? entries.at(-1)!.length : 0);
    await old.close().catch(() => {});
    await syncDir(this.#options.dir).catch((error: Error) =>
      this.#warn(`journal ${this.#options.name}: could not fsync its folder after compaction: ${error.message}`),
    );
  }

  async #replay(): Promise<void> {
    const { size } = await this.#handle.stat();
    const file = Buffer.allocUnsafe(size);
    let read = 0;
    while (read < size) {
      const { bytesRead } = await this.#handle.read(file, read, size - read, read);
      if (bytesRead === 0) break;
      read += bytesRead;
    }
    const name = this.#options.name;
    let maxSeq = 0;
    let offset = 0;
    while (offset < read) {
      const entry = entryAt(file, offset);
      if (!entry) {
        const next = this.#resync(file, offset + 1, read);
        if (next === undefined) {
          this.#warn(`journal ${name}: skipped a torn record of ${read - offset} bytes at offset ${offset} (a crash during a write)`);
          await this.#handle.truncate(offset);
          await this.#handle.datasync();
          read = offset;
          break;
        }
        this.#warn(`journal ${name}: skipped ${next - offset} damaged bytes at offset ${offset} (a bad checksum or length); the records after them are kept`);
        offset = next;
        continue;
      }
      let decoded: Decoded;
      try {
        decoded = decode(entry.type, entry.payload);
      } catch (error) {
        this.#warn(`journal ${name}: skipped an unreadable entry of ${entry.length} bytes at offset ${offset}: ${(error as Error).message}`);
        offset += entry.length;
        continue;
      }
      if (decoded.type === 'record') {
        this.#drop(decoded.seq);
        this.#live.set(decoded.seq, { record: decoded.record as T, bytes: entry.length });
        this.#liveBytes += entry.length;
        maxSeq = Math.max(maxSeq, decoded.seq);
      } else {
        for (const seq of decoded.seqs) {
          this.#drop(seq);
          if (seq > maxSeq) maxSeq = seq;
        }
      }
      offset += entry.length;
    }
    this.#fileBytes = read;
    this.#nextSeq = maxSeq + 1;
  }

  /** The offset of the next whole entry with a good checksum at or after `from`, if any. */
  #resync(file: Buffer, from: number, end: number): number | undefined {
    const view = file.subarray(0, end);
    for (let offset = from; offset + HEADER_BYTES + MIN_PAYLOAD_BYTES <= end; offset++) {
      if (entryAt(view, offset)) return offset;
    }
    return undefined;
  }
}

function writeAllSync(fd: number, bytes: Buffer, position: number): void {
  let written = 0;
  while (written < bytes.length) written += fs.writeSync(fd, bytes, written, bytes.length - written, position + written);
}

async function writeAll(handle: FileHandle, bytes: Buffer, position: number): Promise<void> {
  let written = 0;
  while (written < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, written, bytes.length - written, position + written);
    written += bytesWritten;
  }
}

/** A new or renamed file is durable only once its folder's entry is: fsync the folder too. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
