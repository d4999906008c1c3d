import { beforeEach, describe, expect, it, vi } from 'vitest';
import { NativeLink, type InboundSink } from '../../src/hub/native-link';
import { splitFrame } from '../../src/protocol/chunking';
import { ValidationError, newMessageId } from '../../src/protocol/envelope';
import { envelopeFor } from '../support/envelopes';
import { FakePort } from '../support/fake-port';

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

const envelope = (text = 'hi') => envelopeFor({ from: 'claude-code:local/s1', to: ['api:local/bot'], body: { text } });

describe('the native link', () => {
  let ports: FakePort[];
  let timers: { callback: () => void; ms: number }[];
  let sink: InboundSink & { sent: unknown[]; acked: unknown[]; agents: string[]; woken: number; hooks: unknown[]; holds: unknown[] };
  let link: NativeLink;
  let lastError: string | undefined;

  beforeEach(() => {
    ports = [];
    timers = [];
    lastError = undefined;
    sink = {
      sent: [],
      acked: [],
      agents: [],
      hooks: [],
      holds: [],
      woken: 0,
      async send(message) {
        if ((message as { from: string }).from === 'bad') throw new Error('invalid message: from: expected an agent address');
        this.sent.push(message);
      },
      async ack(messageId, recipient) {
        this.acked.push([messageId, recipient]);
      },
      async noteAgent(address) {
        this.agents.push(address);
      },
      reachable() {
        this.woken++;
      },
      async confirmDelivered() {},
      async hookEvent(event) {
        this.hooks.push(event);
      },
      async hold(request) {
        this.holds.push(request);
      },
    };
    link = new NativeLink({
      connect: (name) => {
        const port = new FakePort(name);
        ports.push(port);
        return port;
      },
      lastError: () => lastError,
      sink,
      setTimer: (callback, ms) => timers.push({ callback, ms }),
      deliverTimeoutMs: 5_000,
    });
  });

  const hello = (port = ports.at(-1)!) => port.receive({ type: 'hello', version: '0.1.0', device: 'local' });

  it("asks the host for its settings and gives back its answer or its reason", async () => {
    await expect(link.settings()).rejects.toThrow(/needs the native host, which is not connected/);
    link.start();
    hello();
    const port = ports.at(-1)!;
    const read = link.settings();
    const change = link.settings({ webhooks: [] });
    const [first, second] = port.posted.filter((f: any) => f.type === 'settings') as any[];
    expect(first).toEqual({ type: 'settings', id: expect.any(String) });
    expect(second).toEqual({ type: 'settings', id: expect.any(String), change: { webhooks: [] } });
    port.receive({ type: 'settings', id: first.id, settings: { thresholds: { tokenPercent: 80 }, webhooks: [] } });
    port.receive({ type: 'refused', id: second.id, reason: 'invalid settings: webhooks: expected a list' });
    await expect(read).resolves.toEqual({ thresholds: { tokenPercent: 80 }, webhooks: [] });
    await expect(change).rejects.toThrow('invalid settings: webhooks: expected a list');
  });

  it("hands the host's usage report to the hub, and ignores a malformed one", () => {
    const usage: unknown[] = [];
    sink.usage = (snapshot) => usage.push(snapshot);
    link.start();
    hello();
    ports.at(-1)!.receive({ type: 'usage', at: 7, report: { snapshot: { tokens: 3 } } });
    ports.at(-1)!.receive({ type: 'usage', at: -1, report: 'not a report' });
    expect(usage).toEqual([{ at: 7, report: { snapshot: { tokens: 3 } } }]);
  });

  it('connects to the host by its name and is ready after its hello', () => {
    link.start();
    expect(ports[0].name).toBe('dev.switchboard.host');
    expect(link.status().connected).toBe(false);
    hello();
    expect(link.status()).toMatchObject({ connected: true, host: { version: '0.1.0', device: 'local' }, connects: 1 });
    expect(sink.woken).toBe(1);
  });

  it('commits each journal record, then confirms them together', async () => {
    link.start();
    hello();
    const message = { id: newMessageId(), from: 'api:local/a', to: ['api:local/b'], body: 'x' };
    ports[0].receive({ type: 'inbound', seq: 7, record: { type: 'message', message } });
    ports[0].receive({ type: 'inbound', seq: 8, record: { type: 'ack', messageId: message.id, recipient: 'api:local/b' } });
    ports[0].receive({ type: 'inbound', seq: 9, record: { type: 'agent', address: 'api:local/c' } });
    await flush();
    expect(sink.sent).toEqual([expect.objectContaining({ id: message.id, from: 'api:local/a' })]);
    expect(sink.acked).toEqual([[message.id, 'api:local/b']]);
    expect(sink.agents.sort()).toEqual(['api:local/a', 'api:local/c']);
    const committed = ports[0].posted.filter((f) => f.type === 'committed');
    expect(committed.flatMap((f) => f.results).sort((x: { seq: number }, y: { seq: number }) => x.seq - y.seq)).toEqual([{ seq: 7 }, { seq: 8 }, { seq: 9 }]);
    expect(committed.length).toBeLessThan(3);
  });

  it('hands a hook event record to the hub\'s event store, and confirms it', async () => {
    link.start();
    hello();
    const event = { id: newMessageId(), receivedAt: 5, payload: { session_id: 's-1', hook_event_name: 'Stop', stop_hook_active: false } };
    ports[0].receive({ type: 'inbound', seq: 3, record: { type: 'hook', event } });
    await flush();
    expect(sink.hooks).toEqual([event]);
    expect(ports[0].posted.flatMap((f) => f.results)).toEqual([{ seq: 3 }]);
  });

  it('confirms a record the bus refuses, with the reason, so the host stops resending it', async () => {
    link.start();
    hello();
    ports[0].receive({ type: 'inbound', seq: 1, record: { type: 'message', message: { from: 'bad', to: 'api:local/b', body: 'x' } } });
    await flush();
    // the frame schema refuses "bad" before the bus sees it; the record is confirmed with the reason
    expect(ports[0].posted.flatMap((f) => f.results)).toEqual([{ seq: 1, error: expect.stringMatching(/^unreadable record: record\.message\.from: expected an agent address/) }]);
    ports[0].posted.length = 0;
    ports[0].receive({ type: 'inbound', seq: 2, record: { type: 'ack', messageId: newMessageId(), recipient: 'api:local/b' } });
    sink.ack = async () => {
      throw new Error('no delivery of that message to api:local/b');
    };
    ports[0].receive({ type: 'inbound', seq: 3, record: { type: 'ack', messageId: newMessageId(), recipient: 'api:local/b' } });
    await flush();
    expect(ports[0].posted.flatMap((f) => f.results)).toEqual([{ seq: 2 }, { seq: 3, error: 'no delivery of that message to api:local/b' }]);
  });

  it('hands a hold record to the bus, and confirms it', async () => {
    link.start();
    hello();
    const hold = { address: 'claude-code:local/s-1', strategy: 'session_pause', reason: 'Claude Code hit a rate limit', until: 1_900_000_000_000 };
    ports[0].receive({ type: 'inbound', seq: 4, record: { type: 'hold', hold } });
    await flush();
    expect(sink.holds).toEqual([hold]);
    expect(ports[0].posted.flatMap((f) => f.results)).toEqual([{ seq: 4 }]);
  });

  it('confirms a hold record the bus refuses, or cannot read, with the reason, so the host stops resending it', async () => {
    link.start();
    hello();
    sink.hold = async () => {
      throw new ValidationError('hold', [{ field: 'address', problem: 'no such agent kind' }]);
    };
    ports[0].receive({ type: 'inbound', seq: 5, record: { type: 'hold', hold: { address: 'claude-code:local/s-1', strategy: 'exponential_backoff', reason: 'limit' } } });
    // A pause without its end is not a hold record at all.
    ports[0].receive({ type: 'inbound', seq: 6, record: { type: 'hold', hold: { address: 'claude-code:local/s-1', strategy: 'session_pause', reason: 'limit' } } });
    await flush();
    expect(ports[0].posted.flatMap((f) => f.results).sort((a: { seq: number }, b: { seq: number }) => a.seq - b.seq)).toEqual([
      { seq: 5, error: 'invalid hold: address: no such agent kind' },
      { seq: 6, error: expect.stringMatching(/^unreadable record: record\.hold\.until: session_pause needs until/) },
    ]);
    expect(ports[0].disconnected).toBe(false);
  });

  it('never confirms a record it could not store now: it reconnects, so the host sends it again', async () => {
    link.start();
    hello();
    sink.send = async () => {
      throw Object.assign(new Error('The quota has been exceeded.'), { name: 'QuotaExceededError' });
    };
    const message = { id: newMessageId(), from: 'api:local/a', to: ['api:local/b'], body: 'x' };
    ports[0].receive({ type: 'inbound', seq: 4, record: { type: 'message', message } });
    await flush();
    expect(ports[0].posted).toEqual([]);
    expect(ports[0].disconnected).toBe(true);
    expect(link.status()).toMatchObject({ connected: false, lastError: 'could not store a record: The quota has been exceeded.' });
    expect(timers.at(-1)!.ms).toBe(1_000);
  });

  it('hands a message to the host and waits for it to be accepted, refused or timed out', async () => {
    link.start();
    expect(await link.deliver('api:local/bot', envelope())).toEqual({ ok: false, reason: 'the native host is not connected' });
    hello();
    const accepted = link.deliver('api:local/bot', envelope('one'));
    const refused = link.deliver('api:local/bot', envelope('two'));
    const silent = link.deliver('api:local/bot', envelope('three'));
    const [a, b] = ports[0].posted.filter((f) => f.type === 'deliver');
    expect(a).toMatchObject({ type: 'deliver', recipient: 'api:local/bot', envelope: { body: { text: 'one' } } });
    ports[0].receive({ type: 'accepted', id: a.id });
    ports[0].receive({ type: 'refused', id: b.id, reason: 'disk full' });
    expect(await accepted).toEqual({ ok: true });
    expect(await refused).toEqual({ ok: false, reason: 'disk full' });
    for (const timer of timers.filter((t) => t.ms === 5_000)) timer.callback();
    expect(await silent).toEqual({ ok: false, reason: 'the native host did not answer in time' });
  });

  it('reassembles a frame the host sent in chunks', async () => {
    link.start();
    hello();
    const data = Buffer.alloc(1_500_000, 7).toString('base64');
    const body = { text: 'big', attachments: [{ name: 'big.bin', mimeType: 'application/octet-stream', size: 1_500_000, data }] };
    const message = { id: newMessageId(), from: 'api:local/a', to: ['api:local/b'], body };
    const pieces = splitFrame(JSON.stringify({ type: 'inbound', seq: 1, record: { type: 'message', message } }));
    expect(pieces.length).toBeGreaterThan(1);
    for (const piece of pieces.reverse()) ports[0].receive(JSON.parse(piece));
    await flush();
    expect((sink.sent[0] as { body: typeof body }).body.attachments[0].data).toBe(data);
  });

  it('reconnects with growing waits after the port closes, and fails what was waiting', async () => {
    link.start();
    hello();
    const waiting = link.deliver('api:local/bot', envelope());
    lastError = 'Native host has exited.';
    ports[0].drop();
    expect(await waiting).toEqual({ ok: false, reason: 'the native host disconnected (Native host has exited.)' });
    expect(link.status()).toMatchObject({ connected: false, lastError: 'Native host has exited.' });
    const waits = [];
    for (let i = 0; i < 8; i++) {
      const timer = timers.pop()!;
      waits.push(timer.ms);
      timer.callback();
      ports.at(-1)!.drop();
    }
    expect(waits).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000]);
    timers.pop()!.callback();
    hello();
    expect(link.status()).toMatchObject({ connected: true, connects: 10 });
    ports.at(-1)!.drop();
    expect(timers.pop()!.ms).toBe(1_000); // a hello resets the wait
  });

  it('reports why the host turned it away', () => {
    link.start();
    ports[0].receive({ type: 'error', error: 'the calling extension is not allowed (chrome-extension://x/)' });
    expect(link.status()).toMatchObject({ connected: false, lastError: 'the calling extension is not allowed (chrome-extension://x/)' });
  });

  it('ignores frames from a port it has replaced', async () => {
    const log = vi.fn();
    link = new NativeLink({ connect: (name) => (ports.push(new FakePort(name)), ports.at(-1)!), sink, setTimer: (cb, ms) => timers.push({ callback: cb, ms }), log });
    link.start();
    const old = ports[0];
    old.drop();
    timers.pop()!.callback();
    hello(ports[1]);
    old.receive({ type: 'inbound', seq: 1, record: { type: 'agent', address: 'api:local/x' } });
    await flush();
    expect(sink.agents).toEqual([]);
  });
});
