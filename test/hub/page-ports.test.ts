import { describe, expect, it } from 'vitest';
import { channelOf, serveChanges, serveChannel, serveRequests } from '../../src/hub/page-ports';
import { FRAME_LIMITS, type HubResponse } from '../../src/protocol/runtime';
import type { Bus, DeliveryChange } from '../../src/bus/bus';
import { FakePort } from '../support/fake-port';

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

/** Just enough of a bus to subscribe to. */
function fakeBus() {
  const listeners = new Set<(changes: DeliveryChange[]) => void>();
  const bus = {
    subscribe(listener: (changes: DeliveryChange[]) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  } as unknown as Bus;
  const change: DeliveryChange = { messageId: 'm', recipient: 'test:local/a', state: 'sent', attempts: 1, at: 1 };
  const emit = (changes: DeliveryChange[] = [change]) => listeners.forEach((l) => l(changes));
  return { bus, listeners, emit };
}

/** A changes port served by a fake bus that is ready. */
async function servedChanges() {
  const served = fakeBus();
  const port = new FakePort('switchboard/changes');
  serveChanges(port as never, Promise.resolve(served.bus));
  await tick();
  return { ...served, port };
}

describe('the changes port', () => {
  it('pushes changes until the page goes away', async () => {
    const { port, listeners, emit } = await servedChanges();
    emit();
    await tick();
    expect(port.posted).toEqual([{ type: 'changes', changes: [expect.objectContaining({ state: 'sent' })] }]);
    port.drop();
    expect(listeners.size).toBe(0);
  });

  it('sends the changes of one task in one message, in order, and those of the next task in another', async () => {
    const { port, emit } = await servedChanges();
    const change = (messageId: string, state: DeliveryChange['state']): DeliveryChange => ({ messageId, recipient: 'test:local/a', state, attempts: state === 'queued' ? 0 : 1, at: 1 });
    emit([change('m1', 'queued'), change('m2', 'queued')]);
    emit([change('m1', 'sent'), change('m2', 'sent')]);
    expect(port.posted).toEqual([]);
    await tick();
    emit([change('m1', 'delivered')]);
    await tick();
    const sent = port.posted as { changes: DeliveryChange[] }[];
    expect(sent.map((m) => m.changes.map((c) => `${c.messageId} ${c.state}`))).toEqual([['m1 queued', 'm2 queued', 'm1 sent', 'm2 sent'], ['m1 delivered']]);
  });

  it('posts nothing of what was waiting when the page goes away in the same task', async () => {
    const { port, listeners, emit } = await servedChanges();
    emit();
    port.drop();
    await tick();
    expect(port.posted).toEqual([]);
    expect(listeners.size).toBe(0);
  });

  it('leaves no subscription behind when the page closes before the hub is ready', async () => {
    const { bus, listeners } = fakeBus();
    let ready!: (b: Bus) => void;
    const port = new FakePort('switchboard/changes');
    serveChanges(port as never, new Promise((resolve) => (ready = resolve)));
    port.drop();
    ready(bus);
    await tick();
    expect(listeners.size).toBe(0);
  });

  it('unsubscribes when posting fails, without throwing into the bus', async () => {
    const { port, listeners, emit } = await servedChanges();
    port.failWith = new Error('Attempting to use a disconnected port object');
    expect(() => emit()).not.toThrow();
    await tick();
    expect(listeners.size).toBe(0);
    expect(() => emit()).not.toThrow();
  });
});

describe('the requests port', () => {
  it('answers a frame of requests in one frame', async () => {
    const port = new FakePort('switchboard/requests');
    serveRequests(port as never, async (request) => ({ ok: true, result: request }));
    port.receive({ requests: [1, 2, 3].map((seq) => ({ seq, request: { n: seq } })) });
    await tick();
    expect(port.posted).toEqual([{ responses: [1, 2, 3].map((seq) => ({ seq, response: { ok: true, result: { n: seq } } })) }]);
  });

  it('answers a failure, an oversized answer and a malformed frame without losing the others', async () => {
    const port = new FakePort('switchboard/requests');
    serveRequests(port as never, async (request): Promise<HubResponse> => {
      if (request === 'boom') throw new Error('the hub failed to start: disk full');
      if (request === 'huge') return { ok: true, result: 'x'.repeat(FRAME_LIMITS.weight + 1) };
      return { ok: true, result: 'fine' };
    });
    port.receive({ nonsense: true });
    port.receive({ requests: [{ seq: 'x' }, { seq: 1, request: 'boom' }, { seq: 2, request: 'huge' }, { seq: 3, request: 'ok' }] });
    await tick();
    const responses = port.posted.flatMap((frame) => frame.responses);
    expect(responses).toEqual([
      { seq: 1, response: { ok: false, error: 'the hub failed to start: disk full' } },
      { seq: 2, response: { ok: false, error: expect.stringMatching(/^the answer is too large to send \(\d+ characters, at most 8000000\): ask for fewer messages$/) } },
      { seq: 3, response: { ok: true, result: 'fine' } },
    ]);
  });

  it('does not throw when the page is gone before the answer', async () => {
    const port = new FakePort('switchboard/requests');
    serveRequests(port as never, async () => ({ ok: true, result: 1 }));
    port.failWith = new Error('Attempting to use a disconnected port object');
    port.receive({ requests: [{ seq: 1, request: {} }] });
    await tick();
    expect(port.posted).toEqual([]);
  });
});

describe("a page's channel", () => {
  it('says it serves the channel, then answers frames over it, a malformed one changing nothing', async () => {
    const { port1: page, port2: hub } = new MessageChannel();
    const received: any[] = [];
    page.onmessage = ({ data }) => received.push(data);
    serveChannel(hub, async (request) => ({ ok: true, result: request }));
    page.postMessage({ nonsense: true });
    page.postMessage({ requests: [1, 2].map((seq) => ({ seq, request: { n: seq } })) });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(received).toEqual([
      { type: 'switchboard/channel' },
      { responses: [1, 2].map((seq) => ({ seq, response: { ok: true, result: { n: seq } } })) },
    ]);
    page.close();
    hub.close();
  });

  it("opens only on a hello from the worker's own origin that brings one port", () => {
    const { port1, port2 } = new MessageChannel();
    const own = 'chrome-extension://dpikelegiphdenlcdnaaomhooehcfaoj';
    const hello = { data: { type: 'switchboard/channel' }, origin: own, ports: [port1] };
    expect(channelOf(hello, own)).toBe(port1);
    expect(channelOf({ ...hello, origin: 'https://claude.ai' }, own)).toBeUndefined();
    expect(channelOf({ ...hello, ports: [] }, own)).toBeUndefined();
    expect(channelOf({ ...hello, ports: [port1, port2] }, own)).toBeUndefined();
    expect(channelOf({ ...hello, data: { type: 'something else' } }, own)).toBeUndefined();
    expect(channelOf({ ...hello, data: null }, own)).toBeUndefined();
    port1.close();
  });
});
