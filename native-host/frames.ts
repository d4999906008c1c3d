/**
 * Native-messaging framing: a 4-byte little-endian unsigned length, then that many bytes of UTF-8
 * JSON. The browser speaks it on the shim's stdio, and the shim and the daemon speak it on their
 * Unix socket, so one reader and one writer serve both.
 */
import type { Readable, Writable } from 'node:stream';

/** Chrome's limit for a browser → host message; a frame claiming more is garbage or an attack. */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;
const HEADER_BYTES = 4;
/** The largest length a u32 prefix can state. */
const MAX_U32 = 0xffff_ffff;

/** What went wrong with the bytes of a stream; after one, the stream cannot be trusted. */
export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

export interface FrameReaderOptions {
  /** a frame whose length prefix states more bytes is refused; default 64 MiB */
  maxFrameBytes?: number;
}

/** `reading`: frames may follow; `ended`: the stream ended cleanly between frames; `broken`: a framing error. */
export type FrameReaderState = 'reading' | 'ended' | 'broken';

export function encodeFrame(value: unknown): Buffer {
  const json = JSON.stringify(value);
  // JSON.stringify gives undefined for undefined, functions and symbols: nothing to send.
  if (json === undefined) throw new FrameError(`a frame must be a JSON value, not ${typeof value}`);
  const body = Buffer.from(json, 'utf8');
  if (body.length > MAX_U32) throw new FrameError(`frame of ${body.length} bytes does not fit a 4-byte length`);
  const frame = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  frame.writeUInt32LE(body.length, 0);
  body.copy(frame, HEADER_BYTES);
  return frame;
}

/**
 * Turns Buffer chunks, cut anywhere (inside the length, inside a body, several frames at once), into
 * parsed values in order. Pieces of a frame are kept as a list and joined once, so a 64 MiB frame
 * arriving in 64 KiB reads costs one copy, not thousands.
 */
export class FrameReader {
  readonly maxFrameBytes: number;
  #state: FrameReaderState = 'reading';
  #pieces: Buffer[] = [];
  #buffered = 0;
  /** the body length of the frame being read, or -1 while its length prefix is incomplete */
  #bodyBytes = -1;
  #framesRead = 0;
  // fatal: bytes that are not UTF-8 are a broken frame, not text with replacement characters.
  readonly #decoder = new TextDecoder('utf-8', { fatal: true });

  constructor(options: FrameReaderOptions = {}) {
    const max = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    if (!Number.isInteger(max) || max < 1 || max > MAX_U32) throw new RangeError(`maxFrameBytes must be an integer from 1 to ${MAX_U32}, not ${max}`);
    this.maxFrameBytes = max;
  }

  get state(): FrameReaderState {
    return this.#state;
  }

  /** Frames parsed so far. */
  get framesRead(): number {
    return this.#framesRead;
  }

  /**
   * Takes the next bytes of the stream and calls `onFrame` with each frame they complete, in order.
   * Throws a FrameError at the first framing error (after handing over the frames before it); from
   * then on the reader is `broken` and ignores whatever it is given.
   */
  push(chunk: Buffer, onFrame: (value: unknown) => void): void {
    if (this.#state === 'broken') return;
    if (this.#state === 'ended') throw new FrameError('bytes arrived after the stream ended');
    if (chunk.length === 0) return;
    this.#pieces.push(chunk);
    this.#buffered += chunk.length;
    for (;;) {
      if (this.#bodyBytes < 0) {
        if (this.#buffered < HEADER_BYTES) return;
        const length = this.#take(HEADER_BYTES).readUInt32LE(0);
        if (length > this.maxFrameBytes) this.#fail(`frame of ${length} bytes is over the limit of ${this.maxFrameBytes}`);
        this.#bodyBytes = length;
      }
      if (this.#buffered < this.#bodyBytes) return;
      const body = this.#take(this.#bodyBytes);
      this.#bodyBytes = -1;
      const number = ++this.#framesRead;
      let value: unknown;
      try {
        value = JSON.parse(this.#decoder.decode(body));
      } catch (error) {
        this.#fail(`frame ${number} is not JSON: ${(error as Error).message}`);
      }
      onFrame(value);
    }
  }

  /** The stream ended: throws a FrameError when it ended inside a frame. */
  end(): void {
    if (this.#state !== 'reading') return;
    if (this.#bodyBytes >= 0) this.#fail(`stream ended ${this.#buffered} bytes into a ${this.#bodyBytes}-byte frame`);
    if (this.#buffered > 0) this.#fail(`stream ended ${this.#buffered} bytes into a frame's ${HEADER_BYTES}-byte length`);
    this.#state = 'ended';
  }

  #fail(message: string): never {
    this.#state = 'broken';
    this.#pieces = [];
    this.#buffered = 0;
    throw new FrameError(message);
  }

  /** Removes and returns the next `count` buffered bytes (the caller checked they are there). */
  #take(count: number): Buffer {
    if (count === 0) return Buffer.alloc(0);
    const first = this.#pieces[0]!;
    let out: Buffer;
    if (first.length >= count) {
      out = first.subarray(0, count);
      if (first.length === count) this.#pieces.shift();
      else this.#pieces[0] = first.subarray(count);
    } else {
      out = Buffer.allocUnsafe(count);
      let filled = 0;
      while (filled < count) {
        const piece = this.#pieces[0]!;
        const used = Math.min(piece.length, count - filled);
        piece.copy(out, filled, 0, used);
        filled += used;
        if (used === piece.length) this.#pieces.shift();
        else this.#pieces[0] = piece.subarray(used);
      }
    }
    this.#buffered -= count;
    return out;
  }
}

/**
 * Reads frames from `stream` until it ends, breaks or the returned function is called. `onError`
 * gets a FrameError (the reading stops: the caller should close the stream), an error of the stream
 * itself, or an error `onFrame` threw (reading goes on: the frame boundaries are still sound).
 */
export function readFrames(
  stream: Readable,
  options: FrameReaderOptions,
  onFrame: (value: unknown) => void,
  onError: (error: Error) => void,
): () => void {
  const reader = new FrameReader(options);
  const deliver = (value: unknown) => {
    try {
      onFrame(value);
    } catch (error) {
      onError(error instanceof Error ? error : new Error(String(error)));
    }
  };
  const onData = (chunk: Buffer | string) => {
    try {
      reader.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk, deliver);
    } catch (error) {
      stop();
      onError(error as Error);
    }
  };
  const onEnd = () => {
    stop();
    try {
      reader.end();
    } catch (error) {
      onError(error as Error);
    }
  };
  const onStreamError = (error: Error) => {
    stop();
    onError(error);
  };
  const stop = () => {
    stream.off('data', onData);
    stream.off('end', onEnd);
    stream.off('error', onStreamError);
  };
  stream.on('data', onData);
  stream.on('end', onEnd);
  stream.on('error', onStreamError);
  return stop;
}

/**
 * Writes one frame. Resolves at once while the stream takes more, or on `drain` when its buffer is
 * full, so a fast producer waits for a slow reader instead of growing memory; rejects when the
 * stream is closed or fails before that.
 */
export function writeFrame(stream: Writable, value: unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    let frame: Buffer;
    try {
      frame = encodeFrame(value);
    } catch (error) {
      reject(error);
      return;
    }
    if (stream.destroyed || stream.writableEnded) {
      reject(new Error('cannot write a frame: the stream is closed'));
      return;
    }
    let settled = false;
    const settle = (error?: Error | null) => {
      if (settled) return;
      settled = true;
      stream.off('drain', onDrain);
      stream.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = () => settle();
    const onClose = () => settle(new Error('the stream closed before the frame was written'));
    const flowing = stream.write(frame, (error) => {
      if (error) settle(error);
    });
    if (flowing) settle();
    else {
      stream.on('drain', onDrain);
      stream.on('close', onClose);
    }
  });
}
