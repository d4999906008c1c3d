/**
 * How close the person is to their limits (issue 5: "a P90 limit estimate from the person's own
 * history, and the real percentages Claude Code gives subscribers (statusLine `rate_limits`)
 * whenever present — those win over estimates").
 *
 * The estimate: Anthropic does not publish subscription limits in tokens, but a person's own busy
 * blocks show roughly where theirs lies. It is the 90th percentile of the token totals of their
 * completed blocks — high enough to sit near the blocks where they ran into the limit, without
 * letting one freak block set it. Blocks with little activity say nothing about the limit and are
 * left out; with too short a history there is no estimate ("unknown"), not a guess.
 *
 * The real numbers: for subscribers, Claude Code passes the status line command
 * `rate_limits: { five_hour: { used_percentage, resets_at }, seven_day: {…} }` (resets_at in epoch
 * seconds; seen in 2.1.329's source). Any of it can be missing — API-key users get none, and a
 * window appears only after the session's first response — so each window is read on its own and
 * a bad field drops that window, not the reading. A reading is used while it is fresh: recent, and
 * its window not yet reset.
 */
import { z } from 'zod';
import { fieldPath } from '../../../src/protocol/envelope';
import type { UsageBlock } from './blocks';

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

export interface LimitEstimateOptions {
  /** Completed blocks with enough activity needed for an estimate. Default 5: with fewer, a 90th percentile is just the largest block. */
  minBlocks?: number;
  /** A block with fewer API responses than this is too little activity to count. Default 10. */
  minRequests?: number;
  /** Only blocks that started in the last this many days count. Default 30: an older block may predate a change of plan. */
  historyDays?: number;
  /** Default 90. */
  percentile?: number;
}

export type LimitEstimate =
  | {
      source: 'p90';
      /** the estimated limit of a 5-hour block, in tokens (all four kinds, as UsageBlock.tokens.total) */
      tokens: number;
      /** the same percentile of the blocks' cost, USD */
      costUsd: number;
      /** the blocks it was estimated from */
      blocks: number;
    }
  | { source: 'unknown'; blocks: number; needed: number; reason: string };

/** The p-th percentile (0–100) of `values`, interpolating between the two nearest ranks. NaN for no values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (Math.min(100, Math.max(0, p)) / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
}

/** The P90 token limit of a block, from the completed blocks in `blocks`. */
export function estimateLimit(blocks: readonly UsageBlock[], now: number, options: LimitEstimateOptions = {}): LimitEstimate {
  const minBlocks = options.minBlocks ?? 5;
  const minRequests = options.minRequests ?? 10;
  const since = now - (options.historyDays ?? 30) * DAY_MS;
  const p = options.percentile ?? 90;
  const usable = blocks.filter((block) => !block.active && block.end <= now && block.start >= since && block.requests >= minRequests);
  if (usable.length < minBlocks) {
    return {
      source: 'unknown',
      blocks: usable.length,
      needed: minBlocks,
      reason: `${usable.length} of the ${minBlocks} completed 5-hour blocks with at least ${minRequests} requests needed for an estimate`,
    };
  }
  return {
    source: 'p90',
    tokens: Math.round(percentile(usable.map((block) => block.tokens.total), p)),
    costUsd: percentile(usable.map((block) => block.costUsd), p),
    blocks: usable.length,
  };
}

// ---------------------------------------------------------------------------------------------
// The status line's rate_limits

/** epoch seconds as Claude Code sends them; milliseconds and ISO times are taken too */
const RESETS_AT_HINT = 'expected epoch seconds or an ISO time';
const ResetsAt = z
  .union([z.number({ error: RESETS_AT_HINT }).positive({ error: RESETS_AT_HINT }), z.iso.datetime({ offset: true, error: RESETS_AT_HINT })], { error: RESETS_AT_HINT })
  .transform((value) => {
    if (typeof value === 'string') return Date.parse(value);
    return value < 1e12 ? value * 1000 : value;
  });

export const StatusLineWindow = z.object({
  used_percentage: z.number({ error: 'expected a percentage' }).min(0, { error: 'expected a percentage ≥ 0' }),
  resets_at: ResetsAt.nullish(),
});

export interface RateLimitWindow {
  /** 0–100 (more when over the limit) */
  usedPercentage: number;
  /** ms since epoch; null when not said */
  resetsAt: number | null;
}

export interface RateLimitReading {
  /** when the status line input was received (ms since epoch) */
  at: number;
  fiveHour: RateLimitWindow | null;
  sevenDay: RateLimitWindow | null;
  /** fields that were there but could not be read, naming each; those windows are null */
  problems: string[];
}

const WINDOWS = [
  ['five_hour', 'fiveHour'],
  ['seven_day', 'sevenDay'],
] as const;

/**
 * The rate limits in a status line input (the whole JSON Claude Code gives the status line command),
 * or null when it has none.
 */
export function readRateLimits(statusLineInput: unknown, at: number): RateLimitReading | null {
  if (typeof statusLineInput !== 'object' || statusLineInput === null) return null;
  const limits = (statusLineInput as { rate_limits?: unknown }).rate_limits;
  if (limits === undefined || limits === null) return null;
  const reading: RateLimitReading = { at, fiveHour: null, sevenDay: null, problems: [] };
  if (typeof limits !== 'object' || Array.isArray(limits)) {
    reading.problems.push('rate_limits: expected an object');
    return reading;
  }
  for (const [field, name] of WINDOWS) {
    const value = (limits as Record<string, unknown>)[field];
    if (value === undefined || value === null) continue;
    const parsed = StatusLineWindow.safeParse(value);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) reading.problems.push(`${fieldPath(['rate_limits', field, ...issue.path])}: ${issue.message}`);
      continue;
    }
    reading[name] = { usedPercentage: parsed.data.used_percentage, resetsAt: parsed.data.resets_at ?? null };
  }
  return reading;
}

// ---------------------------------------------------------------------------------------------
// Where the person stands

export interface WindowStatus {
  /** statusLine: Claude Code's own number; p90: the active block against the estimate */
  source: 'statusLine' | 'p90' | 'unknown';
  usedPercentage: number | null;
  resetsAt: number | null;
  /** p90 only: the estimated limit and the active block's tokens */
  tokenLimit?: number;
  tokensUsed?: number;
}

export interface LimitStatus {
  fiveHour: WindowStatus;
  /** only Claude Code knows the weekly window: statusLine or unknown */
  sevenDay: WindowStatus;
}

export interface LimitStatusInput {
  now: number;
  /** the active block, if any */
  active: UsageBlock | undefined;
  estimate: LimitEstimate;
  /** the newest status line reading, if any */
  reading: RateLimitReading | null;
}

export interface LimitStatusOptions {
  /** How long a status line reading counts as current, in ms. Default 15 min: Claude Code refreshes it with every response. */
  maxReadingAgeMs?: number;
}

/** The five-hour and weekly standing: a fresh statusLine number wherever there is one, else the estimate. */
export function limitStatus(input: LimitStatusInput, options: LimitStatusOptions = {}): LimitStatus {
  const { now, active, estimate, reading } = input;
  const maxAge = options.maxReadingAgeMs ?? 15 * MINUTE_MS;
  // A reading from the future beyond clock jitter is as doubtful as an old one.
  const recent = reading !== null && now - reading.at <= maxAge && reading.at <= now + MINUTE_MS;
  /** the window when it is current: a recent reading, and the window has not reset since */
  const current = (window: RateLimitWindow | null | undefined) =>
    recent && window && (window.resetsAt === null || window.resetsAt > now) ? window : null;
  const fromReading = (window: RateLimitWindow): WindowStatus => ({ source: 'statusLine', usedPercentage: window.usedPercentage, resetsAt: window.resetsAt });

  const fiveHourReading = current(reading?.fiveHour);
  let fiveHour: WindowStatus;
  if (fiveHourReading) fiveHour = fromReading(fiveHourReading);
  else if (estimate.source === 'p90') {
    const used = active?.tokens.total ?? 0;
    fiveHour = {
      source: 'p90',
      usedPercentage: estimate.tokens > 0 ? (used / estimate.tokens) * 100 : null,
      resetsAt: active?.end ?? null,
      tokenLimit: estimate.tokens,
      tokensUsed: used,
    };
  } else fiveHour = { source: 'unknown', usedPercentage: null, resetsAt: active?.end ?? null };

  const sevenDayReading = current(reading?.sevenDay);
  const sevenDay: WindowStatus = sevenDayReading ? fromReading(sevenDayReading) : { source: 'unknown', usedPercentage: null, resetsAt: null };
  return { fiveHour, sevenDay };
}
