import { describe, expect, it } from 'vitest';
import { BUSY_RECHECK_MS } from '../../src/bus/bus';
import type { DeliveryAttempt, DeliveryOutcome } from '../../src/bus/ports';
import { busFixture, ScriptedAdapter } from '../support/bus-fixture';
import type { FakeClock } from '../support/fake-clock';

const A = 'claude-code:local/conversation-a';
const B = 'claude-code:local/conversation-b';
const FROM = 'extension:local/popup';

/** An agent that answers one prompt at a time, like a claude.ai conversation: busy from the attempt until `finish`. */
class OneAtATime extends ScriptedAdapter {
  readonly working = new Map<string, string>();
  readonly reserved: string[] = [];
  onFree: (recipient: string) => Promise<void> = async () => {};

  constructor(clock: FakeClock) {
    super(clock);
  }

  busy(recipient: string): string | undefined {
    return this.working.has(recipient) ? `answering ${this.working.get(recipient)}` : undefined;
  }

  reserve(recipient: string): void {
    this.reserved.push(recipient);
    this.working.set(recipient, 'a prompt');
  }

  override async deliver(attempt: DeliveryAttempt): Promise<DeliveryOutcome> {
    const outcome = await super.deliver(attempt);
    if (outcome.status !== 'delivered') void this.finish(attempt.recipient);
    return outcome;
  }

  finish(recipient: string): Promise<void> {
    this.working.delete(recipient);
    return this.onFree(recipient);
  }
}

function fixture() {
  const base = busFixture();
  const agent = new OneAtATime(base.clock);
  const bus = base.make(() => agent);
  // The adapter stands in for claude-code here; the test sink is not needed.
  (bus as unknown as { adapters: Map<string, unknown> }).adapters.set('claude-code', agent);
  agent.onFree = (recipient) => bus.reachable([recipient]);
  return { ...base, agent, bus };
}

describe('agents that take one message at a time', () => {
  it('get the next message only when the last is finished, most urgent first', async () => {
    const { agent, bus, advance } = fixture();
    await bus.start();
    const first = await bus.send({ from: FROM, to: A, body: 'first' });
    await advance(0);
    const low = await bus.send({ from: FROM, to: A, body: 'low', priority: 'low' });
    const urgent = await bus.send({ from: FROM, to: A, body: 'urgent', priority: 'high' });
    await advance(0);
    expect(agent.calls.map((c) => c.text)).toEqual(['first']);
    const waiting = (await bus.status(low.id))!.deliveries[0];
    expect(waiting.state).toBe('queued');
    expect(waiting.history.at(-1)!.note).toBe('waiting: answering a prompt');
    expect(waiting.attempts).toBe(0); // waiting for a busy agent uses up no attempt

    await agent.finish(A);
    await advance(0);
    expect(agent.calls.map((c) => c.text)).toEqual(['first', 'urgent']);
    await agent.finish(A);
    await advance(0);
    expect(agent.calls.map((c) => c.text)).toEqual(['first', 'urgent', 'low']);
    expect((await bus.status(first.id))!.deliveries[0].state).toBe('delivered');
    expect((await bus.status(urgent.id))!.deliveries[0].state).toBe('delivered');
  });

  it('keep other agents going while one is busy', async () => {
    const { agent, bus, advance } = fixture();
    await bus.start();
    await bus.send({ from: FROM, to: [A, B], body: 'to both' });
    await advance(0);
    await bus.send({ from: FROM, to: [A, B], body: 'second to both' });
    await advance(0);
    expect(agent.calls.map((c) => `${c.recipient} ${c.text}`).sort()).toEqual([`${A} to both`, `${B} to both`]);
    await agent.finish(B);
    await advance(0);
    expect(agent.calls.filter((c) => c.recipient === B).map((c) => c.text)).toEqual(['to both', 'second to both']);
    expect(agent.calls.filter((c) => c.recipient === A)).toHaveLength(1);
  });

  it('look again after BUSY_RECHECK_MS when no wake-up comes', async () => {
    const { agent, bus, advance } = fixture();
    await bus.start();
    await bus.send({ from: FROM, to: A, body: 'first' });
    await advance(0);
    await bus.send({ from: FROM, to: A, body: 'second' });
    await advance(0);
    agent.working.delete(A); // freed without telling the bus
    await advance(BUSY_RECHECK_MS - 1);
    expect(agent.calls).toHaveLength(1);
    await advance(1);
    expect(agent.calls.map((c) => c.text)).toEqual(['first', 'second']);
  });

  it('are not reserved by a delivery that a hold keeps back', async () => {
    const { agent, bus, advance, clock } = fixture();
    await bus.start();
    await bus.hold({ address: A, strategy: 'session_pause', reason: 'usage limit', until: clock.now() + 60_000 });
    const held = await bus.send({ from: FROM, to: A, body: 'held' });
    await advance(0);
    expect(agent.reserved).toEqual([]);
    expect(agent.busy(A)).toBeUndefined();
    await advance(60_000);
    expect(agent.calls.map((c) => c.text)).toEqual(['held']);
    expect((await bus.status(held.id))!.deliveries[0].state).toBe('delivered');
  });

  it('are free again after a failed attempt, and the retry keeps its place', async () => {
    const { agent, bus, advance } = fixture();
    let fail = true;
    agent.script = () => (fail ? { status: 'retry', reason: 'the tab is loading' } : { status: 'delivered' });
    await bus.start();
    await bus.send({ from: FROM, to: A, body: 'first' });
    await advance(0);
    await bus.send({ from: FROM, to: A, body: 'second' });
    fail = false;
    await advance(0);
    expect(agent.calls.map((c) => c.text)).toEqual(['first']); // "second" waits behind the retry
    await advance(2_000);
    expect(agent.calls.map((c) => c.text)).toEqual(['first', 'first']);
    await agent.finish(A);
    await advance(0);
    expect(agent.calls.map((c) => c.text)).toEqual(['first', 'first', 'second']);
  });
});
