import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeBrowser } from 'wxt/testing';
import { FakePort } from '../support/fake-port';

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
let ports: FakePort[];

/** A fresh client module (its port and pending requests are module state) over fake ports. */
async function client() {
  vi.resetModules();
  ports = [];
  Object.assign(fakeBrowser.runtime, {
    connect: ({ name }: { name: string }) => {
      const port = new FakePort(name);
      ports.push(port);
      return port;
    },
  });
  return (await import('../../src/client/hub-client')).hub;
}

/** Answers every request of the last frame posted on `port`. */
function answerAll(port: FakePort, result: (request: any) => unknown = () => 'ok') {
  const frame = port.posted.at(-1);
  port.receive({ responses: frame.requests.map(({ seq, request }: any) => ({ seq, response: { ok: true, result: result(request) } })) });
}

beforeEach(() => fakeBrowser.reset());
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

/**
 * A service worker for the page to open a channel to, as Chromium's is: it gets the hello with one
 * end of a real MessageChannel; `serve` false leaves the hello unanswered (a hub that does not serve
 * channels), and each channel's frames are recorded and answered with `result`.
 */
function serviceWorker({ serve = true, result = (request: any): unknown => request.type } = {}) {
  const channels: { frames: any[]; port: MessagePort }[] = [];
  const active = {
    postMessage(message: { type: string }, [port]: MessagePort[]) {
      expect(message).toEqual({ type: 'switchboard/channel' });
      const channel = { frames: [] as any[], port };
      channels.push(channel);
      port.onmessage = ({ data }) => {
        channel.frames.push(data);
        port.postMessage({ responses: data.requests.map(({ seq, request }: any) => ({ seq, response: { ok: true, result: result(request) } })) });
      };
      if (serve) port.postMessage({ type: 'switchboard/channel' });
    },
  };
  vi.stubGlobal('navigator', { serviceWorker: { ready: Promise.resolve({ active }) } });
  return channels;
}
const settleChannel = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('the hub client', () => {
  it('sends the requests of one task in one frame, with ids made on the page', async () => {
    const hub = await client();
    const sends = [hub.send({ from: 'extension:local/popup', to: 'test:local/a', body: 'one' }), hub.hubStatus()];
    await tick();
    expect(ports).toHaveLength(1);
    const [frame] = ports[0].posted;
    expect(frame.requests.map((r: any) => r.request.type)).toEqual(['send', 'hub-status']);
    expect(frame.requests[0].request.message.id).toMatch(/^[0-9a-f-]{36}$/);
    answerAll(ports[0], (request) => request.type);
    expect(await Promise.all(sends)).toEqual(['send', 'hub-status']);
  });

  it('keeps its own id when the caller passes id: undefined, so a resend is still recognised', async () => {
    const hub = await client();
    void hub.send({ id: undefined, from: 'extension:local/popup', to: 'test:local/a', body: 'x' });
    await tick();
    expect(ports[0].posted[0].requests[0].request.message.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('asks again on a new port when the worker stops before answering, with the same id', async () => {
    const hub = await client();
    const sent = hub.send({ from: 'extension:local/popup', to: 'test:local/a', body: 'x' });
    await tick();
    const first = ports[0].posted[0].requests[0];
    ports[0].drop();
    await tick();
    expect(ports).toHaveLength(2);
    expect(ports[1].posted[0].requests).toEqual([first]);
    answerAll(ports[1], () => ({ id: first.request.message.id, duplicate: true }));
    await expect(sent).resolves.toEqual({ id: first.request.message.id, duplicate: true });
  });

  it('gives up on a request under which the worker keeps stopping', async () => {
    const hub = await client();
    const status = hub.hubStatus();
    for (let i = 0; i < 4; i++) {
      await tick();
      ports.at(-1)!.drop();
    }
    await expect(status).rejects.toThrow('the Switchboard hub stopped 4 times while answering');
  });

  it('answers with the reason when the frame cannot be posted', async () => {
    const hub = await client();
    void hub.hubStatus().catch(() => {});
    await tick();
    ports[0].failWith = new Error('Extension context invalidated.');
    await expect(hub.hubStatus()).rejects.toThrow('could not reach the Switchboard hub: Extension context invalidated.');
  });

  it('times out a request the hub never answers', async () => {
    vi.useFakeTimers();
    const hub = await client();
    const status = hub.hubStatus();
    const assertion = expect(status).rejects.toThrow('the Switchboard hub did not answer within 60 s');
    await vi.advanceTimersByTimeAsync(60_000);
    await assertion;
  });

  it('sends its requests over a channel to the service worker once the hub says it serves it', async () => {
    const channels = serviceWorker();
    const hub = await client();
    const first = hub.hubStatus();
    await tick();
    answerAll(ports[0]);
    await Promise.all([first, settleChannel()]);
    // The first went over the port, which stays open beside the channel.
    expect(ports[0].posted[0].requests.map((r: any) => r.request.type)).toEqual(['hub-status']);
    expect(hub.transport()).toBe('channel');
    const answers = Promise.all([hub.send({ from: 'extension:local/popup', to: 'test:local/a', body: 'one' }), hub.rules()]);
    expect(await answers).toEqual(['send', 'rules']);
    expect(channels).toHaveLength(1);
    expect(channels[0].frames.map((f) => f.requests.map((r: any) => r.request.type))).toEqual([['send', 'rules']]);
    expect(ports[0].posted).toHaveLength(1); // nothing more on the port: it was used a moment ago
    channels[0].port.close();
  });

  it('keeps the worker alive while the channel is used: an empty frame on the port every KEEPALIVE_MS at most', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const t0 = Date.now();
    const channels = serviceWorker();
    const hub = await client();
    const { KEEPALIVE_MS } = await import('../../src/client/hub-client');
    const first = hub.hubStatus(); // opens the port at t0
    await tick();
    answerAll(ports[0]);
    await Promise.all([first, settleChannel()]);
    vi.setSystemTime(t0 + KEEPALIVE_MS - 1);
    await hub.hubStatus();
    expect(ports[0].posted).toHaveLength(1);
    vi.setSystemTime(t0 + KEEPALIVE_MS);
    await hub.hubStatus();
    expect(ports[0].posted).toEqual([expect.anything(), { requests: [] }]);
    vi.setSystemTime(t0 + 2 * KEEPALIVE_MS - 1);
    await hub.hubStatus();
    expect(ports[0].posted).toHaveLength(2);
    expect(channels[0].frames).toHaveLength(3);
    channels[0].port.close();
  });

  it('asks again over a new port and channel when the worker stops with requests on the channel', async () => {
    const channels = serviceWorker({ result: () => 'never' });
    const hub = await client();
    void hub.hubStatus();
    await tick();
    answerAll(ports[0], () => 'over the port');
    await settleChannel();
    // The worker takes the next request over the channel and stops before answering it.
    channels[0].port.onmessage = ({ data }) => channels[0].frames.push(data);
    const status = hub.hubStatus();
    await settleChannel();
    expect(channels[0].frames).toHaveLength(1);
    const asked = channels[0].frames[0].requests[0];
    ports[0].drop();
    await tick();
    expect(ports).toHaveLength(2);
    expect(ports[1].posted[0].requests).toEqual([asked]);
    answerAll(ports[1], () => 'answered after the stop');
    await expect(status).resolves.toBe('answered after the stop');
    await settleChannel();
    expect(channels).toHaveLength(2); // a new channel to the new worker
    expect(hub.transport()).toBe('channel');
    channels.forEach((c) => c.port.close());
  });

  it('stays on the port when the hub does not answer the hello', async () => {
    const channels = serviceWorker({ serve: false });
    const hub = await client();
    void hub.hubStatus();
    await settleChannel();
    expect(channels).toHaveLength(1);
    const status = hub.hubStatus();
    await tick();
    answerAll(ports[0], () => 'over the port');
    await expect(status).resolves.toBe('over the port');
    expect(hub.transport()).toBe('port');
    expect(channels[0].frames).toEqual([]);
    channels[0].port.close();
  });
});
