import { describe, expect, it } from 'vitest';
import { dayStart, daySeries, deriveUsage } from '../../../src/ui/dashboard/derive-usage';

const HOUR = 3_600_000;
const NOW = new Date(2026, 10, 21, 14, 30).getTime();

function block(start: number, tokens: number, costUsd: number, active = false) {
  return {
    id: new Date(start).toISOString(),
    start,
    end: start + 5 * HOUR,
    firstActivity: start,
    lastActivity: start + HOUR,
    active,
    requests: 10,
    tokens: { input: 0, output: 0, cacheCreation: 0, cacheRead: 0, total: tokens },
    models: [],
    costUsd,
    unpricedModels: active ? ['claude-new'] : [],
    sessions: ['s'],
  };
}

const day1 = new Date(2026, 10, 20, 9).getTime();
const activeStart = new Date(2026, 10, 21, 13).getTime();
const report = {
  snapshot: {
    now: NOW,
    blocks: [block(activeStart, 30_000, 3, true), block(day1, 100_000, 10), block(day1 + 5 * HOUR, 50_000, 5)],
    active: block(activeStart, 30_000, 3, true),
    burnRate: { tokensPerMinute: 333.3, costPerHour: 2, minutes: 90 },
    recentBurnRate: { tokensPerMinute: 100, costPerHour: 0.5, minutes: 10 },
    projection: { timeLeftMs: 3.5 * HOUR, tokens: 100_000, costUsd: 10, rate: { tokensPerMinute: 333.3, costPerHour: 2, minutes: 90 } },
  },
  limits: {
    fiveHour: { source: 'p90', usedPercentage: 30, resetsAt: activeStart + 5 * HOUR, tokenLimit: 100_000, tokensUsed: 30_000 },
    sevenDay: { source: 'statusLine', usedPercentage: 42, resetsAt: NOW + 50 * HOUR },
  },
  alerts: [],
  history: [],
  prices: { file: '/home/p/prices.json', models: 3, error: 'prices.json: models.x.input: expected a number' },
};

describe('usage and cost', () => {
  it('charts tokens and cost per 5-hour block (oldest first) and per day', () => {
    const view = deriveUsage({ report, hostConnected: true });
    if (view.kind !== 'report') throw new Error(view.reason);
    expect(view.blocks.x).toEqual([day1, day1 + 5 * HOUR, activeStart].map((t) => t / 1_000));
    expect(view.blocks.series.map((s) => s.values)).toEqual([
      [100_000, 50_000, 30_000],
      [10, 5, 3],
    ]);
    expect(view.days.x).toEqual([dayStart(day1) / 1_000, dayStart(activeStart) / 1_000]);
    expect(view.days.series.map((s) => s.values)).toEqual([
      [150_000, 30_000],
      [15, 3],
    ]);
    expect(view.totals).toEqual({ tokens: 180_000, costUsd: 18, blocks: 3 });
  });

  it('shows the active block with its burn rate, projection and the models it could not price', () => {
    const view = deriveUsage({ report, hostConnected: true });
    if (view.kind !== 'report') throw new Error(view.reason);
    expect(view.active).toMatchObject({ start: activeStart, end: activeStart + 5 * HOUR, tokens: 30_000, costUsd: 3, unpriced: ['claude-new'] });
    expect(view.active!.burn).toBe('333 tokens/min · $2.00/h');
    expect(view.active!.recentBurn).toBe('100 tokens/min · $0.500/h');
    expect(view.active!.projection).toBe("100.0k tokens, $10.00 by the block's end (in 3 h 30 min)");
  });

  it("gives the real percentages when Claude Code sent them, the estimate otherwise, and says which", () => {
    const view = deriveUsage({ report, hostConnected: true });
    if (view.kind !== 'report') throw new Error(view.reason);
    expect(view.limits).toEqual([
      { window: '5-hour', source: 'estimated from your busiest blocks (P90)', used: '30 % (30.0k of ≈100.0k tokens)', usedPercentage: 30, resetsAt: activeStart + 5 * HOUR },
      { window: '7-day', source: "Claude Code's own figure", used: '42 %', usedPercentage: 42, resetsAt: NOW + 50 * HOUR },
    ]);
    expect(view.problems).toEqual(['Your price file is not used (costs use the bundled prices): prices.json: models.x.input: expected a number']);
  });

  it('says why there is nothing to show', () => {
    expect(deriveUsage({ report: null, hostConnected: false })).toEqual({ kind: 'none', reason: expect.stringMatching(/native host, which is not connected/) });
    expect(deriveUsage({ report: null, hostConnected: true })).toEqual({ kind: 'none', reason: expect.stringMatching(/no Claude Code session has used tokens/) });
    expect(deriveUsage({ report: { ...report, snapshot: { ...report.snapshot, blocks: [], active: undefined } }, hostConnected: true })).toEqual({
      kind: 'none',
      reason: expect.stringMatching(/^No Claude Code usage yet/),
    });
    expect(deriveUsage({ report: undefined, error: 'invalid request: type: expected a request with type send, status', hostConnected: true }).kind).toBe('none');
    expect(deriveUsage({ report: null, error: 'the Switchboard hub did not answer within 60 s', hostConnected: true })).toEqual({
      kind: 'none',
      reason: 'The hub could not report usage: the Switchboard hub did not answer within 60 s',
    });
  });

  it('reads a malformed report without throwing: bad blocks and limits are left out', () => {
    expect(deriveUsage({ report: { snapshot: {} }, hostConnected: true }).kind).toBe('none');
    expect(deriveUsage({ report: 'nonsense', hostConnected: true }).kind).toBe('none');
    const view = deriveUsage({
      report: { snapshot: { now: NOW, blocks: [null, { start: 'x' }, block(day1, 5, 1)] }, limits: { fiveHour: 'bad' } },
      hostConnected: true,
    });
    if (view.kind !== 'report') throw new Error(view.reason);
    expect(view.blocks.x).toHaveLength(1);
    expect(view.active).toBeNull();
    expect(view.limits[0]).toEqual({ window: '5-hour', source: 'not known yet', used: 'unknown', usedPercentage: null, resetsAt: null });
  });

  it('adds a day of no blocks as nothing, not zero', () => {
    expect(daySeries([]).x).toEqual([]);
  });
});
