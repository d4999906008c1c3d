import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startApi, type RunningApi } from '../../../native-host/api/server';
import { HostMetrics } from '../../../native-host/metrics';
import type { HostEvent } from '../../../native-host/ports';
import { MemoryHostCore } from '../../support/memory-host-core';

const TOKEN = 'sse-token';
let core: MemoryHostCore;
let api: RunningApi;

beforeEach(async () => {
  core = new MemoryHostCore();
  api = await startApi({ core, token: TOKEN, port: 0, pingIntervalMs: 40, metrics: new HostMetrics({ processMetrics: false }) });
});

afterEach(() => api.close());

/** Reads an event stream as it comes, in whole blocks (separated by a blank line). */
async function openStream(query = `?token=${TOKEN}`) {
  const response = await fetch(`http://127.0.0.1:${api.port}/stream/events${query}`);
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  const nextBlock = async (): Promise<string> => {
    for (;;) {
      const end = buffered.indexOf('\n\n');
      if (end >= 0) {
        const block = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        return block;
      }
      const { value, done } = await reader.read();
      if (done) throw new Error('stream ended');
      buffered += value;
    }
  };
  return { response, reader, nextBlock };
}

describe('GET /stream/events', () => {
  it('sends each host event as `event: <type>` with its JSON, and heartbeat comments', async () => {
    const stream = await openStream();
    expect(stream.response.status).toBe(200);
    expect(stream.response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(await stream.nextBlock()).toBe(': connected');

    const events: HostEvent[] = [
      { type: 'alert', severity: 'warning', text: 'rate limit\nreached', at: 1 },
      { type: 'hub', connected: false, at: 2 },
    ];
    for (const event of events) core.emit(event);
    const blocks: string[] = [];
    while (blocks.length < 2) {
      const block = await stream.nextBlock();
      if (!block.startsWith(':')) blocks.push(block);
    }
    expect(blocks).toEqual(events.map((event) => `event: ${event.type}\ndata: ${JSON.stringify(event)}`));

    let heartbeat = await stream.nextBlock();
    while (!heartbeat.startsWith(': heartbeat')) heartbeat = await stream.nextBlock();
    expect(heartbeat).toMatch(/^: heartbeat \d{4}-/);
    await stream.reader.cancel();
  });

  it('needs the token, and stops listening to the core when the client goes', async () => {
    const refused = await fetch(`http://127.0.0.1:${api.port}/stream/events`);
    expect(refused.status).toBe(401);

    const stream = await openStream();
    await stream.nextBlock();
    const status = await (await fetch(`http://127.0.0.1:${api.port}/api/status?token=${TOKEN}`)).json();
    expect(status.api.eventStreams).toBe(1);
    await stream.reader.cancel();
    await expect
      .poll(async () => (await (await fetch(`http://127.0.0.1:${api.port}/api/status?token=${TOKEN}`)).json()).api.eventStreams)
      .toBe(0);
  });

  it('ends open streams when the API closes', async () => {
    const stream = await openStream();
    await stream.nextBlock();
    await api.close();
    await expect(
      (async () => {
        for (;;) await stream.nextBlock();
      })(),
    ).rejects.toThrow(/stream ended|terminated/);
  });
});
