import { describe, expect, it } from 'vitest';
import { busFixture } from '../support/bus-fixture';

const TO = 'claude-code:local/session-1';

describe('a delivery the agent side holds (pending)', () => {
  it('stays sent until confirmed, then is delivered and waits for its ack', async () => {
    const { make, scripted, advance } = busFixture();
    scripted.script = () => ({ status: 'pending', note: "in the session's mailbox until its next hook point" });
    const bus = make();
    await bus.start();
    const { id } = await bus.send({ from: 'extension:local/popup', to: TO, body: 'hi', ackRequired: true });
    await advance(0);
    let [delivery] = (await bus.status(id))!.deliveries;
    expect(delivery).toMatchObject({ state: 'sent', pending: true, attempts: 1 });
    expect(delivery.history.at(-1)!.note).toBe("in the session's mailbox until its next hook point");

    await advance(60_000); // a minute: no retry, no failure while the agent side holds it
    expect(scripted.calls).toHaveLength(1);

    delivery = await bus.confirmDelivered(id, TO);
    expect(delivery).toMatchObject({ state: 'delivered' });
    expect(delivery.pending).toBeUndefined();
    expect(await bus.confirmDelivered(id, TO)).toMatchObject({ state: 'delivered' }); // a repeat changes nothing
    await bus.ack(id, TO);
    expect((await bus.status(id))!.deliveries[0].state).toBe('acked');
  });

  it('asks the agent side again after pendingCheckMs, using up no attempt, until the TTL ends it', async () => {
    const { make, scripted, advance } = busFixture({ retry: { maxAttempts: 2, baseDelayMs: 1_000, factor: 2, maxDelayMs: 60_000, attemptTimeoutMs: 30_000, ackTimeoutMs: 60_000, pendingCheckMs: 600_000 } });
    scripted.script = () => ({ status: 'pending', note: 'held' });
    const bus = make();
    await bus.start();
    const { id } = await bus.send({ from: 'extension:local/popup', to: TO, body: 'hi', ttl: 'short' });
    await advance(0);
    for (let i = 0; i < 5; i++) await advance(600_000);
    expect(scripted.calls.length).toBeGreaterThanOrEqual(5); // asked again each check, never failed for attempts
    expect((await bus.status(id))!.deliveries[0].state).toBe('sent');
    await advance(3_600_000); // the `short` TTL (1 h) has passed
    expect((await bus.status(id))!.deliveries[0].state).toBe('expired');
  });

  it('survives a worker restart still pending (not an interrupted attempt)', async () => {
    const { make, scripted, advance } = busFixture();
    scripted.script = () => ({ status: 'pending', note: 'held' });
    const first = make();
    await first.start();
    const { id } = await first.send({ from: 'extension:local/popup', to: TO, body: 'hi' });
    await advance(0);
    const second = make();
    await second.start();
    await advance(0);
    expect((await second.status(id))!.deliveries[0]).toMatchObject({ state: 'sent', pending: true, attempts: 1 });
    expect(scripted.calls).toHaveLength(1);
  });

  it('refuses a confirmation for a message never sent to that agent', async () => {
    const { make } = busFixture();
    const bus = make();
    await bus.start();
    await expect(bus.confirmDelivered('01a1fbe9-f0b9-77e0-a061-3e29221f0351', TO)).rejects.toThrow();
  });
});
