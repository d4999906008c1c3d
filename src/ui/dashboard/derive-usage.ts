/**
 * Usage and cost from the native host's usage report (native-host/claude-code/usage-monitor.ts,
 * `report()`, which the host hands the hub): chart series per 5-hour block and per day, the active
 * block's burn rate and projection, and where the person stands against their limits — Claude
 * Code's own percentages when it gave them, else the P90 estimate. Pure; a report that is missing
 * or malformed becomes a reason, never an exception.
 */
import type { UsageReport } from './dashboard-hub';
import { countdownText, formatPercent, formatTokens, formatUsd } from './format';

/** uPlot's data: x (unix seconds) then one array per series. */
export interface ChartSeries {
  x: number[];
  series: { label: string; unit: 'tokens' | 'USD'; values: number[] }[];
}

export interface LimitRow {
  window: '5-hour' | '7-day';
  /** where the number comes from, in words */
  source: string;
  used: string;
  usedPercentage: number | null;
  resetsAt: number | null;
}

export interface ActiveBlock {
  start: number;
  end: number;
  tokens: number;
  costUsd: number;
  /** cost is a lower bound: these models have no price */
  unpriced: string[];
  burn: string | null;
  recentBurn: string;
  projection: string | null;
}

export type UsageView =
  | { kind: 'none'; reason: string }
  | {
      kind: 'report';
      now: number;
      blocks: ChartSeries;
      days: ChartSeries;
      active: ActiveBlock | null;
      limits: LimitRow[];
      totals: { tokens: number; costUsd: number; blocks: number };
      /** what the report itself says is wrong (the price file) */
      problems: string[];
    };

export interface UsageInput {
  /** the 'usage' answer: a report, or null when no host has sent one */
  report: unknown;
  /** the request failed: the hub does not know it yet, or could not answer */
  error?: string;
  /** the native host is connected (hub-status) */
  hostConnected: boolean;
}

type Block = UsageReport['snapshot']['blocks'][number];

function isBlock(block: unknown): block is Block {
  const b = block as Block;
  return (
    typeof b === 'object' &&
    b !== null &&
    Number.isFinite(b.start) &&
    Number.isFinite(b.end) &&
    typeof b.tokens === 'object' &&
    b.tokens !== null &&
    Number.isFinite(b.tokens.total) &&
    Number.isFinite(b.costUsd)
  );
}

/** The local midnight of the day `at` falls on. */
export function dayStart(at: number): number {
  const date = new Date(at);
  date.setHours(0, 0, 0, 0);
  return date.getTime();
}

export function blockSeries(blocks: readonly Block[]): ChartSeries {
  return {
    x: blocks.map((b) => Math.floor(b.start / 1_000)),
    series: [
      { label: 'Tokens per 5-hour block', unit: 'tokens', values: blocks.map((b) => b.tokens.total) },
      { label: 'Cost per 5-hour block', unit: 'USD', values: blocks.map((b) => b.costUsd) },
    ],
  };
}

/** Blocks added up by the day they started on (a block across midnight counts for its first day). */
export function daySeries(blocks: readonly Block[]): ChartSeries {
  const days = new Map<number, { tokens: number; cost: number }>();
  for (const block of blocks) {
    const day = dayStart(block.start);
    const sum = days.get(day) ?? { tokens: 0, cost: 0 };
    sum.tokens += block.tokens.total;
    sum.cost += block.costUsd;
    days.set(day, sum);
  }
  const sorted = [...days].sort(([a], [b]) => a - b);
  return {
    x: sorted.map(([day]) => Math.floor(day / 1_000)),
    series: [
      { label: 'Tokens per day', unit: 'tokens', values: sorted.map(([, s]) => s.tokens) },
      { label: 'Cost per day', unit: 'USD', values: sorted.map(([, s]) => s.cost) },
    ],
  };
}

const SOURCES: Record<string, string> = {
  statusLine: "Claude Code's own figure",
  p90: 'estimated from your busiest blocks (P90)',
  unknown: 'not known yet',
};

function limitRow(window: LimitRow['window'], status: unknown): LimitRow {
  const s = (status ?? {}) as { source?: unknown; usedPercentage?: unknown; resetsAt?: unknown; tokenLimit?: unknown; tokensUsed?: unknown };
  const source = typeof s.source === 'string' && s.source in SOURCES ? s.source : 'unknown';
  const usedPercentage = typeof s.usedPercentage === 'number' && Number.isFinite(s.usedPercentage) ? s.usedPercentage : null;
  const resetsAt = typeof s.resetsAt === 'number' && Number.isFinite(s.resetsAt) ? s.resetsAt : null;
  let used = usedPercentage === null ? 'unknown' : formatPercent(usedPercentage);
  if (source === 'p90' && typeof s.tokenLimit === 'number' && typeof s.tokensUsed === 'number') {
    used += ` (${formatTokens(s.tokensUsed)} of ≈${formatTokens(s.tokenLimit)} tokens)`;
  }
  return { window, source: SOURCES[source], used, usedPercentage, resetsAt };
}

function rate(value: unknown): { tokensPerMinute: number; costPerHour: number } | null {
  const r = value as { tokensPerMinute?: unknown; costPerHour?: unknown } | null;
  if (!r || typeof r.tokensPerMinute !== 'number' || typeof r.costPerHour !== 'number') return null;
  return { tokensPerMinute: r.tokensPerMinute, costPerHour: r.costPerHour };
}

const rateText = (r: { tokensPerMinute: number; costPerHour: number }) => `${formatTokens(r.tokensPerMinute)} tokens/min · ${formatUsd(r.costPerHour)}/h`;

/** Why there is nothing to chart, in words a person can act on. */
function noReport({ error, hostConnected }: UsageInput): string {
  if (error && /expected a request with type/.test(error)) return 'This version of the hub cannot report usage yet.';
  if (error) return `The hub could not report usage: ${error}`;
  if (!hostConnected) return 'Usage comes from the native host, which is not connected. Install it with `switchboard host install`, then reopen the browser.';
  return 'The native host has sent no usage report yet: no Claude Code session has used tokens since it started.';
}

export function deriveUsage(input: UsageInput): UsageView {
  const report = input.report as Partial<UsageReport> | null | undefined;
  if (input.error || report === null || report === undefined) return { kind: 'none', reason: noReport(input) };
  const snapshot = report.snapshot;
  if (typeof report !== 'object' || !snapshot || !Array.isArray(snapshot.blocks)) {
    return { kind: 'none', reason: 'The usage report from the native host could not be read (it has no blocks).' };
  }
  const blocks = snapshot.blocks.filter(isBlock).sort((a, b) => a.start - b.start);
  if (!blocks.length) {
    return { kind: 'none', reason: 'No Claude Code usage yet: the native host has read no token usage from any session transcript.' };
  }
  const now = Number.isFinite(snapshot.now) ? snapshot.now : Date.now();
  const current = isBlock(snapshot.active) ? snapshot.active : blocks.find((b) => b.start <= now && now < b.end);
  const burn = rate(snapshot.burnRate);
  const recent = rate(snapshot.recentBurnRate);
  const projection = snapshot.projection as { tokens?: unknown; costUsd?: unknown } | null | undefined;
  const active: ActiveBlock | null = current
    ? {
        start: current.start,
        end: current.end,
        tokens: current.tokens.total,
        costUsd: current.costUsd,
        unpriced: Array.isArray(current.unpricedModels) ? current.unpricedModels.filter((m) => typeof m === 'string') : [],
        burn: burn ? rateText(burn) : null,
        recentBurn: recent ? rateText(recent) : 'unknown',
        projection:
          projection && typeof projection.tokens === 'number' && typeof projection.costUsd === 'number'
            ? `${formatTokens(projection.tokens)} tokens, ${formatUsd(projection.costUsd)} by the block's end (${countdownText(current.end, now)})`
            : null,
      }
    : null;
  const problems: string[] = [];
  const priceError = (report.prices as { error?: unknown } | undefined)?.error;
  if (typeof priceError === 'string') problems.push(`Your price file is not used (costs use the bundled prices): ${priceError}`);
  const limits = report.limits as { fiveHour?: unknown; sevenDay?: unknown } | undefined;
  return {
    kind: 'report',
    now,
    blocks: blockSeries(blocks),
    days: daySeries(blocks),
    active,
    limits: [limitRow('5-hour', limits?.fiveHour), limitRow('7-day', limits?.sevenDay)],
    totals: { tokens: blocks.reduce((s, b) => s + b.tokens.total, 0), costUsd: blocks.reduce((s, b) => s + b.costUsd, 0), blocks: blocks.length },
    problems,
  };
}

