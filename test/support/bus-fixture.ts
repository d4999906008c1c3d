import { Bus, type BusOptions } from '../../src/bus/bus';
import type { AgentAdapter, DeliveryAttempt, DeliveryOutcome } from '../../src/bus/ports';
import { SwitchboardDb, TestSinkDb } from '../../src/storage/db';
import { DexieBusStore } from '../../src/storage/bus-store';
import { TestSinkAdapter } from '../../src/adapters/test-sink';
import { FakeClock } from './fake-clock';

let dbCount = 0;

/** A scriptable adapter for `claude-code` agents that records every call it gets. */
export class ScriptedAdapter implements AgentAdapter {
  readonly kind = 'claude-code' as const;
  readonly calls: { recipient: string; messageId: string; attempt: number; at: number; text: string }[] = [];
  /** decides each call's outcome; delivered by default */
  script: (attempt: DeliveryAttempt) => DeliveryOutcome | Promise<DeliveryOutcome> = () => ({ status: 'delivered' });

  constructor(private readonly clock: FakeClock) {}

  async deliver(attempt: DeliveryAttempt): Promise<DeliveryOutcome> {
    this.calls.push({
      recipient: attempt.recipient,
      messageId: attempt.envelope.id,
      attempt: attempt.attempt,
      at: this.clock.now(),
      text: attempt.envelope.body.text,
    });
    return this.script(attempt);
  }
}

/** A bus over a fresh fake-indexeddb database, a fake clock, the test sink and a scripted adapter. */
export function busFixture(options: Partial<BusOptions> = {}) {
  const name = `switchboard-test-${++dbCount}-${Math.random()}`;
  const db = new SwitchboardDb(name);
  const sinkDb = new TestSinkDb(`${name}-sink`);
  const clock = new FakeClock();
  const store = new DexieBusStore(db);
  const scripted = new ScriptedAdapter(clock);
  let latest: Bus | undefined;
  /** A new bus over the same store and clock (a restarted worker); `sink` replaces the test sink. */
  const make = (sink?: (ack: (id: string, recipient: string) => Promise<unknown>) => AgentAdapter) => {
    const ack = (id: string, recipient: string) => bus.ack(id, recipient);
    const bus: Bus = new Bus({
      store,
      clock,
      adapters: [scripted, sink ? sink(ack) : new TestSinkAdapter(sinkDb, ack)],
      random: () => 0.5,
      ...options,
    });
    latest = bus;
    return bus;
  };
  /** Moves the clock, letting the latest bus finish what each timer starts. */
  const advance = (ms: number) => clock.advance(ms, () => latest?.settled() ?? Promise.resolve());
  return { db, sinkDb, clock, store, scripted, make, advance };
}

export async function until(condition: () => Promise<boolean> | boolean, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
