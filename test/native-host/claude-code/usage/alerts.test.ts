import { describe, expect, it } from 'vitest';
import {
  DEFAULT_THRESHOLDS,
  INITIAL_ALERT_STATE,
  evaluateAlerts,
  formatDuration,
  parseAlertThresholds,
  type AlertSnapshot,
  type AlertState,
} from '../../../../native-host/claude-code/usage/alerts';
import { BLOCK_MS, type UsageBlock } from '../../../../native-host/claude-code/usage/blocks';
import type { LimitStatus } from '../../../../native-host/claude-code/usage/limits';

const START = Date.parse('2026-03-31T09:00:00Z');
const MIN = 60_000;

function block(start = START, costUsd = 10, unpricedModels: string[] = []): UsageBlock {
  return {
    id: new Date(start).toISOString(),
    start,
    end: start + BLOCK_MS,
    firstActivity: start + 5 * MIN,
    lastActivity: start + 60 * MIN,
    active: true,
    requests: 50,
    tokens: { input: 0, output: 0, cacheCreation: 0, cacheRead: 1_000_000, total: 1_000_000 },
    models: [],
    costUsd,
    unpricedModels,
    sessions: ['s'],
  };
}

const unknownWeek = { source: 'unknown', usedPercentage: null, resetsAt: null } as const;
const estimated = (usedPercentage: number, active = block()): LimitStatus => ({
  fiveHour: { source: 'p90', usedPercentage, resetsAt: active.end, tokenLimit: 1_250_000, tokensUsed: Math.round((usedPercentage / 100) * 1_250_000) },
  sevenDay: unknownWeek,
});
const real = (fiveHour: number, sevenDay: number | null = null): LimitStatus => ({
  fiveHour: { source: 'statusLine', usedPercentage: fiveHour, resetsAt: START + BLOCK_MS },
  sevenDay: sevenDay === null ? unknownWeek : { source: 'statusLine', usedPercentage: sevenDay, resetsAt: START + 3 * 86_400_000 },
});

function run(snapshots: AlertSnapshot[], thresholds = DEFAULT_THRESHOLDS) {
  let state: AlertState = INITIAL_ALERT_STATE;
  return snapshots.map((snapshot) => {
    const result = evaluateAlerts(snapshot, thresholds, state);
    state = result.state;
    return result;
  });
}

describe('thresholds', () => {
  it('default to tokens 80 %, session time 4.5 h, $50 per block, rate-limit use 90 %', () => {
    expect(DEFAULT_THRESHOLDS).toEqual({ tokenPercent: 80, sessionHours: 4.5, costPerBlockUsd: 50, rateLimitPercent: 90 });
    expect(parseAlertThresholds(undefined)).toEqual(DEFAULT_THRESHOLDS);
  });

  it('take the configured values, null turning one off', () => {
    expect(parseAlertThresholds({ costPerBlockUsd: 20, sessionHours: null })).toEqual({ tokenPercent: 80, sessionHours: null, costPerBlockUsd: 20, rateLimitPercent: 90 });
  });

  it.each([
    [{ tokenPercent: 0 }, 'invalid usage alert thresholds: tokenPercent: expected the share of the estimated limit: a percentage above 0, or null to turn it off'],
    [{ sessionHours: 6 }, 'invalid usage alert thresholds: sessionHours: expected hours from more than 0 to 5, or null to turn it off'],
    [{ costPerBlockUsd: '50' }, 'invalid usage alert thresholds: costPerBlockUsd: expected US dollars above 0, or null to turn it off'],
    [{ rateLimitPercent: -1 }, 'invalid usage alert thresholds: rateLimitPercent: expected the share of the rate limit'],
    [{ costPerBlock: 20 }, 'invalid usage alert thresholds: unknown field "costPerBlock" (the fields are tokenPercent, sessionHours, costPerBlockUsd, rateLimitPercent)'],
    ['80', 'invalid usage alert thresholds: expected an object of alert thresholds'],
  ])('refuse %j, naming the field', (input, message) => {
    expect(() => parseAlertThresholds(input)).toThrow(message);
  });
});

describe('alerts', () => {
  it('stay quiet below every threshold', () => {
    const [result] = run([{ now: START + 60 * MIN, active: block(), limits: estimated(79.9) }]);
    expect(result).toEqual({ raised: [], cleared: [], state: { blockId: block().id, raised: [] } });
  });

  it('raise the token alert once per block, and once more when it turns critical', () => {
    const active = block();
    const [first, second, third, fourth] = run([
      { now: START + 60 * MIN, active, limits: estimated(84) },
      { now: START + 61 * MIN, active, limits: estimated(88) },
      { now: START + 90 * MIN, active, limits: estimated(103) },
      { now: START + 95 * MIN, active, limits: estimated(110) },
    ]);
    expect(first.raised).toEqual([
      {
        kind: 'tokens',
        severity: 'warning',
        text: 'Claude Code has used 84 % of the estimated 5-hour limit (1,050,000 of about 1,250,000 tokens); it resets in 4 h.',
        value: 84,
        threshold: 80,
        blockId: '2026-03-31T09:00:00.000Z',
        at: START + 60 * MIN,
      },
    ]);
    expect(second.raised).toEqual([]);
    expect(third.raised).toEqual([expect.objectContaining({ kind: 'tokens', severity: 'critical', value: 103 })]);
    expect(fourth.raised).toEqual([]);
    expect(fourth.state.raised.map((alert) => alert.severity)).toEqual(['warning', 'critical']);
  });

  it("use Claude Code's own percentages when it gives them, not the estimate", () => {
    const active = block();
    const [result] = run([{ now: START + 4 * 60 * MIN, active, limits: real(92, 95) }]);
    expect(result.raised.map((alert) => [alert.kind, alert.severity, alert.text])).toEqual([
      ['rate-limit-five-hour', 'warning', "Claude Code's 5-hour limit is 92 % used; it resets in 1 h."],
      ['rate-limit-seven-day', 'warning', "Claude Code's weekly limit is 95 % used; it resets in 2 d 20 h."],
    ]);
    const [critical] = run([{ now: START, active, limits: real(100) }]);
    expect(critical.raised).toEqual([expect.objectContaining({ kind: 'rate-limit-five-hour', severity: 'critical', value: 100, threshold: 90 })]);
  });

  it('raise the session-time alert at 4.5 h into the block', () => {
    const active = block();
    const [before, at] = run([
      { now: START + 269 * MIN, active, limits: estimated(10) },
      { now: START + 270 * MIN, active, limits: estimated(10) },
    ]);
    expect(before.raised).toEqual([]);
    expect(at.raised).toEqual([
      expect.objectContaining({ kind: 'session-time', severity: 'info', value: 4.5, threshold: 4.5, text: 'The 5-hour block has been running 4 h 30 min; it resets in 30 min.' }),
    ]);
  });

  it('raise the cost alert at $50, saying when models without a price make it a lower bound', () => {
    const [plain] = run([{ now: START + 60 * MIN, active: block(START, 50), limits: estimated(10) }]);
    expect(plain.raised).toEqual([expect.objectContaining({ kind: 'cost', severity: 'warning', value: 50, threshold: 50, text: 'This 5-hour block has cost $50.00 so far, past the $50 alert.' })]);
    const [partial] = run([{ now: START + 60 * MIN, active: block(START, 61.2, ['claude-opus-4-7']), limits: estimated(10) }]);
    expect(partial.raised[0].text).toBe('This 5-hour block has cost $61.20 so far (more: claude-opus-4-7 has no price), past the $50 alert.');
  });

  it('clear when the block ends, and raise again in the next one', () => {
    const first = block();
    const next = block(START + 6 * 60 * MIN);
    const [raised, ended, again] = run([
      { now: START + 60 * MIN, active: first, limits: estimated(85, first) },
      { now: START + 5 * 60 * MIN, active: undefined, limits: { fiveHour: { source: 'p90', usedPercentage: 0, resetsAt: null }, sevenDay: unknownWeek } },
      { now: START + 6 * 60 * MIN + 30 * MIN, active: next, limits: estimated(90, next) },
    ]);
    expect(raised.raised).toHaveLength(1);
    expect(ended).toEqual({ raised: [], cleared: raised.raised, state: { blockId: null, raised: [] } });
    expect(again.raised).toEqual([expect.objectContaining({ kind: 'tokens', blockId: next.id })]);
    expect(again.cleared).toEqual([]);
  });

  it('clear on a change of block even without an idle evaluation between', () => {
    const first = block();
    const next = block(START + 5 * 60 * MIN);
    const [raised, moved] = run([
      { now: START + 60 * MIN, active: first, limits: estimated(85, first) },
      { now: START + 5 * 60 * MIN, active: next, limits: estimated(85, next) },
    ]);
    expect(moved.cleared).toEqual(raised.raised);
    expect(moved.raised).toEqual([expect.objectContaining({ kind: 'tokens', blockId: next.id })]);
  });

  it('never raise an alert that is turned off', () => {
    const thresholds = parseAlertThresholds({ tokenPercent: null, sessionHours: null, costPerBlockUsd: null, rateLimitPercent: null });
    const active = block(START, 500);
    const results = run(
      [
        { now: START + 290 * MIN, active, limits: estimated(150) },
        { now: START + 291 * MIN, active, limits: real(100, 100) },
      ],
      thresholds,
    );
    expect(results.flatMap((result) => result.raised)).toEqual([]);
  });

  it('keep a state that survives JSON, so a restarted daemon does not raise them again', () => {
    const active = block();
    const [first] = run([{ now: START + 60 * MIN, active, limits: estimated(85) }]);
    const restored = JSON.parse(JSON.stringify(first.state)) as AlertState;
    expect(evaluateAlerts({ now: START + 61 * MIN, active, limits: estimated(86) }, DEFAULT_THRESHOLDS, restored).raised).toEqual([]);
  });
});

describe('formatDuration', () => {
  it.each([
    [-5, 'under a minute'],
    [59_999, 'under a minute'],
    [40 * MIN, '40 min'],
    [60 * MIN, '1 h'],
    [80 * MIN, '1 h 20 min'],
    [52 * 60 * MIN, '2 d 4 h'],
    [48 * 60 * MIN, '2 d'],
  ])('%d ms → %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
