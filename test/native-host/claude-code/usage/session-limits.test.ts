import { describe, expect, it } from 'vitest';
import {
  INITIAL_LIMITS_STATE,
  LIMITED_FOR_MS,
  STALE_EVENT_MS,
  limitedSessions,
  readingReset,
  takeHook,
  takeReading,
  takeTranscript,
  type SessionLimitsState,
} from '../../../../native-host/claude-code/usage/session-limits';
import type { RateLimitEvent, RateLimitReading } from '../../../../native-host/claude-code/usage';

const NOW = Date.parse('2026-11-21T10:00:00Z');
const MIN = 60_000;
const TEXT = 'API Error: Request rejected (429) · This request would exceed your rate limit.';

const event = (over: Partial<RateLimitEvent> = {}): RateLimitEvent => ({
  key: 'uuid-1',
  sessionId: 's-1',
  at: NOW - MIN,
  status: 429,
  text: TEXT,
  resetsAt: null,
  limit: null,
  cwd: '/w',
  ...over,
});
const reading = (fiveHour: number, resetsAt: number | null, sevenDay?: { used: number; resetsAt: number }): RateLimitReading => ({
  at: NOW,
  fiveHour: { usedPercentage: fiveHour, resetsAt },
  sevenDay: sevenDay ? { usedPercentage: sevenDay.used, resetsAt: sevenDay.resetsAt } : null,
  problems: [],
});
const transcript = (state: SessionLimitsState, events: RateLimitEvent[], options: { answered?: [string, number][]; reading?: RateLimitReading | null; now?: number } = {}) =>
  takeTranscript(state, { events, answeredAt: new Map(options.answered ?? []), reading: options.reading ?? null, now: options.now ?? NOW });
const hook = (state: SessionLimitsState, name: string, extra: { error?: string; resetsAt?: number | null; at?: number; reading?: RateLimitReading | null } = {}) =>
  takeHook(state, { sessionId: 's-1', event: name, error: extra.error, resetsAt: extra.resetsAt ?? null, text: TEXT, at: extra.at ?? NOW, reading: extra.reading ?? null, now: NOW });

describe('holds for rate-limited sessions', () => {
  it('holds a session whose transcript shows a limit, the hook missed: a backoff without a reset time, once', () => {
    const first = transcript(INITIAL_LIMITS_STATE, [event()]);
    expect(first.holds).toEqual([{ sessionId: 's-1', strategy: 'exponential_backoff', reason: `Claude Code hit a rate limit: ${TEXT}; no reset time known, probing` }]);
    expect(limitedSessions(first.state, NOW)).toEqual([
      { sessionId: 's-1', since: NOW - MIN, resetsAt: null, text: TEXT, held: { strategy: 'exponential_backoff', until: null, by: 'host' } },
    ]);
    // Read again (a restart before the offsets were saved, a replaced file): nothing more.
    expect(transcript(first.state, [event()]).holds).toEqual([]);
    // The state survives as JSON.
    expect(transcript(JSON.parse(JSON.stringify(first.state)), [event()]).holds).toEqual([]);
  });

  it('pauses until the reset time the line carries, when it is in the future', () => {
    const resetsAt = NOW + 90 * MIN;
    const { holds, state } = transcript(INITIAL_LIMITS_STATE, [event({ resetsAt })]);
    expect(holds).toEqual([{ sessionId: 's-1', strategy: 'session_pause', until: resetsAt, reason: `Claude Code hit a rate limit: ${TEXT}; resets 2026-11-21T11:30:00.000Z` }]);
    expect(state.sessions['s-1'].held).toEqual({ strategy: 'session_pause', until: resetsAt, by: 'host' });
  });

  it('takes a full window of the status line for the reset of a line that has none', () => {
    const resetsAt = NOW + 30 * MIN;
    expect(transcript(INITIAL_LIMITS_STATE, [event()], { reading: reading(100, resetsAt) }).holds).toEqual([expect.objectContaining({ strategy: 'session_pause', until: resetsAt })]);
    expect(transcript(INITIAL_LIMITS_STATE, [event()], { reading: reading(99, resetsAt) }).holds).toEqual([expect.objectContaining({ strategy: 'exponential_backoff' })]);
  });

  it('leaves history alone: a reset already past, an old line without one, a limit the session got past', () => {
    expect(transcript(INITIAL_LIMITS_STATE, [event({ resetsAt: NOW - 1 })]).holds).toEqual([]);
    expect(transcript(INITIAL_LIMITS_STATE, [event({ at: NOW - STALE_EVENT_MS - 1 })]).holds).toEqual([]);
    const after = transcript(INITIAL_LIMITS_STATE, [event()], { answered: [['s-1', NOW - MIN + 5_000]] });
    expect(after.holds).toEqual([]);
    expect(limitedSessions(after.state, NOW)).toEqual([]);
    // An answer before the limit does not end it.
    expect(transcript(INITIAL_LIMITS_STATE, [event()], { answered: [['s-1', NOW - 2 * MIN]] }).holds).toHaveLength(1);
  });

  it('ends a limit when a later response of the session gets through', () => {
    const limited = transcript(INITIAL_LIMITS_STATE, [event()]).state;
    const later = transcript(limited, [], { answered: [['s-1', NOW]] });
    expect(limitedSessions(later.state, NOW)).toEqual([]);
    expect(takeReading(later.state, reading(100, NOW + MIN), NOW).holds).toEqual([]);
  });

  it("notes the hub's own backoff after a StopFailure, so the transcript line of that limit asks for no second one", () => {
    const failed = hook(INITIAL_LIMITS_STATE, 'StopFailure', { error: 'rate_limit' });
    expect(failed.holds).toEqual([]);
    expect(failed.state.sessions['s-1'].held).toEqual({ strategy: 'exponential_backoff', until: null, by: 'hub' });
    expect(transcript(failed.state, [event()]).holds).toEqual([]);
    // …but a reset time learnt from the line replaces the backoff with a pause.
    expect(transcript(failed.state, [event({ resetsAt: NOW + 10 * MIN })]).holds).toEqual([expect.objectContaining({ strategy: 'session_pause', until: NOW + 10 * MIN })]);
    // Other failures and events are no limit.
    expect(hook(INITIAL_LIMITS_STATE, 'StopFailure', { error: 'server_error' }).state.sessions).toEqual({});
    expect(hook(INITIAL_LIMITS_STATE, 'PreToolUse').state.sessions).toEqual({});
  });

  it('pauses a StopFailure at once when the status line already shows the full window, and a reset in the payload is the hub\'s own pause', () => {
    expect(hook(INITIAL_LIMITS_STATE, 'StopFailure', { error: 'rate_limit', reading: reading(100, NOW + 20 * MIN) }).holds).toEqual([
      expect.objectContaining({ sessionId: 's-1', strategy: 'session_pause', until: NOW + 20 * MIN }),
    ]);
    const own = hook(INITIAL_LIMITS_STATE, 'StopFailure', { error: 'rate_limit', resetsAt: NOW + 5 * MIN });
    expect(own.holds).toEqual([]);
    expect(own.state.sessions['s-1'].held).toEqual({ strategy: 'session_pause', until: NOW + 5 * MIN, by: 'hub' });
  });

  it('turns a full window in a new status line into a pause for every limited session, once per reset time', () => {
    let state = transcript(INITIAL_LIMITS_STATE, [event(), event({ key: 'uuid-2', sessionId: 's-2' })]).state;
    const resetsAt = NOW + 45 * MIN;
    const first = takeReading(state, reading(100, resetsAt), NOW);
    expect(first.holds.map((h) => [h.sessionId, h.strategy, h.until])).toEqual([
      ['s-1', 'session_pause', resetsAt],
      ['s-2', 'session_pause', resetsAt],
    ]);
    state = first.state;
    expect(takeReading(state, reading(100, resetsAt), NOW).holds).toEqual([]);
    expect(takeReading(state, reading(100, resetsAt + MIN), NOW).holds).toHaveLength(2); // a new reset time
    expect(takeReading(state, reading(80, resetsAt + MIN), NOW).holds).toEqual([]);
    expect(takeReading(INITIAL_LIMITS_STATE, reading(100, resetsAt), NOW).holds).toEqual([]); // nobody limited
  });

  it('waits for the later reset when both windows are full, and ignores a reading that is old or already reset', () => {
    expect(readingReset(reading(100, NOW + MIN, { used: 100, resetsAt: NOW + 3 * 86_400_000 }), NOW)).toBe(NOW + 3 * 86_400_000);
    expect(readingReset(reading(100, NOW + MIN, { used: 50, resetsAt: NOW + 86_400_000 }), NOW)).toBe(NOW + MIN);
    expect(readingReset(reading(120, NOW - 1), NOW)).toBeNull();
    expect(readingReset(reading(100, null), NOW)).toBeNull();
    expect(readingReset({ ...reading(100, NOW + MIN), at: NOW - 16 * MIN }, NOW)).toBeNull();
    expect(readingReset(null, NOW)).toBeNull();
  });

  it('ends a limit at a Stop, at its reset, or after LIMITED_FOR_MS without one; a limit after that is held again', () => {
    const paused = transcript(INITIAL_LIMITS_STATE, [event({ resetsAt: NOW + 10 * MIN })]).state;
    expect(limitedSessions(paused, NOW + 10 * MIN)).toEqual([]);
    const again = transcript(paused, [event({ key: 'uuid-9', at: NOW + 11 * MIN })], { now: NOW + 12 * MIN });
    expect(again.holds).toEqual([expect.objectContaining({ strategy: 'exponential_backoff' })]);

    const probing = transcript(INITIAL_LIMITS_STATE, [event()]).state;
    expect(limitedSessions(probing, NOW - MIN + LIMITED_FOR_MS)).toHaveLength(1);
    expect(limitedSessions(probing, NOW + LIMITED_FOR_MS)).toEqual([]);
    expect(hook(probing, 'Stop', { at: NOW }).state.sessions).toEqual({});
    expect(hook(probing, 'Stop', { at: NOW - 2 * MIN }).state.sessions).not.toEqual({}); // a Stop from before the limit
  });

  it('never asks for a backoff over a pause that still runs', () => {
    const paused = transcript(INITIAL_LIMITS_STATE, [event({ resetsAt: NOW + 10 * MIN })]).state;
    expect(transcript(paused, [event({ key: 'uuid-3' })]).holds).toEqual([]);
    expect(hook(paused, 'StopFailure', { error: 'rate_limit' }).state.sessions['s-1'].held).toEqual({ strategy: 'session_pause', until: NOW + 10 * MIN, by: 'host' });
  });

  it('keeps the reason within the 500 characters a hold allows', () => {
    const { holds } = transcript(INITIAL_LIMITS_STATE, [event({ text: 'x'.repeat(2_000), resetsAt: NOW + MIN })]);
    expect(holds[0].reason).toHaveLength(500);
    expect(holds[0].reason.endsWith('; resets 2026-11-21T10:01:00.000Z')).toBe(true);
  });
});
