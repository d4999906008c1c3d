/**
 * Five-hour blocks, burn rate and projections (issue 5, "Usage monitor: … 5-hour blocks, burn rate,
 * time left in the block").
 *
 * Claude's subscription limits are counted in 5-hour windows that open with the first request after
 * the previous window closed. A block here is that window as the transcripts show it: it starts at
 * its first activity floored to the hour (UTC — Claude's resets fall on the hour) and ends 5 h later;
 * the first activity at or after the end opens the next block. A gap of 5 h or more therefore always
 * opens a new block: the end lies at most 5 h after any activity in the block. A block is active
 * while `now` is inside it.
 *
 * Everything here is pure: records, prices and `now` in, numbers out.
 */
import { costOf, findPrice, type ModelPrice, type PriceTable, type TokenUsage } from './prices';
import { mergeUsageRecord, type UsageRecord } from './transcript-line';

export const HOUR_MS = 3_600_000;
export const BLOCK_MS = 5 * HOUR_MS;
const MINUTE_MS = 60_000;

export interface TokenCounts {
  input: number;
  output: number;
  /** prompt-cache writes */
  cacheCreation: number;
  cacheRead: number;
  /** all four: what the limits and alerts compare (as ccusage does) */
  total: number;
}

export interface ModelUsage {
  model: string;
  requests: number;
  tokens: TokenCounts;
  /** USD; null when the model has no price (cost unknown, not zero) */
  costUsd: number | null;
}

export interface UsageBlock {
  /** the start as an ISO time: stable, so alerts and stores can key on it */
  id: string;
  start: number;
  /** start + 5 h */
  end: number;
  firstActivity: number;
  lastActivity: number;
  /** `now` is inside [start, end) */
  active: boolean;
  /** API responses */
  requests: number;
  tokens: TokenCounts;
  /** by model, most tokens first */
  models: ModelUsage[];
  /** USD of the priced models; with unpricedModels not empty it is a lower bound */
  costUsd: number;
  /** models used in the block whose price is unknown */
  unpricedModels: string[];
  sessions: string[];
}

export interface BurnRate {
  tokensPerMinute: number;
  /** USD per hour, priced models only */
  costPerHour: number;
  /** the span the rate was measured over, in minutes */
  minutes: number;
}

export interface BlockProjection {
  /** until the block ends, in ms */
  timeLeftMs: number;
  /** total tokens at the block's end if the rate holds */
  tokens: number;
  costUsd: number;
  /** the rate the projection assumes */
  rate: BurnRate;
}

export interface UsageSnapshot {
  now: number;
  /** oldest first */
  blocks: UsageBlock[];
  active: UsageBlock | undefined;
  /** over the active block so far */
  burnRate: BurnRate | null;
  /** over the last `recentMinutes` */
  recentBurnRate: BurnRate;
  projection: BlockProjection | null;
}

export const emptyCounts = (): TokenCounts => ({ input: 0, output: 0, cacheCreation: 0, cacheRead: 0, total: 0 });

function add(counts: TokenCounts, record: UsageRecord): void {
  counts.input += record.inputTokens;
  counts.output += record.outputTokens;
  counts.cacheCreation += record.cacheCreationTokens;
  counts.cacheRead += record.cacheReadTokens;
  counts.total += record.inputTokens + record.outputTokens + record.cacheCreationTokens + record.cacheReadTokens;
}

export const floorToHour = (at: number) => Math.floor(at / HOUR_MS) * HOUR_MS;

/** costOfModel with each model looked up once: a history holds many records of few models. */
function pricer(prices: PriceTable): (model: string, usage: TokenUsage) => number | null {
  const found = new Map<string, ModelPrice | null>();
  return (model, usage) => {
    let price = found.get(model);
    if (price === undefined) {
      price = findPrice(prices, model)?.price ?? null;
      found.set(model, price);
    }
    return price === null ? null : costOf(usage, price);
  };
}

/** Records with one per key (the one mergeUsageRecord keeps), oldest first. */
function distinct(records: Iterable<UsageRecord>): UsageRecord[] {
  const byKey = new Map<string, UsageRecord>();
  for (const record of records) byKey.set(record.key, mergeUsageRecord(byKey.get(record.key), record));
  return [...byKey.values()].sort((a, b) => a.timestamp - b.timestamp);
}

/** The blocks the records fall into, oldest first. Records repeating a key are counted once. */
export function buildBlocks(records: Iterable<UsageRecord>, prices: PriceTable, now: number): UsageBlock[] {
  const blocks: UsageBlock[] = [];
  const costOfModel = pricer(prices);
  let current: { block: UsageBlock; models: Map<string, ModelUsage>; sessions: Set<string> } | undefined;
  const close = () => {
    if (!current) return;
    const { block, models, sessions } = current;
    block.models = [...models.values()].sort((a, b) => b.tokens.total - a.tokens.total || a.model.localeCompare(b.model));
    block.unpricedModels = block.models.filter((model) => model.costUsd === null).map((model) => model.model).sort();
    block.sessions = [...sessions].sort();
    blocks.push(block);
  };

  for (const record of distinct(records)) {
    if (!current || record.timestamp >= current.block.end) {
      close();
      const start = floorToHour(record.timestamp);
      current = {
        block: {
          id: new Date(start).toISOString(),
          start,
          end: start + BLOCK_MS,
          firstActivity: record.timestamp,
          lastActivity: record.timestamp,
          active: now >= start && now < start + BLOCK_MS,
          requests: 0,
          tokens: emptyCounts(),
          models: [],
          costUsd: 0,
          unpricedModels: [],
          sessions: [],
        },
        models: new Map(),
        sessions: new Set(),
      };
    }
    const { block, models, sessions } = current;
    block.lastActivity = record.timestamp;
    block.requests++;
    add(block.tokens, record);
    sessions.add(record.sessionId);
    let model = models.get(record.model);
    if (!model) {
      model = { model: record.model, requests: 0, tokens: emptyCounts(), costUsd: 0 };
      models.set(record.model, model);
    }
    model.requests++;
    add(model.tokens, record);
    const cost = costOfModel(record.model, record);
    if (cost === null) model.costUsd = null;
    else {
      if (model.costUsd !== null) model.costUsd += cost;
      block.costUsd += cost;
    }
  }
  close();
  return blocks;
}

/** The block `now` is in, if any. */
export const activeBlock = (blocks: readonly UsageBlock[]): UsageBlock | undefined => blocks.find((block) => block.active);

/**
 * How fast a block used tokens and money: an active block from its first activity to `now` (pauses
 * count, so a pause brings the rate and the projection down), an ended one from its first to its
 * last activity. At least one minute, so the first response does not make an absurd rate.
 */
export function blockBurnRate(block: UsageBlock, now: number): BurnRate {
  const until = block.active ? Math.max(now, block.lastActivity) : block.lastActivity;
  const minutes = Math.max(1, (until - block.firstActivity) / MINUTE_MS);
  return { tokensPerMinute: block.tokens.total / minutes, costPerHour: (block.costUsd / minutes) * 60, minutes };
}

/** How fast tokens and money went in the `minutes` before `now`. */
export function recentBurnRate(records: Iterable<UsageRecord>, prices: PriceTable, now: number, minutes: number): BurnRate {
  const since = now - minutes * MINUTE_MS;
  const costOfModel = pricer(prices);
  let tokens = 0;
  let cost = 0;
  for (const record of distinct(records)) {
    if (record.timestamp <= since || record.timestamp > now) continue;
    tokens += record.inputTokens + record.outputTokens + record.cacheCreationTokens + record.cacheReadTokens;
    cost += costOfModel(record.model, record) ?? 0;
  }
  return { tokensPerMinute: tokens / minutes, costPerHour: (cost / minutes) * 60, minutes };
}

/** The time left in an active block and its totals at the end if `rate` holds (default: the block's own rate); null for an ended block. */
export function projectBlock(block: UsageBlock, now: number, rate: BurnRate = blockBurnRate(block, now)): BlockProjection | null {
  if (!block.active) return null;
  const timeLeftMs = Math.max(0, block.end - now);
  const minutesLeft = timeLeftMs / MINUTE_MS;
  return {
    timeLeftMs,
    tokens: block.tokens.total + rate.tokensPerMinute * minutesLeft,
    costUsd: block.costUsd + (rate.costPerHour / 60) * minutesLeft,
    rate,
  };
}

/** Blocks, the active one, its burn rate and projection, and the rate over the last `recentMinutes` (default 10). */
export function usageSnapshot(
  records: Iterable<UsageRecord>,
  prices: PriceTable,
  now: number,
  options: { recentMinutes?: number } = {},
): UsageSnapshot {
  const list = [...records];
  const blocks = buildBlocks(list, prices, now);
  const active = activeBlock(blocks);
  const burnRate = active ? blockBurnRate(active, now) : null;
  return {
    now,
    blocks,
    active,
    burnRate,
    recentBurnRate: recentBurnRate(list, prices, now, options.recentMinutes ?? 10),
    projection: active && burnRate ? projectBlock(active, now, burnRate) : null,
  };
}
