import { describe, expect, it } from 'vitest';
import { busFixture } from '../support/bus-fixture';
import { DEFAULT_TTL_MS } from '../../src/protocol/envelope';

const SENDER = 'extension:local/popup';
const CODE = 'claude-code:laptop/s1';
const HOUR = 3_600_000;

describe('TTL and the archive', () => {
  it('keeps a finished message for its TTL, then archives it with its deliveries and removes it from the live tables', async () => {
    const { make, clock, db } = busFixture();
    const bus = make();
    await bus.start();
    const { id } = await bus.send({ from: SENDER, to: CODE, body: 'short-lived note', ttl: 'short' });
    await bus.settled();
    const deliveredAt = clock.now();
    expect((await bus.status(id))!.deliveries[0].retainUntil).toBe(deliveredAt + DEFAULT_TTL_MS.short);

    await clock.advance(HOUR - 1);
    expect(await bus.sweep()).toEqual({ archived: 0, purged: 0 });
    await clock.advance(1);
    expect(await bus.sweep()).toEqual({ archived: 1, purged: 0 });
    expect(await bus.status(id)).toBeUndefined();
    expect(await db.deliveries.count()).toBe(0);
    expect(await bus.search('short')).toEqual([]);
    const [archived] = await bus.exportArchive();
    expect(archived).toMatchObject({ id, archivedAt: clock.now(), message: { body: { text: 'short-lived note' } }, deliveries: [{ state: 'delivered' }] });
    expect(archived.message).not.toHaveProperty('terms');
    expect(JSON.parse(JSON.stringify(archived))).toEqual(archived);
  });

  it('expires what was never delivered at its deadline, then archives it after the same period', async () => {
    const { make, scripted, advance } = busFixture({ retry: { maxAttempts: 1_000 } });
    const bus = make();
    await bus.start();
    scripted.script = () => ({ status: 'retry', reason: 'offline' });
    const { id } = await bus.send({ from: SENDER, to: CODE, body: 'never arrives', ttl: 'short' });
    for (let i = 0; i < 12; i++) await advance(5 * 60_000);
    expect((await bus.status(id))!.deliveries[0].state).toBe('expired');
    expect((await bus.sweep()).archived).toBe(0);
    for (let i = 0; i < 12; i++) await advance(5 * 60_000);
    expect((await bus.sweep()).archived).toBe(1);
    expect((await bus.exportArchive())[0].deliveries[0].state).toBe('expired');
  });

  it('waits for every delivery of a message; never archives permanent ones', async () => {
    const { make, scripted, clock } = busFixture();
    const bus = make();
    await bus.start();
    scripted.script = ({ recipient }) => (recipient === CODE ? { status: 'delivered' } : new Promise(() => {}));
    const both = await bus.send({ from: SENDER, to: [CODE, 'claude-code:laptop/slow'], body: 'two', ttl: 'short' });
    const forever = await bus.send({ from: SENDER, to: CODE, body: 'keep', ttl: 'permanent' });
    await bus.settled({ attempts: false });
    await clock.advance(10 * HOUR);
    expect((await bus.sweep()).archived).toBe(0);
    expect(await bus.status(both.id)).toBeDefined();
    const [kept] = (await bus.status(forever.id))!.deliveries;
    expect(kept.state).toBe('delivered');
    expect(kept).not.toHaveProperty('retainUntil');
  });

  it('archives a message every recipient of which a rule dropped, after its TTL', async () => {
    const { make, clock } = busFixture();
    const bus = make();
    await bus.start();
    await bus.putRule({ id: 'mute', name: 'mute', match: {}, action: { type: 'drop' } });
    const { id, recipients } = await bus.send({ from: SENDER, to: CODE, body: 'dropped', ttl: 'short' });
    expect(recipients).toEqual([]);
    await clock.advance(HOUR);
    expect((await bus.sweep()).archived).toBe(1);
    expect((await bus.exportArchive())[0]).toMatchObject({ id, deliveries: [] });
  });

  it('purges the archive after its own retention', async () => {
    const { make, clock } = busFixture({ archiveRetentionMs: 24 * HOUR });
    const bus = make();
    await bus.start();
    await bus.send({ from: SENDER, to: CODE, body: 'x', ttl: 'short' });
    await bus.settled();
    await clock.advance(HOUR);
    await bus.sweep();
    await clock.advance(24 * HOUR - 1);
    expect((await bus.sweep()).purged).toBe(0);
    await clock.advance(1);
    expect(await bus.sweep()).toEqual({ archived: 0, purged: 1 });
    expect(await bus.exportArchive()).toEqual([]);
  });

  it('makes each TTL configurable, kept across restarts, for messages sent from then on', async () => {
    const { make, clock } = busFixture();
    const bus = make();
    await bus.start();
    expect(await bus.configureRetention({ ttlMs: { short: 2 * HOUR } })).toEqual({
      ttlMs: { short: 2 * HOUR, medium: DEFAULT_TTL_MS.medium, long: DEFAULT_TTL_MS.long },
      archiveRetentionMs: 30 * 24 * HOUR,
    });
    await expect(bus.configureRetention({ ttlMs: { short: 5 } })).rejects.toThrow('invalid retention settings: ttlMs.short: at least a minute');
    await expect(bus.configureRetention({ ttlMs: { immediate: 1 } })).rejects.toThrow(/ttlMs: Unrecognized key: "immediate"/);
    const restarted = make();
    await restarted.start();
    const { id } = await restarted.send({ from: SENDER, to: 'claude-desktop:laptop/app', body: 'x', ttl: 'short' });
    expect((await restarted.status(id))!.deliveries[0].expiresAt).toBe(clock.now() + 2 * HOUR);
  });
});
