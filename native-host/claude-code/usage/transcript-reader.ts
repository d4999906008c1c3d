/**
 * Reads Claude Code transcripts incrementally (issue 5, "Usage monitor: read transcripts
 * incrementally (dedupe by message id + request id)").
 *
 * Per file it remembers the byte just after the last complete line. A last line without its newline
 * is still being written: it is left for the next read. A file smaller than that offset, or another
 * file at the same path (another inode), is read again from the start. Lines that are not JSON, of a
 * type Claude Code did not write when this was made, or unreadable, are counted and skipped — one bad
 * line never stops the monitor.
 *
 * Reading and remembering are two steps: `read` returns a batch; the caller stores the batch's usage
 * and then calls `batch.commit()`, which saves the offsets through the injected CursorStore. A crash
 * in between reads the same lines again rather than losing them; store records by `key` (keeping
 * mergeUsageRecord's choice) and a second reading changes nothing. Call `read` again only after the
 * previous batch was committed or dropped.
 */
import { open, readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { CursorState, CursorStore, FileCursor } from './cursor-store';
import { parseTranscriptLine, recordTokens, type RateLimitEvent, type UsageRecord } from './transcript-line';

export type { RateLimitEvent, UsageRecord } from './transcript-line';

export interface TranscriptReaderOptions {
  store: CursorStore;
  /** Bytes read per system call. Default 1 MiB. */
  chunkBytes?: number;
  /**
   * A line longer than this is skipped (counted as oversized) rather than held in memory. Default
   * 64 MiB: tool results with images or long files make lines of several MB; none carry usage at that size.
   */
  maxLineBytes?: number;
  /**
   * How long a dedupe key is remembered after its line's time, in ms. Default 24 h. The lines of one
   * response come within seconds of each other; a resumed session copying older lines into a new
   * file can bring back an older key, which the key-based store absorbs.
   */
  dedupeWindowMs?: number;
}

export interface ReadStats {
  /** complete lines read */
  lines: number;
  /** usage records of messages not seen before */
  usage: number;
  /** lines of a message already counted that report more tokens: their record is returned again, to replace the earlier one */
  superseding: number;
  /** lines repeating a message (or a rate-limit line) already counted */
  duplicates: number;
  rateLimits: number;
  /** synthetic error lines other than rate limits */
  apiErrors: number;
  /** lines of a known type without usage */
  other: number;
  /** lines of a type not in KNOWN_TYPES, by type */
  unknown: Record<string, number>;
  /** lines that are not a JSON object */
  malformed: number;
  /** assistant lines whose usage, time or message could not be read */
  invalid: number;
  /** lines longer than maxLineBytes, skipped */
  oversized: number;
  /** the first few problems, `<file>:<offset>: <problem>`, for a log */
  problems: string[];
}

export interface TranscriptBatch {
  records: UsageRecord[];
  rateLimits: RateLimitEvent[];
  stats: ReadStats;
  /** files read from the start again: they shrank or were replaced */
  restarted: string[];
  /** files that no longer exist (their offsets are forgotten on commit) */
  missing: string[];
  /** Remembers how far this batch read, in memory and in the store. */
  commit(): Promise<void>;
}

const MIB = 1024 * 1024;
const RECENT_KEYS_PER_FILE = 64;
const MAX_PROBLEMS = 20;
const NEWLINE = 0x0a;

interface Seen {
  tokens: number;
  at: number;
}

export class TranscriptReader {
  private readonly chunkBytes: number;
  private readonly maxLineBytes: number;
  private readonly dedupeWindowMs: number;
  /** dedupe key → the most tokens seen for it; rate-limit keys too (tokens 0) */
  private readonly seen = new Map<string, Seen>();

  private constructor(
    private readonly store: CursorStore,
    private cursors: Record<string, FileCursor>,
    options: TranscriptReaderOptions,
  ) {
    this.chunkBytes = options.chunkBytes ?? MIB;
    this.maxLineBytes = options.maxLineBytes ?? 64 * MIB;
    this.dedupeWindowMs = options.dedupeWindowMs ?? 24 * 3_600_000;
    for (const cursor of Object.values(cursors)) {
      for (const [key, tokens, at] of cursor.recent) remember(this.seen, key, { tokens, at });
    }
  }

  /** Loads the saved offsets. Throws when the store holds something that is not a cursor state. */
  static async open(options: TranscriptReaderOptions): Promise<TranscriptReader> {
    const state = await options.store.load();
    return new TranscriptReader(options.store, state?.files ?? {}, options);
  }

  /** The saved offset of `file`, if it was read. */
  offsetOf(file: string): number | undefined {
    return this.cursors[file]?.offset;
  }

  /** Reads what was appended to each file since the last committed batch. */
  async read(files: readonly string[]): Promise<TranscriptBatch> {
    const stats = emptyStats();
    const records = new Map<string, UsageRecord>();
    const rateLimits = new Map<string, RateLimitEvent>();
    const seenNow = new Map<string, Seen>();
    const cursors: Record<string, FileCursor> = {};
    const restarted: string[] = [];
    const missing: string[] = [];
    const problem = (text: string) => {
      if (stats.problems.length < MAX_PROBLEMS) stats.problems.push(text);
    };
    const seenBefore = (key: string) => seenNow.get(key) ?? this.seen.get(key);

    for (const file of new Set(files)) {
      const sessionId = basename(file, '.jsonl');
      const recent: FileCursor['recent'] = [...(this.cursors[file]?.recent ?? [])];
      const note = (key: string, entry: Seen) => {
        remember(seenNow, key, entry);
        recent.push([key, entry.tokens, entry.at]);
      };
      const result = await this.readLines(file, this.cursors[file], (text, offset) => {
        if (text.trim() === '') return;
        stats.lines++;
        const position = `${file}:${offset}`;
        const line = parseTranscriptLine(text, sessionId, position);
        switch (line.kind) {
          case 'usage': {
            const { record } = line;
            const before = seenBefore(record.key);
            const tokens = recordTokens(record);
            if (before && before.tokens >= tokens) {
              stats.duplicates++;
              return;
            }
            // The first line of this message, or a later one reporting more (still streaming when the first was written).
            if (before) stats.superseding++;
            else stats.usage++;
            records.set(record.key, record);
            note(record.key, { tokens, at: record.timestamp });
            return;
          }
          case 'rate-limit': {
            const key = `rate-limit:${line.event.key}`;
            if (seenBefore(key)) {
              stats.duplicates++;
              return;
            }
            stats.rateLimits++;
            rateLimits.set(line.event.key, line.event);
            note(key, { tokens: 0, at: line.event.at });
            return;
          }
          case 'api-error':
            stats.apiErrors++;
            return;
          case 'other':
            stats.other++;
            return;
          case 'unknown':
            stats.unknown[line.type] = (stats.unknown[line.type] ?? 0) + 1;
            return;
          case 'malformed':
            stats.malformed++;
            problem(`${position}: not a JSON object (${line.problem})`);
            return;
          case 'invalid':
            stats.invalid++;
            problem(`${position}: ${line.problem}`);
            return;
        }
      });
      if (result === 'missing') {
        missing.push(file);
        continue;
      }
      if (result.restarted) restarted.push(file);
      stats.oversized += result.oversized;
      for (let i = 0; i < result.oversized; i++) problem(`${file}: a line longer than ${this.maxLineBytes} bytes was skipped`);
      cursors[file] = { offset: result.offset, ino: result.ino, skipping: result.skipping, recent: recent.slice(-RECENT_KEYS_PER_FILE) };
    }

    return {
      records: [...records.values()],
      rateLimits: [...rateLimits.values()],
      stats,
      restarted,
      missing,
      commit: async () => {
        const next = { ...this.cursors, ...cursors };
        for (const file of missing) delete next[file];
        const state: CursorState = { version: 1, files: next };
        await this.store.save(state);
        this.cursors = next;
        for (const [key, entry] of seenNow) remember(this.seen, key, entry);
        this.forgetOldKeys();
      },
    };
  }

  /**
   * Calls `onLine` with each complete line after the cursor, and says where the next read starts.
   * Only the bytes present when the read began are read: what is appended meanwhile waits for the next read.
   */
  private async readLines(
    file: string,
    cursor: FileCursor | undefined,
    onLine: (text: string, offset: number) => void,
  ): Promise<'missing' | { offset: number; ino: number; skipping: boolean; restarted: boolean; oversized: number }> {
    let handle;
    try {
      handle = await open(file, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
      throw error;
    }
    try {
      const info = await handle.stat();
      const ino = Number(info.ino);
      let start = cursor?.offset ?? 0;
      let skipping = cursor?.skipping ?? false;
      // A rotated or rewritten transcript: smaller than what was read, or another file under the same name.
      const restarted = cursor !== undefined && (info.size < cursor.offset || (cursor.ino !== 0 && ino !== 0 && ino !== cursor.ino));
      if (restarted) {
        start = 0;
        skipping = false;
      }
      const end = info.size;
      let oversized = 0;
      let position = start;
      /** where the line being assembled starts */
      let lineStart = start;
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      const buffer = Buffer.allocUnsafe(Math.max(1, Math.min(this.chunkBytes, end - start)));
      while (position < end) {
        const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, end - position), position);
        if (bytesRead === 0) break; // truncated while being read: the next read sees the smaller size
        const chunk = buffer.subarray(0, bytesRead);
        let from = 0;
        while (from < bytesRead) {
          const newline = chunk.indexOf(NEWLINE, from);
          if (newline === -1) {
            if (!skipping) {
              // Copied: the buffer is reused for the next chunk.
              pending.push(Buffer.from(chunk.subarray(from)));
              pendingBytes += bytesRead - from;
              if (pendingBytes > this.maxLineBytes) {
                pending = [];
                pendingBytes = 0;
                skipping = true;
              }
            }
            break;
          }
          if (skipping) {
            skipping = false;
            oversized++;
          } else if (pendingBytes + newline - from > this.maxLineBytes) {
            oversized++;
          } else {
            const piece = chunk.subarray(from, newline);
            const line = pending.length === 0 ? piece : Buffer.concat([...pending, piece]);
            // UTF-8 is cut only at newlines, which never occur inside a multi-byte character.
            onLine(line.toString('utf8'), lineStart);
          }
          pending = [];
          pendingBytes = 0;
          lineStart = position + newline + 1;
          from = newline + 1;
        }
        position += bytesRead;
      }
      // While skipping an overlong line, what was read of it is gone for good; otherwise the partial last line is read again next time.
      return { offset: skipping ? position : lineStart, ino, skipping, restarted, oversized };
    } finally {
      await handle.close();
    }
  }

  private forgetOldKeys(): void {
    let newest = 0;
    for (const entry of this.seen.values()) newest = Math.max(newest, entry.at);
    const cutoff = newest - this.dedupeWindowMs;
    for (const [key, entry] of this.seen) if (entry.at < cutoff) this.seen.delete(key);
  }
}

/**
 * Every transcript under Claude Code's projects folder (`~/.claude/projects`, or
 * `$CLAUDE_CONFIG_DIR/projects`): the sessions' `<cwd-slug>/<session>.jsonl` and the subagents'
 * transcripts in folders below them. None when the folder does not exist yet.
 */
export async function listTranscripts(projectsDir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(projectsDir, { recursive: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return names
    .filter((name) => name.endsWith('.jsonl'))
    .map((name) => join(projectsDir, name))
    .sort();
}

function remember(seen: Map<string, Seen>, key: string, entry: Seen): void {
  const before = seen.get(key);
  if (!before || entry.tokens > before.tokens) seen.set(key, entry);
}

function emptyStats(): ReadStats {
  return { lines: 0, usage: 0, superseding: 0, duplicates: 0, rateLimits: 0, apiErrors: 0, other: 0, unknown: {}, malformed: 0, invalid: 0, oversized: 0, problems: [] };
}
