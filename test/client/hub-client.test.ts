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
afterEach(() => vi.useRealTimers());

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
});
