import { describe, expect, it } from 'vitest';
import {
  BLOCK_MS,
  blockBurnRate,
  buildBlocks,
  projectBlock,
  recentBurnRate,
  usageSnapshot,
} from '../../../../native-host/claude-code/usage/blocks';
import { BUNDLED_PRICES } from '../../../../native-host/claude-code/usage/prices';
import type { UsageRecord } from '../../../../native-host/claude-code/usage/transcript-line';

const at = (time: string) => Date.parse(`2026-03-02T${time}Z`);
let counter = 0;

function record(time: string | number, overrides: Partial<UsageRecord> = {}): UsageRecord {
  const n = ++counter;
  return {
    key: `msg_${n}:req_${n}`,
    sessionId: 'session-a',
    messageId: `msg_${n}`,
    requestId: `req_${n}`,
    model: 'claude-sonnet-4-5-20250929',
    timestamp: typeof time === 'number' ? time : at(time),
    inputTokens: 100,
    outputTokens: 1000,
    cacheCreationTokens: 0,
    cacheCreation1hTokens: 0,
    cacheReadTokens: 0,
    cwd: '/home/dev/project',
    ...overrides,
  };
}

const spans = (records: UsageRecord[], now: number) =>
  buildBlocks(records, BUNDLED_PRICES, now).map((block) => [block.id, new Date(block.end).toISOString(), block.requests, block.active]);

describe('blocks', () => {
  it('starts a block at the first activity floored to the hour and keeps it 5 h', () => {
    const records = [record('09:17:12'), record('10:05:00'), record('13:59:59.999')];
    expect(spans(records, at('11:00:00'))).toEqual([['2026-03-02T09:00:00.000Z', '2026-03-02T14:00:00.000Z', 3, true]]);
  });

  it('opens the next block at the first activity at or after the end, even without a gap', () => {
    const records = [record('09:10:00'), record('13:50:00'), record('14:00:00'), record('14:20:00')];
    expect(spans(records, at('15:00:00'))).toEqual([
      ['2026-03-02T09:00:00.000Z', '2026-03-02T14:00:00.000Z', 2, false],
      ['2026-03-02T14:00:00.000Z', '2026-03-02T19:00:00.000Z', 2, true],
    ]);
  });

  it('opens a new block after a gap of 5 h or more, at that activity floored to the hour', () => {
    const records = [record('02:40:00'), record('03:00:00'), record('08:00:00'), record('23:59:00')];
    expect(spans(records, at('23:59:30'))).toEqual([
      ['2026-03-02T02:00:00.000Z', '2026-03-02T07:00:00.000Z', 2, false],
      ['2026-03-02T08:00:00.000Z', '2026-03-02T13:00:00.000Z', 1, false],
      ['2026-03-02T23:00:00.000Z', '2026-03-03T04:00:00.000Z', 1, true],
    ]);
  });

  it('sorts the records by time, whatever order they come in, and is not active before or after', () => {
    const records = [record('12:00:00'), record('09:30:00')];
    expect(spans(records, at('08:59:59'))).toEqual([['2026-03-02T09:00:00.000Z', '2026-03-02T14:00:00.000Z', 2, false]]);
    expect(spans(records, at('14:00:00'))[0][3]).toBe(false);
    expect(buildBlocks([], BUNDLED_PRICES, at('12:00:00'))).toEqual([]);
  });

  it('adds up tokens by kind and by model, and the cost with cache writes and reads', () => {
    const records = [
      record('09:05:00', { inputTokens: 13, outputTokens: 41, cacheCreationTokens: 3001, cacheReadTokens: 9001 }),
      record('09:06:00', { inputTokens: 14, outputTokens: 42, cacheCreationTokens: 3002, cacheReadTokens: 9002 }),
      record('09:30:00', { model: 'claude-haiku-4-5-20251001', sessionId: 'session-b', inputTokens: 13, outputTokens: 41, cacheCreationTokens: 4001, cacheCreation1hTokens: 1000, cacheReadTokens: 9001 }),
    ];
    const [block] = buildBlocks(records, BUNDLED_PRICES, at('10:00:00'));

    expect(block.tokens).toEqual({ input: 40, output: 124, cacheCreation: 10_004, cacheRead: 27_004, total: 37_172 });
    expect(block.models).toEqual([
      { model: 'claude-sonnet-4-5-20250929', requests: 2, tokens: { input: 27, output: 83, cacheCreation: 6003, cacheRead: 18_003, total: 24_116 }, costUsd: expect.closeTo(0.02923815, 10) },
      { model: 'claude-haiku-4-5-20251001', requests: 1, tokens: { input: 13, output: 41, cacheCreation: 4001, cacheRead: 9001, total: 13_056 }, costUsd: expect.closeTo(0.00686935, 10) },
    ]);
    expect(block.costUsd).toBeCloseTo(0.0361075, 10);
    expect(block.unpricedModels).toEqual([]);
    expect(block.sessions).toEqual(['session-a', 'session-b']);
    expect([block.firstActivity, block.lastActivity]).toEqual([at('09:05:00'), at('09:30:00')]);
  });

  it('reports a model without a price: its cost is null and the block cost counts only the priced ones', () => {
    const records = [
      record('09:05:00', { model: 'claude-opus-4-7', outputTokens: 1_000_000, inputTokens: 0 }),
      record('09:06:00', { model: 'claude-haiku-4-5', outputTokens: 1_000_000, inputTokens: 0 }),
      record('09:07:00', { model: 'claude-opus-4-7', outputTokens: 1_000_000, inputTokens: 0 }),
    ];
    const [block] = buildBlocks(records, BUNDLED_PRICES, at('10:00:00'));
    expect(block.models.map((model) => [model.model, model.costUsd])).toEqual([
      ['claude-opus-4-7', null],
      ['claude-haiku-4-5', 5],
    ]);
    expect(block.costUsd).toBe(5);
    expect(block.unpricedModels).toEqual(['claude-opus-4-7']);
  });

  it('counts a key once, keeping the line with the most tokens', () => {
    const first = record('09:05:00', { outputTokens: 1 });
    const later = { ...first, timestamp: at('09:05:02'), outputTokens: 500 };
    const [block] = buildBlocks([first, later, first], BUNDLED_PRICES, at('10:00:00'));
    expect(block.requests).toBe(1);
    expect(block.tokens.output).toBe(500);
  });
});

describe('burn rate and projection', () => {
  // 10:00 → 10:30, 30 responses of 1,100 tokens of Sonnet 4.5 (100 in at $3/M, 1,000 out at $15/M: $0.0153 each).
  const records = Array.from({ length: 30 }, (_, i) => record(at('10:00:00') + i * 60_000));
  const now = at('10:30:00');

  it('measures an active block from its first activity to now', () => {
    const [block] = buildBlocks(records, BUNDLED_PRICES, now);
    const rate = blockBurnRate(block, now);
    expect(rate.minutes).toBe(30);
    expect(rate.tokensPerMinute).toBeCloseTo((30 * 1100) / 30, 10);
    expect(rate.costPerHour).toBeCloseTo(30 * 0.0153 * 2, 10);
  });

  it('lets a pause bring the rate down, and measures an ended block between its first and last activity', () => {
    const [block] = buildBlocks(records, BUNDLED_PRICES, at('11:29:00'));
    expect(blockBurnRate(block, at('11:29:00')).tokensPerMinute).toBeCloseTo(33_000 / 89, 10);
    const [ended] = buildBlocks(records, BUNDLED_PRICES, at('18:00:00'));
    expect(blockBurnRate(ended, at('18:00:00')).minutes).toBe(29);
  });

  it('never measures over less than a minute', () => {
    const [block] = buildBlocks([record('10:00:00')], BUNDLED_PRICES, at('10:00:05'));
    expect(blockBurnRate(block, at('10:00:05'))).toEqual({ tokensPerMinute: 1100, costPerHour: expect.closeTo(0.0153 * 60, 10), minutes: 1 });
  });

  it('measures the last N minutes on their own', () => {
    const rate = recentBurnRate(records, BUNDLED_PRICES, now, 10);
    // 10:21 … 10:29: nine responses in (10:20, 10:30]
    expect(rate.tokensPerMinute).toBeCloseTo((9 * 1100) / 10, 10);
    expect(rate.costPerHour).toBeCloseTo(9 * 0.0153 * 6, 10);
    expect(recentBurnRate(records, BUNDLED_PRICES, at('12:00:00'), 10).tokensPerMinute).toBe(0);
  });

  it('projects the totals at the block end from the rate, with the time left', () => {
    const [block] = buildBlocks(records, BUNDLED_PRICES, now);
    const projection = projectBlock(block, now)!;
    expect(projection.timeLeftMs).toBe(at('15:00:00') - now);
    expect(projection.tokens).toBeCloseTo(33_000 + 1100 * 270, 6);
    expect(projection.costUsd).toBeCloseTo(30 * 0.0153 + 0.0153 * 270, 10);

    const slower = projectBlock(block, now, { tokensPerMinute: 10, costPerHour: 0.6, minutes: 10 })!;
    expect(slower.tokens).toBe(33_000 + 2700);
    expect(projectBlock(buildBlocks(records, BUNDLED_PRICES, at('16:00:00'))[0], at('16:00:00'))).toBeNull();
  });

  it('puts it together in one snapshot', () => {
    const older = [record('01:00:00'), record('02:00:00')];
    const snapshot = usageSnapshot([...older, ...records], BUNDLED_PRICES, now, { recentMinutes: 5 });
    expect(snapshot.blocks).toHaveLength(2);
    expect(snapshot.active?.id).toBe('2026-03-02T10:00:00.000Z');
    expect(snapshot.burnRate?.minutes).toBe(30);
    expect(snapshot.recentBurnRate.minutes).toBe(5);
    expect(snapshot.projection?.timeLeftMs).toBe(BLOCK_MS - 30 * 60_000);

    const idle = usageSnapshot(older, BUNDLED_PRICES, now);
    expect([idle.active, idle.burnRate, idle.projection]).toEqual([undefined, null, null]);
  });
});
