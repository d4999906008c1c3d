import { describe, expect, it } from 'vitest';
import { DEFAULT_BREAKER_POLICY as policy, failed, gate, hold, HoldRequest, newDestination, release, succeeded } from '../../src/bus/destinations';
import { parseOrThrow } from '../../src/protocol/envelope';

const ADDRESS = 'claude-ai:laptop/chat-1';
const T = 1_000_000;

function failTimes(n: number, at = T) {
  let record = newDestination(ADDRESS);
  for (let i = 0; i < n; i++) record = failed(record, at, 'rate limited', policy);
  return record;
}

describe('the circuit breaker', () => {
  it('stays closed below the threshold and opens at it', () => {
    expect(failTimes(policy.failureThreshold - 1)).toMatchObject({ breaker: 'closed', failures: 4 });
    const open = failTimes(policy.failureThreshold);
    expect(open).toMatchObject({ breaker: 'open', trips: 1, reopenAt: T + policy.coolDownMs });
    expect(open.history.at(-1)).toMatchObject({ event: 'opened', note: expect.stringContaining('5 failures in a row (last: rate limited)') });
  });

  it('lets nothing through while open, then one probe when half-open', () => {
    const open = failTimes(policy.failureThreshold);
    expect(gate(open, T + 1)).toMatchObject({ open: false, until: T + policy.coolDownMs, reason: 'circuit open after repeated failures' });
    const probe = gate(open, T + policy.coolDownMs);
    expect(probe).toMatchObject({ open: true, probe: true, record: { breaker: 'half-open', probing: true } });
    expect(gate(probe.record, T + policy.coolDownMs)).toMatchObject({ open: false, reason: 'circuit half-open: a probe is out' });
  });

  it('closes when the probe works; reopens for twice as long when it fails', () => {
    const probing = gate(failTimes(policy.failureThreshold), T + policy.coolDownMs).record;
    expect(succeeded(probing, T + 40_000)).toMatchObject({ breaker: 'closed', failures: 0, trips: 0, probing: false });
    const again = failed(probing, T + 40_000, 'still limited', policy);
    expect(again).toMatchObject({ breaker: 'open', trips: 2, reopenAt: T + 40_000 + 2 * policy.coolDownMs });
  });

  it('caps the cool-down', () => {
    let record = failTimes(policy.failureThreshold);
    for (let i = 0; i < 20; i++) record = failed(gate(record, record.reopenAt!).record, record.reopenAt!, 'x', policy);
    expect(record.reopenAt! - record.history.at(-1)!.at).toBe(policy.maxCoolDownMs);
  });
});

describe('holds', () => {
  const request = (input: object) => parseOrThrow(HoldRequest, { address: ADDRESS, reason: 'usage limit', ...input }, 'hold');

  it('session_pause waits until the reset time, then ends by itself', () => {
    const held = hold(newDestination(ADDRESS), request({ strategy: 'session_pause', until: T + 60_000 }), T, policy);
    expect(gate(held, T + 59_999)).toMatchObject({ open: false, until: T + 60_000, reason: 'held (usage limit)' });
    const after = gate(held, T + 60_000);
    expect(after).toMatchObject({ open: true, probe: false });
    expect(after.record.hold).toBeUndefined();
    expect(after.record.history.map((h) => h.event)).toEqual(['held', 'released']);
  });

  it('exponential_backoff sends one probe at growing intervals, released when one works', () => {
    let record = hold(newDestination(ADDRESS), request({ strategy: 'exponential_backoff' }), T, policy);
    expect(gate(record, T)).toMatchObject({ open: false, until: T + policy.probeBaseMs });
    let at = T + policy.probeBaseMs;
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) {
      const probe = gate(record, at);
      expect(probe).toMatchObject({ open: true, probe: true });
      expect(gate(probe.record, at)).toMatchObject({ open: false }); // one probe at a time
      record = failed(probe.record, at, 'limited', policy);
      waits.push(record.hold!.nextProbeAt! - at);
      at = record.hold!.nextProbeAt!;
    }
    expect(waits).toEqual([5_000, 10_000, 20_000, 40_000]);
    const works = succeeded(gate(record, at).record, at);
    expect(works.hold).toBeUndefined();
    expect(works.history.at(-1)).toMatchObject({ event: 'released', note: 'a probe got through' });
  });

  it('exponential_backoff held again soon after a probe released it goes on growing; much later it starts over', () => {
    // A probe "got through" (the agent's side took it), but the agent failed again afterwards.
    let record = hold(newDestination(ADDRESS), request({ strategy: 'exponential_backoff' }), T, policy);
    let at = T;
    const waits: number[] = [];
    for (let i = 0; i < 3; i++) {
      at = record.hold!.nextProbeAt!;
      record = succeeded(gate(record, at).record, at);
      expect(record.hold).toBeUndefined();
      record = hold(record, request({ strategy: 'exponential_backoff' }), at + 1_000, policy);
      waits.push(record.hold!.nextProbeAt! - (at + 1_000));
    }
    expect(waits).toEqual([10_000, 20_000, 40_000]);
    at = record.hold!.nextProbeAt!;
    record = succeeded(gate(record, at).record, at);
    const later = hold(record, request({ strategy: 'exponential_backoff' }), at + policy.maxCoolDownMs, policy);
    expect(later.hold).toMatchObject({ probes: 0, nextProbeAt: at + policy.maxCoolDownMs + policy.probeBaseMs });
  });

  it('exponential_backoff asked for again while it backs off goes on as it was', () => {
    let record = hold(newDestination(ADDRESS), request({ strategy: 'exponential_backoff' }), T, policy);
    for (let i = 0; i < 2; i++) record = failed(gate(record, record.hold!.nextProbeAt!).record, record.hold!.nextProbeAt!, 'limited', policy);
    const before = record.hold!;
    const again = hold(record, request({ strategy: 'exponential_backoff', reason: 'limited again' }), before.nextProbeAt! - 1, policy);
    expect(again.hold).toMatchObject({ probes: 2, nextProbeAt: before.nextProbeAt, since: before.since, reason: 'limited again' });
  });

  it('graceful_degradation sends held work to the fallback until released', () => {
    const held = hold(newDestination(ADDRESS), request({ strategy: 'graceful_degradation', fallback: 'claude-code:laptop/s2' }), T, policy);
    expect(gate(held, T + 1)).toMatchObject({ open: false, reroute: 'claude-code:laptop/s2' });
    expect(gate(release(held, T + 2, 'released'), T + 2)).toMatchObject({ open: true, probe: false });
  });

  it('rejects holds that cannot work, naming the field', () => {
    expect(() => request({ strategy: 'session_pause' })).toThrow('invalid hold: until: session_pause needs until: the time to resume');
    expect(() => request({ strategy: 'graceful_degradation' })).toThrow('invalid hold: fallback: graceful_degradation needs fallback');
    expect(() => request({ strategy: 'graceful_degradation', fallback: ADDRESS })).toThrow('invalid hold: fallback: fallback must be another agent');
    expect(() => request({ strategy: 'snooze' })).toThrow(/^invalid hold: strategy: /);
  });
});

describe('records that do not change', () => {
  it('keeps a healthy destination the same object on success, so nothing is written', () => {
    const healthy = newDestination(ADDRESS);
    expect(succeeded(healthy, T)).toBe(healthy);
    expect(gate(healthy, T).record).toBe(healthy);
    const recovering = failed(healthy, T, 'x', policy);
    expect(succeeded(recovering, T)).not.toBe(recovering);
  });
});
