import { describe, expect, it } from 'vitest';
import { BLOCK_MS, buildBlocks, type UsageBlock } from '../../../../native-host/claude-code/usage/blocks';
import { estimateLimit, limitStatus, percentile, readRateLimits, type LimitEstimate } from '../../../../native-host/claude-code/usage/limits';
import { BUNDLED_PRICES } from '../../../../native-host/claude-code/usage/prices';
import type { UsageRecord } from '../../../../native-host/claude-code/usage/transcript-line';

const DAY = 86_400_000;
const NOW = Date.parse('2026-03-31T12:30:00Z');

/** A block `daysAgo` days before NOW's day, at 09:00, with `total` tokens over `requests` responses. */
function block(daysAgo: number, total: number, requests = 40, costUsd = total / 100_000): UsageBlock {
  const start = Date.parse('2026-03-31T09:00:00Z') - daysAgo * DAY;
  const active = NOW >= start && NOW < start + BLOCK_MS;
  return {
    id: new Date(start).toISOString(),
    start,
    end: start + BLOCK_MS,
    firstActivity: start + 60_000,
    lastActivity: start + 3 * 3_600_000,
    active,
    requests,
    tokens: { input: 0, output: total, cacheCreation: 0, cacheRead: 0, total },
    models: [],
    costUsd,
    unpricedModels: [],
    sessions: ['s'],
  };
}

describe('percentile', () => {
  it('interpolates between the nearest ranks', () => {
    expect(percentile([10, 1, 9, 2, 8, 3, 7, 4, 6, 5], 90)).toBeCloseTo(9.1, 10);
    expect(percentile([10, 20], 50)).toBe(15);
    expect(percentile([42], 90)).toBe(42);
    expect(percentile([1, 2, 3], 100)).toBe(3);
    expect(percentile([], 90)).toBeNaN();
  });
});

describe('the P90 estimate', () => {
  it('is unknown with a short history, saying how many blocks it has and needs', () => {
    const history = [block(1, 900_000), block(2, 1_000_000), block(3, 1_100_000)];
    expect(estimateLimit(history, NOW)).toEqual({
      source: 'unknown',
      blocks: 3,
      needed: 5,
      reason: '3 of the 5 completed 5-hour blocks with at least 10 requests needed for an estimate',
    });
  });

  it('is the 90th percentile of completed blocks with enough activity in the last 30 days', () => {
    const history = [
      ...Array.from({ length: 19 }, (_, i) => block(i + 1, (i + 1) * 100_000)), // 100k … 1.9M
      block(2.5, 50_000_000, 3), // a burst of three huge responses: too little activity to count
      block(45, 90_000_000), // before a change of plan, 45 days ago
      block(0, 80_000_000), // the active block: not completed
    ];
    const estimate = estimateLimit(history, NOW);
    expect(estimate).toEqual({ source: 'p90', tokens: Math.round(percentile(history.slice(0, 19).map((b) => b.tokens.total), 90)), costUsd: expect.any(Number), blocks: 19 });
    expect(estimate.source === 'p90' && estimate.tokens).toBe(1_720_000);
    expect(estimate.source === 'p90' && estimate.costUsd).toBeCloseTo(17.2, 10);
  });

  it('takes its minimum history, activity floor, window and percentile as options', () => {
    const history = [block(1, 100), block(2, 200, 2)];
    expect(estimateLimit(history, NOW, { minBlocks: 1, minRequests: 1, percentile: 50 })).toMatchObject({ source: 'p90', tokens: 150 });
    expect(estimateLimit(history, NOW, { minBlocks: 1, historyDays: 1.5 })).toMatchObject({ source: 'p90', tokens: 100, blocks: 1 });
  });

  it('works from blocks built out of records', () => {
    const records: UsageRecord[] = [];
    for (let day = 1; day <= 6; day++) {
      for (let i = 0; i < 12; i++) {
        records.push({
          key: `m${day}-${i}:r`,
          sessionId: 's',
          messageId: `m${day}-${i}`,
          requestId: 'r',
          model: 'claude-sonnet-4-5',
          timestamp: Date.parse('2026-03-31T09:00:00Z') - day * DAY + i * 600_000,
          inputTokens: 0,
          outputTokens: day * 1000,
          cacheCreationTokens: 0,
          cacheCreation1hTokens: 0,
          cacheReadTokens: 0,
          cwd: null,
        });
      }
    }
    const estimate = estimateLimit(buildBlocks(records, BUNDLED_PRICES, NOW), NOW);
    expect(estimate).toMatchObject({ source: 'p90', blocks: 6, tokens: Math.round(percentile([12, 24, 36, 48, 60, 72].map((k) => k * 1000), 90)) });
  });
});

describe("the status line's rate_limits", () => {
  const input = (rateLimits: unknown) => ({
    session_id: 'abc',
    transcript_path: '/home/dev/.claude/projects/x/abc.jsonl',
    cwd: '/home/dev/x',
    model: { id: 'claude-opus-4-6', display_name: 'Opus 4.6' },
    cost: { total_cost_usd: 1.37 },
    ...(rateLimits === undefined ? {} : { rate_limits: rateLimits }),
  });

  it('reads both windows, resets_at from epoch seconds', () => {
    const reading = readRateLimits(
      input({ five_hour: { used_percentage: 23.5, resets_at: 1_774_962_000 }, seven_day: { used_percentage: 41.2, resets_at: 1_775_394_000 } }),
      NOW,
    );
    expect(reading).toEqual({
      at: NOW,
      fiveHour: { usedPercentage: 23.5, resetsAt: 1_774_962_000_000 },
      sevenDay: { usedPercentage: 41.2, resetsAt: 1_775_394_000_000 },
      problems: [],
    });
  });

  it('tolerates missing parts: no rate_limits, one window, no reset time, ISO times', () => {
    expect(readRateLimits(input(undefined), NOW)).toBeNull();
    expect(readRateLimits(input(null), NOW)).toBeNull();
    expect(readRateLimits('not an object', NOW)).toBeNull();
    expect(readRateLimits(input({ five_hour: { used_percentage: 5 } }), NOW)).toEqual({
      at: NOW,
      fiveHour: { usedPercentage: 5, resetsAt: null },
      sevenDay: null,
      problems: [],
    });
    expect(readRateLimits(input({ seven_day: { used_percentage: 5, resets_at: '2026-04-02T00:00:00Z' }, spend_limit: { used_percentage: 1 } }), NOW)?.sevenDay).toEqual({
      usedPercentage: 5,
      resetsAt: Date.parse('2026-04-02T00:00:00Z'),
    });
  });

  it('drops a window it cannot read, naming the field, and keeps the other', () => {
    const reading = readRateLimits(input({ five_hour: { used_percentage: 'high', resets_at: 1_774_962_000 }, seven_day: { used_percentage: 41.2, resets_at: 'soon' } }), NOW);
    expect(reading?.fiveHour).toBeNull();
    expect(reading?.sevenDay).toBeNull();
    expect(reading?.problems).toEqual(['rate_limits.five_hour.used_percentage: expected a percentage', 'rate_limits.seven_day.resets_at: expected epoch seconds or an ISO time']);

    const partly = readRateLimits(input({ five_hour: { used_percentage: -3 }, seven_day: { used_percentage: 12 } }), NOW);
    expect(partly).toMatchObject({ fiveHour: null, sevenDay: { usedPercentage: 12 }, problems: ['rate_limits.five_hour.used_percentage: expected a percentage ≥ 0'] });
    expect(readRateLimits(input([1, 2]), NOW)?.problems).toEqual(['rate_limits: expected an object']);
  });
});

describe('which number wins', () => {
  const active = block(0, 600_000);
  const p90: LimitEstimate = { source: 'p90', tokens: 1_200_000, costUsd: 12, blocks: 20 };
  const unknown: LimitEstimate = { source: 'unknown', blocks: 2, needed: 5, reason: '…' };
  const resetsAt = Date.parse('2026-03-31T14:00:00Z');
  const reading = (at: number, fiveHour = { usedPercentage: 71, resetsAt }, sevenDay = { usedPercentage: 33, resetsAt: resetsAt + 4 * DAY }) => ({
    at,
    fiveHour,
    sevenDay,
    problems: [],
  });

  it('a fresh status line reading wins over the estimate', () => {
    expect(limitStatus({ now: NOW, active, estimate: p90, reading: reading(NOW - 60_000) })).toEqual({
      fiveHour: { source: 'statusLine', usedPercentage: 71, resetsAt },
      sevenDay: { source: 'statusLine', usedPercentage: 33, resetsAt: resetsAt + 4 * DAY },
    });
  });

  it('without a reading, the estimate gives the five-hour window and the week is unknown', () => {
    expect(limitStatus({ now: NOW, active, estimate: p90, reading: null })).toEqual({
      fiveHour: { source: 'p90', usedPercentage: 50, resetsAt: active.end, tokenLimit: 1_200_000, tokensUsed: 600_000 },
      sevenDay: { source: 'unknown', usedPercentage: null, resetsAt: null },
    });
    expect(limitStatus({ now: NOW, active: undefined, estimate: p90, reading: null }).fiveHour).toMatchObject({ source: 'p90', usedPercentage: 0, resetsAt: null });
  });

  it('a stale reading gives way: too old, or its window has reset since', () => {
    expect(limitStatus({ now: NOW, active, estimate: p90, reading: reading(NOW - 16 * 60_000) }).fiveHour.source).toBe('p90');
    expect(limitStatus({ now: NOW, active, estimate: p90, reading: reading(NOW - 16 * 60_000) }, { maxReadingAgeMs: 20 * 60_000 }).fiveHour.source).toBe('statusLine');

    const reset = limitStatus({ now: NOW, active, estimate: p90, reading: reading(NOW - 60_000, { usedPercentage: 98, resetsAt: NOW - 1 }) });
    expect(reset.fiveHour.source).toBe('p90');
    expect(reset.sevenDay.source).toBe('statusLine');
    expect(limitStatus({ now: NOW, active, estimate: p90, reading: reading(NOW + 10 * 60_000) }).fiveHour.source).toBe('p90');
  });

  it('with neither, says unknown rather than guessing', () => {
    expect(limitStatus({ now: NOW, active, estimate: unknown, reading: null })).toEqual({
      fiveHour: { source: 'unknown', usedPercentage: null, resetsAt: active.end },
      sevenDay: { source: 'unknown', usedPercentage: null, resetsAt: null },
    });
    const weekOnly = { at: NOW, fiveHour: null, sevenDay: { usedPercentage: 10, resetsAt: null }, problems: [] };
    expect(limitStatus({ now: NOW, active, estimate: unknown, reading: weekOnly })).toMatchObject({
      fiveHour: { source: 'unknown' },
      sevenDay: { source: 'statusLine', usedPercentage: 10 },
    });
  });
});
