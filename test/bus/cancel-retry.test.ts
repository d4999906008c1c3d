import { describe, expect, it } from 'vitest';
import { CANCELLED } from '../../src/bus/delivery';
import { busFixture } from '../support/bus-fixture';

const TO = 'claude-code:local/session-1';
const OTHER = 'claude-code:local/session-2';
const FROM = 'extension:local/popup';

describe('the person cancels and tries again', () => {
  it('cancels the unfinished deliveries of a message, to one recipient or all, and leaves finished ones', async () => {
    const { make, scripted, advance } = busFixture();
    scripted.script = (a) => (a.recipient === OTHER ? { status: 'delivered' } : { status: 'retry', reason: 'not now' });
    const bus = make();
    await bus.start();
    const { id } = await bus.send({ from: FROM, to: [TO, OTHER], body: 'hi' });
    await advance(0);
    const after = await bus.cancel(id, TO);
    expect(after.find((d) => d.recipient === TO)).toMatchObject({ state: 'failed', lastError: CANCELLED });
    expect(after.find((d) => d.recipient === TO)!.history.at(-1)).toMatchObject({ state: 'failed', note: CANCELLED });
    expect(after.find((d) => d.recipient === OTHER)!.state).toBe('delivered');
    const calls = scripted.calls.length;
    await advance(60_000);
    expect(scripted.calls.length).toBe(calls); // no retry after the cancel
    expect((await bus.cancel(id)).map((d) => d.state).sort()).toEqual(['delivered', 'failed']); // the finished one stays
  });

  it('cancels an attempt in flight: its late outcome changes nothing', async () => {
    const { make, scripted, advance } = busFixture();
    let finish!: () => void;
    scripted.script = () => new Promise((resolve) => (finish = () => resolve({ status: 'delivered' })));
    const bus = make();
    await bus.start();
    const { id } = await bus.send({ from: FROM, to: TO, body: 'hi' });
    await new Promise((resolve) => setTimeout(resolve, 20)); // the attempt is out, and stays out
    expect(scripted.calls).toHaveLength(1);
    await bus.cancel(id);
    finish();
    await advance(0);
    expect((await bus.status(id))!.deliveries[0].state).toBe('failed');
    // The outcome was written as if nothing had changed, found the cancel, and was read again.
    expect(bus.metrics.changeRereads).toBe(1);
  });

  it('tries a failed delivery again with all its attempts and a new deadline', async () => {
    const { make, scripted, advance, clock } = busFixture();
    let refuse = true;
    scripted.script = () => (refuse ? { status: 'failed', reason: 'refused' } : { status: 'delivered' });
    const bus = make();
    await bus.start();
    const { id } = await bus.send({ from: FROM, to: TO, body: 'hi', ttl: 'short' });
    await advance(0);
    expect((await bus.status(id))!.deliveries[0].state).toBe('failed');
    refuse = false;
    await advance(2 * 3_600_000); // past the original deadline
    const queued = await bus.tryAgain(id, TO);
    expect(queued).toMatchObject({ state: 'queued', attempts: 0, expiresAt: clock.now() + 3_600_000 });
    expect(queued.lastError).toBeUndefined();
    await advance(0);
    expect((await bus.status(id))!.deliveries[0]).toMatchObject({ state: 'delivered', attempts: 1 });
  });

  it('refuses to try again what is not failed or expired, and names what is not there', async () => {
    const { make, advance } = busFixture();
    const bus = make();
    await bus.start();
    const { id } = await bus.send({ from: FROM, to: TO, body: 'hi' });
    await advance(0);
    await expect(bus.tryAgain(id, TO)).rejects.toThrow(/is delivered: only a failed or expired one can be tried again/);
    await expect(bus.tryAgain(id, OTHER)).rejects.toThrow(`${id} was not sent to ${OTHER}; its recipients: ${TO}`);
    await expect(bus.cancel('01a1fd32-cfce-751b-8b7b-924c144caee8')).rejects.toThrow('no message 01a1fd32-cfce-751b-8b7b-924c144caee8');
  });

  it("clears every message and the archive, keeping rules and holds, and goes on working", async () => {
    const { make, advance, clock } = busFixture();
    const bus = make();
    await bus.start();
    await bus.putRule({ id: 'copy', name: 'copy', match: {}, action: { type: 'add', recipients: [OTHER] } });
    await bus.hold({ address: 'claude-code:local/held', strategy: 'session_pause', reason: 'limit', until: clock.now() + 60_000 });
    await bus.send({ from: FROM, to: TO, body: 'one' });
    await bus.send({ from: FROM, to: 'claude-code:local/held', body: 'held' });
    await advance(0);
    await bus.clearMessages();
    expect(await bus.list({})).toEqual([]);
    expect(await bus.search('one', 10)).toEqual([]);
    expect(Object.values(await bus.counts()).reduce((a, b) => a + b, 0)).toBe(0);
    expect(bus.listRules()).toHaveLength(1);
    expect(bus.destinations().find((d) => d.address === 'claude-code:local/held')!.hold).toBeDefined();
    const { id } = await bus.send({ from: FROM, to: TO, body: 'after' });
    await advance(0);
    expect((await bus.status(id))!.deliveries.map((d) => d.state)).toEqual(['delivered', 'delivered']);
  });
});
