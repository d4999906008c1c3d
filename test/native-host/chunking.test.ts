import { describe, expect, it } from 'vitest';
import { MAX_NATIVE_MESSAGE_BYTES, Reassembler, splitFrame, utf8Length } from '../../src/protocol/chunking';
import { ValidationError } from '../../src/protocol/envelope';
import { Chunk } from '../../src/protocol/native';

const bytesOf = (text: string) => new TextEncoder().encode(text).length;

function shuffle<T>(items: T[], seed = 7): T[] {
  const out = [...items];
  let state = seed;
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function reassemble(pieces: string[]): unknown {
  const reassembler = new Reassembler();
  const results = pieces.map((piece) => reassembler.push(JSON.parse(piece)));
  expect(results.slice(0, -1).every((result) => result === undefined)).toBe(true);
  expect(reassembler.pending).toBe(0);
  return results.at(-1);
}

describe('utf8Length', () => {
  it('agrees with TextEncoder', () => {
    for (const text of ['', 'abc', 'é', '€', '🎉', 'a\ud800b', '\udc00', 'mixed é € 🎉 "\\\n']) expect(utf8Length(text), text).toBe(bytesOf(text));
  });
});

describe('splitFrame', () => {
  it('leaves a frame that fits as it is', () => {
    const json = JSON.stringify({ type: 'inbound', text: 'small' });
    expect(splitFrame(json)).toEqual([json]);
    const exact = JSON.stringify('é'.repeat(10)); // 22 bytes
    expect(splitFrame(exact, 22)).toEqual([exact]);
  });

  it('cuts a 3 MB frame into chunks under the browser limit that put it back together', () => {
    const value = { type: 'deliver', text: 'a message of three megabytes '.repeat(110_000) };
    const json = JSON.stringify(value);
    expect(bytesOf(json)).toBeGreaterThan(3_000_000);
    const pieces = splitFrame(json);
    expect(pieces.length).toBe(4);
    for (const piece of pieces) {
      expect(bytesOf(piece)).toBeLessThanOrEqual(MAX_NATIVE_MESSAGE_BYTES - 64 * 1024);
      expect(Chunk.safeParse(JSON.parse(piece)).success).toBe(true);
    }
    expect(new Set(pieces.map((piece) => JSON.parse(piece).id)).size).toBe(1);
    expect(reassemble(pieces)).toEqual(value);
  });

  it('counts escaping: text full of quotes, backslashes, controls and emoji never passes the limit', () => {
    const nasty = '"\\\u0001\n🎉é€\u2028\t'.repeat(200_000);
    const json = JSON.stringify({ nasty });
    const pieces = splitFrame(json);
    for (const piece of pieces) expect(bytesOf(piece)).toBeLessThan(MAX_NATIVE_MESSAGE_BYTES - 64 * 1024 + 1);
    expect(reassemble(shuffle(pieces))).toEqual({ nasty });
  });

  it('never cuts a surrogate pair, at any small limit', () => {
    const text = JSON.stringify('a🎉"b\\😀\u0007c€'.repeat(50));
    for (let maxBytes = 80; maxBytes < 140; maxBytes++) {
      const pieces = splitFrame(text, maxBytes, () => 'id-1');
      for (const piece of pieces) {
        expect(bytesOf(piece), `${maxBytes}: ${piece}`).toBeLessThanOrEqual(maxBytes);
        const { data } = JSON.parse(piece) as { data: string };
        // A half pair would not survive a UTF-8 round trip.
        expect(new TextDecoder().decode(new TextEncoder().encode(data))).toBe(data);
      }
      expect(pieces.map((piece) => JSON.parse(piece).data).join('')).toBe(text);
    }
  });

  it('carries a lone surrogate through, as JSON.stringify escapes it', () => {
    const json = '"' + '\ud800x'.repeat(100) + '"';
    const pieces = splitFrame(json, 100, () => 'lone');
    for (const piece of pieces) expect(bytesOf(piece)).toBeLessThanOrEqual(100);
    expect(pieces.map((piece) => JSON.parse(piece).data).join('')).toBe(json);
  });

  it('refuses limits the browser or the chunk fields do not allow', () => {
    expect(() => splitFrame('"x"', MAX_NATIVE_MESSAGE_BYTES)).toThrow(RangeError);
    expect(() => splitFrame('"' + 'x'.repeat(100) + '"', 60, () => 'id')).toThrow('leaves no room for data');
    expect(() => splitFrame('"' + 'x'.repeat(100) + '"', 80, () => '')).toThrow(ValidationError);
  });
});

describe('Reassembler', () => {
  const chunk = (id: string, index: number, count: number, data: string) => ({ type: 'chunk', id, index, count, data });

  it('passes other frames through untouched', () => {
    const reassembler = new Reassembler();
    const frame = { type: 'hello', version: '1', device: 'd' };
    expect(reassembler.push(frame)).toBe(frame);
    expect(reassembler.push('text')).toBe('text');
    expect(reassembler.push(null)).toBe(null);
  });

  it('ignores a piece it already has', () => {
    const reassembler = new Reassembler();
    expect(reassembler.push(chunk('a', 1, 2, '2}'))).toBeUndefined();
    expect(reassembler.push(chunk('a', 1, 2, '2}'))).toBeUndefined();
    expect(reassembler.push(chunk('a', 0, 2, '{"x":'))).toEqual({ x: 2 });
    expect(reassembler.pending).toBe(0);
  });

  it('keeps frames apart by id', () => {
    const reassembler = new Reassembler();
    reassembler.push(chunk('a', 0, 2, '"A'));
    reassembler.push(chunk('b', 0, 2, '"B'));
    expect(reassembler.push(chunk('b', 1, 2, 'b"'))).toBe('Bb');
    expect(reassembler.push(chunk('a', 1, 2, 'a"'))).toBe('Aa');
  });

  it('refuses inconsistent chunks with a clear error and drops their frame', () => {
    const reassembler = new Reassembler();
    reassembler.push(chunk('a', 0, 3, '"'));
    expect(() => reassembler.push(chunk('a', 1, 4, 'x'))).toThrow('chunk 1 of frame a says 4 pieces, earlier ones said 3');
    expect(reassembler.pending).toBe(0);
    expect(() => reassembler.push(chunk('b', 2, 2, 'x'))).toThrow('chunk 2 of frame b is past its count of 2');
    expect(() => reassembler.push({ type: 'chunk', id: 'c', index: 0, data: 'x' })).toThrow(/invalid chunk: count: /);
    expect(() => reassembler.push(chunk('d', 0, 1, 'x'))).toThrow(ValidationError);
  });

  it('refuses a frame over its size limit', () => {
    const reassembler = new Reassembler({ maxBytes: 10 });
    reassembler.push(chunk('a', 0, 3, '"12345'));
    expect(() => reassembler.push(chunk('a', 1, 3, '678901'))).toThrow('frame a is over the limit of 10 bytes');
    expect(reassembler.pending).toBe(0);
  });

  it('says when the pieces together are not JSON', () => {
    const reassembler = new Reassembler();
    reassembler.push(chunk('a', 0, 2, '{"x"'));
    expect(() => reassembler.push(chunk('a', 1, 2, '1}'))).toThrow(/^frame a put together from 2 chunks is not JSON: /);
  });

  it('bounds the frames in progress and drops stale ones', () => {
    let now = 1_000;
    const reassembler = new Reassembler({ maxPending: 2, timeoutMs: 5_000, now: () => now });
    reassembler.push(chunk('a', 0, 2, '1'));
    reassembler.push(chunk('b', 0, 2, '2'));
    expect(() => reassembler.push(chunk('c', 0, 2, '3'))).toThrow('chunk of frame c refused: 2 frames are already in progress (at most 2)');
    now += 5_001;
    expect(reassembler.push(chunk('c', 0, 2, '3'))).toBeUndefined();
    expect(reassembler.pending).toBe(1);
    // The stale frame's late piece starts over instead of completing it.
    expect(reassembler.push(chunk('a', 1, 2, '1'))).toBeUndefined();
    expect(reassembler.push(chunk('c', 1, 2, '4'))).toBe(34);
  });
});
