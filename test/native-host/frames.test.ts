import { createServer, connect, type Server, type Socket } from 'node:net';
import { PassThrough, Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { FrameError, FrameReader, encodeFrame, readFrames, writeFrame } from '../../native-host/frames';

const header = (length: number) => {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32LE(length, 0);
  return bytes;
};

function collect(reader: FrameReader, chunks: Buffer[]): unknown[] {
  const out: unknown[] = [];
  for (const chunk of chunks) reader.push(chunk, (value) => out.push(value));
  return out;
}

describe('encodeFrame', () => {
  it('writes a little-endian length and UTF-8 JSON', () => {
    const frame = encodeFrame({ text: 'héllo 🎉' });
    const json = JSON.stringify({ text: 'héllo 🎉' });
    expect(frame.readUInt32LE(0)).toBe(Buffer.byteLength(json));
    expect(frame.subarray(4).toString('utf8')).toBe(json);
  });

  it('refuses what JSON cannot carry', () => {
    expect(() => encodeFrame(undefined)).toThrow(FrameError);
    expect(() => encodeFrame(() => 1)).toThrow('a frame must be a JSON value, not function');
  });
});

describe('FrameReader', () => {
  const values = [{ a: 1 }, 'text', [1, 2, 3], null, { nested: { emoji: '🎉'.repeat(100), quote: '"\\' } }];
  const stream = Buffer.concat(values.map(encodeFrame));

  it('reads many frames from one chunk', () => {
    expect(collect(new FrameReader(), [stream])).toEqual(values);
  });

  it('reads frames cut at every possible place, even one byte at a time', () => {
    for (let cut = 1; cut < stream.length; cut++) {
      expect(collect(new FrameReader(), [stream.subarray(0, cut), stream.subarray(cut)])).toEqual(values);
    }
    const bytes = [...stream].map((byte) => Buffer.from([byte]));
    expect(collect(new FrameReader(), bytes)).toEqual(values);
  });

  it('reads a large frame in small pieces', () => {
    const big = { data: 'x'.repeat(3_000_000) };
    const frame = encodeFrame(big);
    const pieces: Buffer[] = [];
    for (let at = 0; at < frame.length; at += 65_536) pieces.push(frame.subarray(at, at + 65_536));
    expect(collect(new FrameReader(), pieces)).toEqual([big]);
  });

  it('refuses a length over the limit and then yields nothing more', () => {
    const reader = new FrameReader({ maxFrameBytes: 100 });
    const out: unknown[] = [];
    const bytes = Buffer.concat([encodeFrame({ ok: true }), header(101), Buffer.alloc(101, 0x20)]);
    expect(() => reader.push(bytes, (value) => out.push(value))).toThrow(new FrameError('frame of 101 bytes is over the limit of 100'));
    expect(out).toEqual([{ ok: true }]);
    expect(reader.state).toBe('broken');
    reader.push(encodeFrame({ after: true }), (value) => out.push(value));
    expect(out).toEqual([{ ok: true }]);
  });

  it('names the frame that is not JSON', () => {
    const reader = new FrameReader();
    const garbage = Buffer.from('{nope', 'utf8');
    const out: unknown[] = [];
    expect(() => reader.push(Buffer.concat([encodeFrame(1), header(garbage.length), garbage]), (v) => out.push(v))).toThrow(/^frame 2 is not JSON: /);
    expect(out).toEqual([1]);
    expect(reader.state).toBe('broken');
  });

  it('refuses bytes that are not UTF-8', () => {
    const reader = new FrameReader();
    const body = Buffer.from([0x22, 0xff, 0x22]);
    expect(() => reader.push(Buffer.concat([header(3), body]), () => {})).toThrow(/^frame 1 is not JSON: /);
  });

  it('refuses an empty frame', () => {
    expect(() => new FrameReader().push(header(0), () => {})).toThrow(/^frame 1 is not JSON/);
  });

  it('says where the stream ended inside a frame', () => {
    const inBody = new FrameReader();
    inBody.push(Buffer.concat([header(10), Buffer.from('{"a"')]), () => {});
    expect(() => inBody.end()).toThrow(new FrameError('stream ended 4 bytes into a 10-byte frame'));
    expect(inBody.state).toBe('broken');

    const inLength = new FrameReader();
    inLength.push(Buffer.from([5, 0]), () => {});
    expect(() => inLength.end()).toThrow("stream ended 2 bytes into a frame's 4-byte length");

    const clean = new FrameReader();
    clean.push(encodeFrame('x'), () => {});
    clean.end();
    expect(clean.state).toBe('ended');
  });

  it('checks its limit option', () => {
    expect(() => new FrameReader({ maxFrameBytes: 0 })).toThrow(RangeError);
  });
});

describe('readFrames and writeFrame on a real socket', () => {
  let server: Server | undefined;
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  async function pair(): Promise<{ client: Socket; accepted: Socket }> {
    const accepted = new Promise<Socket>((resolve) => {
      server = createServer((socket) => resolve(socket));
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const address = server!.address() as { port: number };
    const client = connect(address.port, '127.0.0.1');
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));
    const socket = await accepted;
    sockets.push(client, socket);
    return { client, accepted: socket };
  }

  it('carries frames in order with backpressure, large and small', async () => {
    const { client, accepted } = await pair();
    const received: unknown[] = [];
    const errors: Error[] = [];
    const done = new Promise<void>((resolve) => {
      readFrames(accepted, {}, (value) => {
        received.push(value);
        if (received.length === 202) resolve();
      }, (error) => errors.push(error));
    });
    const sent: unknown[] = [];
    for (let i = 0; i < 200; i++) sent.push({ i, pad: 'p'.repeat(i * 10) });
    sent.push({ big: 'b'.repeat(5_000_000) }, { last: true });
    for (const value of sent) await writeFrame(client, value);
    await done;
    expect(received).toEqual(sent);
    expect(errors).toEqual([]);
  });

  it('reports a wrong length and stops reading, while the server keeps accepting', async () => {
    const { client, accepted } = await pair();
    const received: unknown[] = [];
    const failed = new Promise<Error>((resolve) => {
      readFrames(accepted, { maxFrameBytes: 1_000 }, (value) => received.push(value), (error) => {
        accepted.destroy();
        resolve(error);
      });
    });
    await writeFrame(client, { first: 1 });
    client.write(header(0xffff_fff0));
    const error = await failed;
    expect(error).toBeInstanceOf(FrameError);
    expect(error.message).toBe(`frame of ${0xffff_fff0} bytes is over the limit of 1000`);
    expect(received).toEqual([{ first: 1 }]);

    const next = await new Promise<Socket>((resolve) => {
      server!.once('connection', resolve);
      sockets.push(connect((server!.address() as { port: number }).port, '127.0.0.1'));
    });
    sockets.push(next);
    const value = new Promise<unknown>((resolve) => readFrames(next, {}, resolve, () => {}));
    await writeFrame(sockets.at(-2)!, { again: true });
    expect(await value).toEqual({ again: true });
  });

  it('reports a stream that ends inside a frame', async () => {
    const stream = new PassThrough();
    const failed = new Promise<Error>((resolve) => readFrames(stream, {}, () => {}, resolve));
    stream.end(Buffer.concat([header(10), Buffer.from('abc')]));
    expect((await failed).message).toBe('stream ended 3 bytes into a 10-byte frame');
  });

  it('passes on an error of the frame handler and keeps reading', async () => {
    const stream = new PassThrough();
    const received: unknown[] = [];
    const errors: string[] = [];
    readFrames(stream, {}, (value) => {
      if (value === 'bad') throw new Error('handler refused');
      received.push(value);
    }, (error) => errors.push(error.message));
    stream.write(Buffer.concat(['a', 'bad', 'c'].map(encodeFrame)));
    await new Promise((resolve) => setImmediate(resolve));
    expect(received).toEqual(['a', 'c']);
    expect(errors).toEqual(['handler refused']);
  });

  it('waits for drain and rejects on a closed stream', async () => {
    const written: Buffer[] = [];
    let release: (() => void) | undefined;
    const slow = new Writable({
      highWaterMark: 16,
      write(chunk: Buffer, _encoding, callback) {
        written.push(chunk);
        release = () => callback();
      },
    });
    let resolved = false;
    const pending = writeFrame(slow, { fill: 'x'.repeat(100) }).then(() => (resolved = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(resolved).toBe(false);
    release!();
    await pending;
    expect(resolved).toBe(true);
    expect(written).toHaveLength(1);

    slow.destroy();
    await expect(writeFrame(slow, 1)).rejects.toThrow('the stream is closed');
    await expect(writeFrame(new PassThrough(), undefined)).rejects.toThrow(FrameError);
  });
});
