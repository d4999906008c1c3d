import { describe, expect, it } from 'vitest';
import { busFixture, until } from '../support/bus-fixture';
import { DEFAULT_BREAKER_POLICY } from '../../src/bus/destinations';
import { HUB_ADDRESS } from '../../src/protocol/address';

const SENDER = 'extension:local/popup';
const TAB = 'claude-code:laptop/limited';
const FALLBACK = 'claude-code:laptop/fallback';

describe('the circuit breaker in the bus', () => {
  it('opens after repeated failures: the rest wait unattempted, a probe goes after the cool-down, then all go in order', async () => {
    const { make, scripted, advance } = busFixture({ retry: { maxAttempts: 100 } });
    const bus = make();
    await bus.start();
    await bus.settled();
    let healthy = false;
    scripted.script = () => (healthy ? { status: 'delivered' } : { status: 'retry', reason: 'rate limited' });
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push((await bus.send({ from: SENDER, to: TAB, body: `m${i}` })).id);
    // Retries until the breaker opens.
    for (let i = 0; i < 6; i++) await advance(1_000);
    const record = bus.destinations().find((d) => d.address === TAB)!;
    expect(record.breaker).toBe('open');
    const callsWhenOpened = scripted.calls.length;
    await advance(DEFAULT_BREAKER_POLICY.coolDownMs - 7_000);
    expect(scripted.calls.length, 'nothing is tried while open').toBe(callsWhenOpened);

    healthy = true;
    await advance(7_000);
    await bus.settled();
    expect(bus.destinations().find((d) => d.address === TAB)!.breaker).toBe('closed');
    const delivered = await Promise.all(ids.map(async (id) => (await bus.status(id))!.deliveries[0]));
    expect(delivered.every((d) => d.state === 'delivered')).toBe(true);
    // After the probe, the waiting messages went in their order.
    const order = scripted.calls.slice(callsWhenOpened).map((c) => c.text);
    expect(order.slice(1)).toEqual([...order.slice(1)].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1))));
  });
});

describe('holds in the bus', () => {
  it('session_pause: notified, messages wait in order, resumed by itself at the reset time', async () => {
    const { make, scripted, clock, advance } = busFixture();
    const bus = make();
    await bus.start();
    await bus.settled();
    const resetAt = clock.now() + 3_600_000;
    await bus.hold({ address: TAB, strategy: 'session_pause', reason: 'usage limit reached', until: resetAt, notify: SENDER });
    const ids = [];
    for (const priority of ['low', 'high', 'normal', 'low'] as const) ids.push((await bus.send({ from: SENDER, to: TAB, body: priority, priority })).id);
    await bus.settled();
    await advance(3_600_000 - 1);
    expect(scripted.calls).toHaveLength(0);
    for (const id of ids) expect((await bus.status(id))!.deliveries[0]).toMatchObject({ state: 'queued', attempts: 0 });

    await advance(1);
    await bus.settled();
    expect(scripted.calls.map((c) => c.text)).toEqual(['high', 'normal', 'low', 'low']);
    const notices = (await bus.list({ agent: SENDER })).filter((e) => e.message.from === HUB_ADDRESS).map((e) => e.message.body.text);
    expect(notices).toEqual([
      `${TAB} is no longer held: hold ended. Its messages resume.`,
      `${TAB} is held (session_pause): usage limit reached until ${new Date(resetAt).toISOString()}.`,
    ]);
  });

  it('exponential_backoff: one probe at growing intervals, no message fails, all go once a probe works', async () => {
    const { make, scripted, advance } = busFixture({ retry: { maxAttempts: 3 } });
    const bus = make();
    await bus.start();
    await bus.settled();
    let healthy = false;
    scripted.script = () => (healthy ? { status: 'delivered' } : { status: 'retry', reason: 'rate limited' });
    await bus.hold({ address: TAB, strategy: 'exponential_backoff', reason: '429s' });
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await bus.send({ from: SENDER, to: TAB, body: `m${i}` })).id);
    const probeTimes: number[] = [];
    for (let t = 0; t < 200; t++) {
      const before = scripted.calls.length;
      await advance(1_000);
      if (scripted.calls.length > before) probeTimes.push(t + 1);
      if (probeTimes.length === 5) break;
    }
    // Probes every 5, 10, 20, 40 s: one at a time, more than maxAttempts, and no message failed.
    expect(probeTimes.slice(1).map((t, i) => t - probeTimes[i])).toEqual([5, 10, 20, 40]);
    expect(scripted.calls.length).toBe(5); // more than maxAttempts (3), one probe at a time
    for (const id of ids) expect((await bus.status(id))!.deliveries[0].state).toBe('queued');
    healthy = true;
    await advance(80_000);
    await bus.settled();
    for (const id of ids) expect((await bus.status(id))!.deliveries[0].state).toBe('delivered');
    expect(bus.destinations().find((d) => d.address === TAB)!.hold).toBeUndefined();
  });

  it("a later hold replaces the one in force: a pause until a reset learnt later replaces a backoff, and ends by itself", async () => {
    const { make, scripted, clock, advance } = busFixture();
    const bus = make();
    await bus.start();
    await bus.settled();
    scripted.script = () => ({ status: 'retry', reason: 'rate limited' });
    await bus.hold({ address: TAB, strategy: 'exponential_backoff', reason: 'StopFailure rate_limit' });
    const id = (await bus.send({ from: SENDER, to: TAB, body: 'after the limit' })).id;
    await advance(5_000);
    expect(scripted.calls).toHaveLength(1); // the backoff's first probe, refused
    expect(bus.destinations().find((d) => d.address === TAB)!.hold).toMatchObject({ strategy: 'exponential_backoff', probes: 1 });

    const resetAt = clock.now() + 600_000;
    await bus.hold({ address: TAB, strategy: 'session_pause', reason: 'reset known from the transcript', until: resetAt });
    const record = bus.destinations().find((d) => d.address === TAB)!;
    expect(record.hold).toEqual({ strategy: 'session_pause', reason: 'reset known from the transcript', since: clock.now(), until: resetAt, probes: 0 });
    expect(record.history.filter((e) => e.event === 'held').map((e) => e.note)).toEqual([
      'exponential_backoff: StopFailure rate_limit',
      `session_pause: reset known from the transcript until ${new Date(resetAt).toISOString()}`,
    ]);

    // No more probes while paused, however long the backoff would have waited.
    scripted.script = () => ({ status: 'delivered' });
    await advance(600_000 - 1_000);
    expect(scripted.calls).toHaveLength(1);
    await advance(1_000);
    await bus.settled();
    expect(scripted.calls).toHaveLength(2);
    expect((await bus.status(id))!.deliveries[0].state).toBe('delivered');
    expect(bus.destinations().find((d) => d.address === TAB)!.hold).toBeUndefined();
  });

  it('graceful_degradation: waiting and new messages go to the fallback; after release, to the destination again', async () => {
    const { make, scripted } = busFixture();
    const bus = make();
    await bus.start();
    await bus.settled();
    let blocked = true;
    scripted.script = ({ recipient }) => (recipient === TAB && blocked ? { status: 'retry', reason: 'limited' } : { status: 'delivered' });
    const waiting = await bus.send({ from: SENDER, to: TAB, body: 'waiting' });
    await bus.settled();
    await bus.hold({ address: TAB, strategy: 'graceful_degradation', reason: 'limit', fallback: FALLBACK });
    const during = await bus.send({ from: SENDER, to: TAB, body: 'during' });
    await bus.settled();
    for (const id of [waiting.id, during.id]) {
      const deliveries = (await bus.status(id))!.deliveries;
      expect(deliveries.map((d) => [d.recipient, d.state])).toEqual([
        [FALLBACK, 'delivered'],
        [TAB, 'rerouted'],
      ]);
    }
    // The fallback counts among each message's recipients, whether re-routed on send or while waiting.
    const forFallback = await bus.list({ agent: FALLBACK });
    expect(forFallback.map((e) => e.message.id)).toEqual([during.id, waiting.id]);
    expect(forFallback.map((e) => e.deliveries.map((d) => d.recipient))).toEqual([[FALLBACK, TAB], [FALLBACK, TAB]]);
    await bus.release(TAB);
    blocked = false;
    const after = await bus.send({ from: SENDER, to: TAB, body: 'after' });
    await bus.settled();
    expect((await bus.status(after.id))!.deliveries.map((d) => [d.recipient, d.state])).toEqual([[TAB, 'delivered']]);
  });

  it('release sends the waiting messages at once, in their order', async () => {
    const { make, scripted } = busFixture();
    const bus = make();
    await bus.start();
    await bus.settled();
    await bus.hold({ address: TAB, strategy: 'session_pause', reason: 'pause', until: Date.now() + 10 * 3_600_000 });
    for (let i = 0; i < 5; i++) await bus.send({ from: SENDER, to: TAB, body: `m${i}` });
    await bus.settled();
    expect(scripted.calls).toHaveLength(0);
    await bus.release(TAB);
    await until(() => scripted.calls.length === 5);
    expect(scripted.calls.map((c) => c.text)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
  });

  it('rejects a hold that cannot work, and a release of what is not held changes nothing', async () => {
    const { make } = busFixture();
    const bus = make();
    await bus.start();
    await expect(bus.hold({ address: TAB, strategy: 'session_pause', reason: 'x' })).rejects.toThrow('invalid hold: until: session_pause needs until');
    expect((await bus.release(TAB)).hold).toBeUndefined();
  });
});

describe('routing rules in the bus', () => {
  it('applies stored rules in order to new messages, and survives a restart', async () => {
    const { make } = busFixture();
    const bus = make();
    await bus.start();
    await bus.putRule({ id: 'audit', name: 'copy prompts to audit', match: { kind: 'prompt' }, action: { type: 'add', recipients: ['test:local/audit'] } });
    await bus.putRule({ id: 'mute', name: 'drop bots', match: { to: 'api:*' }, action: { type: 'drop' } });
    const sent = await bus.send({ from: SENDER, to: ['api:laptop/bot', 'test:local/a'], kind: 'prompt', body: 'x' });
    expect(sent).toMatchObject({ recipients: ['test:local/a', 'test:local/audit'], routedBy: ['audit', 'mute'] });

    await bus.reorderRules(['mute', 'audit']);
    await expect(bus.reorderRules(['mute'])).rejects.toThrow('reorder needs every rule id once: mute, audit');
    await bus.deleteRule('audit');
    await expect(bus.deleteRule('audit')).rejects.toThrow('no rule audit');
    await expect(bus.putRule({ id: 'bad', name: 'bad', match: { text: '[' }, action: { type: 'drop' } })).rejects.toThrow('invalid rule: match.text');

    const restarted = make();
    await restarted.start();
    expect(restarted.listRules().map((r) => r.id)).toEqual(['mute']);
    expect((await restarted.send({ from: SENDER, to: ['api:laptop/bot', 'test:local/a'], body: 'y' })).recipients).toEqual(['test:local/a']);
  });
});

describe('order per destination', () => {
  it('keeps messages to one agent in order when retries would reorder them, across a restart', async () => {
    const jitter = [0.99, 0.01, 0.7, 0.2, 0.5];
    let n = 0;
    const { make, scripted, clock, advance } = busFixture({ random: () => jitter[n++ % jitter.length] });
    scripted.script = ({ attempt }) => (attempt === 1 ? { status: 'retry', reason: 'busy' } : { status: 'delivered' });
    const bus = make();
    await bus.start();
    await bus.settled();
    for (let i = 0; i < 5; i++) await bus.send({ from: SENDER, to: TAB, body: `m${i}` });
    await bus.settled();
    // A restart while the retries wait: the new worker rebuilds who waits behind whom.
    clock.dropTimers();
    const restarted = make();
    await restarted.start();
    for (let i = 0; i < 20; i++) await advance(1_000);
    await restarted.settled();
    const delivered = scripted.calls.filter((c) => c.attempt > 1).map((c) => c.text);
    expect(delivered).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
  });
});
