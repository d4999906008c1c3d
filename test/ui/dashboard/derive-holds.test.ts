import { describe, expect, it } from 'vitest';
import { alertRows, holdFromForm, holdRows, historyRows, recoveredRows } from '../../../src/ui/dashboard/derive-holds';
import { newDestination, type DestinationRecord } from '../../../src/bus/destinations';

const NOW = Date.UTC(2026, 10, 21, 12);
const A = 'claude-code:local/aaa';
const B = 'claude-ai:local/chat-1';
const C = 'api:local/bot';

const paused: DestinationRecord = {
  ...newDestination(A),
  hold: { strategy: 'session_pause', reason: 'rate limit', since: NOW - 60_000, until: NOW + 4 * 60_000 + 3_000, probes: 0 },
  history: [
    { at: NOW - 60_000, event: 'held', note: 'rate limit' },
    { at: NOW - 120_000, event: 'released' },
  ],
};
const backingOff: DestinationRecord = {
  ...newDestination(B),
  hold: { strategy: 'exponential_backoff', reason: 'usage limit', since: NOW - 30_000, probes: 2, nextProbeAt: NOW + 20_000 },
};
const open: DestinationRecord = {
  ...newDestination(C),
  breaker: 'open',
  failures: 5,
  trips: 1,
  reopenAt: NOW + 30_000,
  history: [{ at: NOW - 1_000, event: 'opened', note: '5 failures in a row (last: ECONNREFUSED); probe in 30000 ms' }],
};

describe('holds', () => {
  it('lists held destinations first, soonest end first, then open circuits, with a countdown and what the strategy does', () => {
    const rows = holdRows([open, backingOff, paused, newDestination('test:local/fine')], NOW);
    expect(rows.map((r) => [r.address, r.status])).toEqual([
      [B, 'held'],
      [A, 'held'],
      [C, 'circuit open'],
    ]);
    expect(rows[1]).toMatchObject({ strategy: 'session_pause', reason: 'rate limit', until: NOW + 243_000, countdown: 'in 4 min 03 s' });
    expect(rows[1].doing).toMatch(/go on by themselves when the limit resets/);
    expect(rows[0]).toMatchObject({ countdown: 'next probe in 20 s' });
    expect(rows[0].doing).toMatch(/2 failed so far/);
    expect(rows[2]).toMatchObject({ reason: '5 failures in a row (last: ECONNREFUSED); probe in 30000 ms', countdown: 'probe in 30 s' });
  });

  it('counts down to the end and says when it has passed', () => {
    expect(holdRows([paused], NOW + 243_000)[0].countdown).toBe('resuming now');
    const forever: DestinationRecord = { ...newDestination(A), hold: { strategy: 'graceful_degradation', reason: 'broken', since: NOW, fallback: C, probes: 0 } };
    expect(holdRows([forever], NOW)[0]).toMatchObject({ countdown: 'until released', fallback: C, doing: `Held work goes to ${C} until the hold ends.` });
    const probing = { ...backingOff, probing: true };
    expect(holdRows([probing], NOW)[0].countdown).toBe('a probe is out now');
  });

  it('shows half-open and failing destinations, and leaves healthy ones out', () => {
    const halfOpen = { ...newDestination(C), breaker: 'half-open' as const };
    const failing = { ...newDestination(A), failures: 1 };
    expect(holdRows([halfOpen, failing], NOW).map((r) => [r.status, r.reason])).toEqual([
      ['half-open', 'recovering after failures'],
      ['failing', '1 failed attempt in a row'],
    ]);
  });

  it('gives the history newest first, and the recovered destinations with theirs', () => {
    expect(historyRows(paused).map((h) => h.event)).toEqual(['held', 'released']);
    const recovered = { ...newDestination(B), history: [{ at: NOW - 5, event: 'closed' as const }] };
    expect(recoveredRows([recovered, paused, newDestination(C)])).toEqual([{ address: B, history: [expect.objectContaining({ event: 'closed', at: NOW - 5 })] }]);
  });

  it('ignores what is not a destination record', () => {
    expect(holdRows(null, NOW)).toEqual([]);
    expect(holdRows([null, { nope: 1 }, 'x'], NOW)).toEqual([]);
    expect(historyRows({ history: [null, { at: 'x' }] as never })).toEqual([]);
    expect(recoveredRows('x')).toEqual([]);
  });
});

describe('the hold form', () => {
  const form = { address: A, strategy: 'session_pause' as const, reason: 'lunch', minutes: '30', fallback: '' };
  it('makes a hold request that ends the given minutes from now', () => {
    expect(holdFromForm(form, NOW)).toEqual({ hold: { address: A, strategy: 'session_pause', reason: 'lunch', until: NOW + 30 * 60_000 }, errors: {} });
  });

  it('names each field that is wrong, in the words of the hub’s schema', () => {
    expect(holdFromForm({ ...form, minutes: '' }, NOW).errors).toEqual({ minutes: 'session_pause needs until: the time to resume' });
    expect(holdFromForm({ ...form, minutes: '-3' }, NOW).errors.minutes).toBe('expected a number of minutes above 0');
    expect(holdFromForm({ ...form, address: 'nobody' }, NOW).errors.address).toMatch(/agent address/);
    expect(holdFromForm({ ...form, reason: ' ' }, NOW).errors.reason).toBeTruthy();
    expect(holdFromForm({ ...form, strategy: 'graceful_degradation', minutes: '' }, NOW).errors).toEqual({
      fallback: 'graceful_degradation needs fallback: the agent that takes the held work',
    });
    expect(holdFromForm({ ...form, strategy: 'graceful_degradation', fallback: A }, NOW).errors).toEqual({ fallback: 'fallback must be another agent' });
  });
});

describe('usage alerts', () => {
  it('lists current and past alerts once each, newest first', () => {
    const alert = { kind: 'cost', severity: 'warning', text: 'Cost $51 in this block', value: 51, threshold: 50, blockId: 'b1', at: NOW };
    const old = { ...alert, kind: 'tokens', severity: 'critical', text: 'Tokens over the limit', at: NOW - 9e6, blockId: 'b0' };
    const rows = alertRows({ alerts: [alert], history: [alert, old, { text: 5 }, null] });
    expect(rows.map((r) => [r.text, r.severity, r.current])).toEqual([
      ['Cost $51 in this block', 'warning', true],
      ['Tokens over the limit', 'critical', false],
    ]);
    expect(alertRows(null)).toEqual([]);
    expect(alertRows({ alerts: 'x' })).toEqual([]);
  });
});
