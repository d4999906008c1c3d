/**
 * Frames too large for one native message, cut into `chunk` frames and put back together.
 * The browser refuses a host → browser message over 1 MB (ARCHITECTURE.md), and issue 4 wants a
 * 3 MB message to cross intact: the host splits, the hub reassembles (and the other way round).
 *
 * Pure TypeScript with no Node or browser API, so the extension's service worker uses it too.
 */
import { Chunk } from './native';
import { parseOrThrow } from './envelope';

/** Chrome's limit for one host → browser message, in bytes of JSON. */
export const MAX_NATIVE_MESSAGE_BYTES = 1_048_576;
/** Chunk frames' own fields; each is bounded by the schema, so this is an upper bound. */
const MAX_CHUNKS = 10_000;

/** UTF-8 bytes of a string, without allocating its encoding (a frame may be many megabytes). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length && isLowSurrogate(text.charCodeAt(i + 1))) {
      bytes += 4;
      i++;
    } else bytes += 3; // a lone surrogate is encoded as U+FFFD, 3 bytes
  }
  return bytes;
}

const isLowSurrogate = (code: number) => code >= 0xdc00 && code <= 0xdfff;
const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;
/** The control characters JSON.stringify writes as a two-character escape (\b \t \n \f \r). */
const SHORT_ESCAPES = new Set([0x08, 0x09, 0x0a, 0x0c, 0x0d]);

const defaultId = () => globalThis.crypto.randomUUID();

/**
 * Returns `[json]` when it fits in `maxBytes`, else the JSON texts of chunk frames carrying it, each
 * at most `maxBytes` long in UTF-8 (escaping included). The default leaves 64 KiB of the browser's
 * limit for whatever wraps a frame.
 */
export function splitFrame(json: string, maxBytes = MAX_NATIVE_MESSAGE_BYTES - 64 * 1024, newId: () => string = defaultId): string[] {
  if (!Number.isInteger(maxBytes) || maxBytes >= MAX_NATIVE_MESSAGE_BYTES) {
    throw new RangeError(`maxBytes must be an integer under ${MAX_NATIVE_MESSAGE_BYTES} (the browser's limit), not ${maxBytes}`);
  }
  // Every character is at most 3 bytes per UTF-16 unit: most frames are settled without counting.
  if (json.length * 3 <= maxBytes || utf8Length(json) <= maxBytes) return [json];

  const id = newId();
  parseOrThrow(Chunk.shape.id, id, 'chunk id');
  // The frame around the data, with room for the widest index and count the schema allows.
  const wrapper = utf8Length(JSON.stringify({ type: 'chunk', id, index: 0, count: 0, data: '' })) + 2 * (String(MAX_CHUNKS).length - 1);
  // A piece must hold at least one character of the widest kind (an escaped control: \u001f).
  const budget = maxBytes - wrapper;
  if (budget < 6) throw new RangeError(`maxBytes of ${maxBytes} leaves no room for data beside a chunk's ${wrapper} bytes of fields`);

  const pieces: string[] = [];
  let start = 0;
  let used = 0;
  for (let i = 0; i < json.length; ) {
    const code = json.charCodeAt(i);
    let units = 1;
    let cost: number;
    if (code < 0x20) cost = SHORT_ESCAPES.has(code) ? 2 : 6;
    else if (code === 0x22 || code === 0x5c) cost = 2; // " and \ are escaped
    else if (code < 0x80) cost = 1;
    else if (code < 0x800) cost = 2;
    else if (isHighSurrogate(code) && i + 1 < json.length && isLowSurrogate(json.charCodeAt(i + 1))) {
      // A pair stays together: half of one in each piece would not survive UTF-8.
      units = 2;
      cost = 4;
    } else if (isHighSurrogate(code) || isLowSurrogate(code)) cost = 6; // JSON.stringify writes a lone one as \udXXX
    else cost = 3;
    if (used + cost > budget) {
      pieces.push(json.slice(start, i));
      start = i;
      used = 0;
    }
    used += cost;
    i += units;
  }
  pieces.push(json.slice(start));
  if (pieces.length > MAX_CHUNKS) throw new RangeError(`a frame of ${json.length} characters needs ${pieces.length} chunks of ${maxBytes} bytes, more than ${MAX_CHUNKS}`);
  return pieces.map((data, index) => JSON.stringify({ type: 'chunk', id, index, count: pieces.length, data }));
}

export interface ReassemblerOptions {
  /** the largest frame it puts together, in UTF-8 bytes of JSON; default 64 MiB */
  maxBytes?: number;
  /** frames in progress at once; a chunk starting one more is refused; default 16 */
  maxPending?: number;
  /** an incomplete frame whose first chunk is older than this is dropped; default 60 s */
  timeoutMs?: number;
  /** the clock, for tests; default Date.now */
  now?: () => number;
}

interface PendingFrame {
  count: number;
  pieces: (string | undefined)[];
  received: number;
  bytes: number;
  startedAt: number;
}

export class Reassembler {
  readonly #maxBytes: number;
  readonly #maxPending: number;
  readonly #timeoutMs: number;
  readonly #now: () => number;
  readonly #pending = new Map<string, PendingFrame>();

  constructor(options: ReassemblerOptions = {}) {
    this.#maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
    this.#maxPending = options.maxPending ?? 16;
    this.#timeoutMs = options.timeoutMs ?? 60_000;
    this.#now = options.now ?? Date.now;
  }

  /** Frames with chunks received and not yet complete. */
  get pending(): number {
    return this.#pending.size;
  }

  /**
   * Takes a parsed frame. Returns it as it is when it is not a chunk; for a chunk, returns the whole
   * frame (parsed) once its last piece is in, else undefined. Pieces may come in any order; a piece
   * that came before is ignored. Throws for a chunk that contradicts its frame (the frame is dropped).
   */
  push(frame: unknown): unknown | undefined {
    if (typeof frame !== 'object' || frame === null || (frame as { type?: unknown }).type !== 'chunk') return frame;
    const chunk = parseOrThrow(Chunk, frame, 'chunk');
    this.#dropExpired();

    let pending = this.#pending.get(chunk.id);
    if (chunk.index >= chunk.count) {
      this.#pending.delete(chunk.id);
      throw new Error(`chunk ${chunk.index} of frame ${chunk.id} is past its count of ${chunk.count}`);
    }
    if (!pending) {
      if (this.#pending.size >= this.#maxPending) {
        throw new Error(`chunk of frame ${chunk.id} refused: ${this.#pending.size} frames are already in progress (at most ${this.#maxPending})`);
      }
      pending = { count: chunk.count, pieces: new Array<string | undefined>(chunk.count), received: 0, bytes: 0, startedAt: this.#now() };
      this.#pending.set(chunk.id, pending);
    } else if (pending.count !== chunk.count) {
      this.#pending.delete(chunk.id);
      throw new Error(`chunk ${chunk.index} of frame ${chunk.id} says ${chunk.count} pieces, earlier ones said ${pending.count}`);
    }
    if (pending.pieces[chunk.index] !== undefined) return undefined;

    pending.bytes += utf8Length(chunk.data);
    if (pending.bytes > this.#maxBytes) {
      this.#pending.delete(chunk.id);
      throw new Error(`frame ${chunk.id} is over the limit of ${this.#maxBytes} bytes`);
    }
    pending.pieces[chunk.index] = chunk.data;
    pending.received++;
    if (pending.received < pending.count) return undefined;

    this.#pending.delete(chunk.id);
    const json = pending.pieces.join('');
    try {
      return JSON.parse(json) as unknown;
    } catch (error) {
      throw new Error(`frame ${chunk.id} put together from ${pending.count} chunks is not JSON: ${(error as Error).message}`);
    }
  }

  /** Forgets frames still missing pieces: their sender gave up or went away mid-frame. */
  #dropExpired(): void {
    const oldest = this.#now() - this.#timeoutMs;
    for (const [id, pending] of this.#pending) {
      if (pending.startedAt < oldest) this.#pending.delete(id);
    }
  }
}
