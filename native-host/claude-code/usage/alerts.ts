/**
 * Usage alerts (issue 5: "Alerts with configurable thresholds (defaults: tokens 80 % of the limit,
 * session time 4.5 h, cost $50 per block, rate-limit use 90 %)"). Storing, showing and sending them
 * to webhooks is the daemon's; this decides when one is due.
 *
 * An alert is raised once per 5-hour block, not on every evaluation: the state remembers what was
 * raised in the current block, and when the block ends those alerts are cleared (returned, so the
 * hub can mark them over) and may be raised again in the next block. A warning that grows critical
 * (past 100 % of a limit) is raised once more, as critical. The state is plain JSON, so the daemon
 * can keep it across a restart without raising everything again.
 */
import { z } from 'zod';
import { parseOrThrow } from '../../../src/protocol/envelope';
import type { UsageBlock } from './blocks';
import type { LimitStatus } from './limits';
import { objectError } from './object-error';

const HOUR_MS = 3_600_000;

const percent = (what: string) =>
  z
    .number({ error: `expected ${what}: a percentage above 0, or null to turn it off` })
    .gt(0, { error: `expected ${what}: a percentage above 0, or null to turn it off` })
    .max(1000, { error: `expected ${what}: a percentage up to 1000, or null to turn it off` })
    .nullable();

export const AlertThresholds = z.strictObject(
  {
    /** The active block's tokens against the estimated (P90) limit, in %. Default 80. Used only when Claude Code gives no real percentage. */
    tokenPercent: percent('the share of the estimated limit').default(80),
    /** Hours since the block began: the block resets at 5. Default 4.5. */
    sessionHours: z
      .number({ error: 'expected hours from more than 0 to 5, or null to turn it off' })
      .gt(0, { error: 'expected hours from more than 0 to 5, or null to turn it off' })
      .max(5, { error: 'expected hours from more than 0 to 5, or null to turn it off' })
      .nullable()
      .default(4.5),
    /** The block's cost so far, in USD. Default 50. */
    costPerBlockUsd: z
      .number({ error: 'expected US dollars above 0, or null to turn it off' })
      .gt(0, { error: 'expected US dollars above 0, or null to turn it off' })
      .nullable()
      .default(50),
    /** Claude Code's own five-hour or weekly percentage (statusLine rate_limits), in %. Default 90. */
    rateLimitPercent: percent('the share of the rate limit').default(90),
  },
  {
    error: objectError('expected an object of alert thresholds: tokenPercent, sessionHours, costPerBlockUsd, rateLimitPercent', [
      'tokenPercent',
      'sessionHours',
      'costPerBlockUsd',
      'rateLimitPercent',
    ]),
  },
);
export type AlertThresholds = z.infer<typeof AlertThresholds>;

export const DEFAULT_THRESHOLDS: AlertThresholds = AlertThresholds.parse({});

/** Thresholds from configuration: missing ones take their defaults. Throws ValidationError naming the field. */
export function parseAlertThresholds(input: unknown): AlertThresholds {
  return parseOrThrow(AlertThresholds, input ?? {}, 'usage alert thresholds');
}

/** `rate-limited`: a session hit a rate limit and is held (raised by the usage monitor, not by thresholds). */
export type AlertKind = 'tokens' | 'session-time' | 'cost' | 'rate-limit-five-hour' | 'rate-limit-seven-day' | 'rate-limited';
export type AlertSeverity = 'info' | 'warning' | 'critical';

export interface UsageAlert {
  kind: AlertKind;
  severity: AlertSeverity;
  text: string;
  /** what was measured: % for tokens and rate limits, hours for session time, USD for cost */
  value: number;
  /** the threshold it crossed, in the same unit */
  threshold: number;
  /** the block it belongs to (UsageBlock.id), null outside any block */
  blockId: string | null;
  /** when it was raised (ms since epoch) */
  at: number;
}

export interface AlertState {
  /** the block the raised alerts belong to */
  blockId: string | null;
  raised: UsageAlert[];
}

export const INITIAL_ALERT_STATE: AlertState = { blockId: null, raised: [] };

export interface AlertSnapshot {
  now: number;
  /** the active block, if any */
  active: UsageBlock | undefined;
  limits: LimitStatus;
}

export interface AlertEvaluation {
  /** alerts due now, raised for the first time in this block */
  raised: UsageAlert[];
  /** alerts of a block that has ended */
  cleared: UsageAlert[];
  state: AlertState;
}

/** The alerts due for `snapshot` that were not raised yet in its block. Pure: the new state is returned. */
export function evaluateAlerts(snapshot: AlertSnapshot, thresholds: AlertThresholds, state: AlertState): AlertEvaluation {
  const { now, active, limits } = snapshot;
  const blockId = active?.id ?? null;
  const cleared = state.blockId === blockId ? [] : state.raised;
  const already = state.blockId === blockId ? state.raised : [];
  const resets = (at: number | null) => (at === null ? '' : `; it resets in ${formatDuration(at - now)}`);

  const due: Omit<UsageAlert, 'blockId' | 'at'>[] = [];
  const crossed = (value: number, threshold: number | null) => threshold !== null && value >= threshold;

  if (limits.fiveHour.source === 'p90' && limits.fiveHour.usedPercentage !== null && crossed(limits.fiveHour.usedPercentage, thresholds.tokenPercent)) {
    const value = limits.fiveHour.usedPercentage;
    due.push({
      kind: 'tokens',
      severity: value >= 100 ? 'critical' : 'warning',
      text: `Claude Code has used ${Math.round(value)} % of the estimated 5-hour limit (${formatCount(limits.fiveHour.tokensUsed ?? 0)} of about ${formatCount(limits.fiveHour.tokenLimit ?? 0)} tokens)${resets(limits.fiveHour.resetsAt)}.`,
      value,
      threshold: thresholds.tokenPercent!,
    });
  }
  for (const [kind, window, name] of [
    ['rate-limit-five-hour', limits.fiveHour, '5-hour'],
    ['rate-limit-seven-day', limits.sevenDay, 'weekly'],
  ] as const) {
    if (window.source !== 'statusLine' || window.usedPercentage === null || !crossed(window.usedPercentage, thresholds.rateLimitPercent)) continue;
    const value = window.usedPercentage;
    due.push({
      kind,
      severity: value >= 100 ? 'critical' : 'warning',
      text: `Claude Code's ${name} limit is ${Math.round(value)} % used${resets(window.resetsAt)}.`,
      value,
      threshold: thresholds.rateLimitPercent!,
    });
  }
  if (active) {
    const hours = (now - active.start) / HOUR_MS;
    if (crossed(hours, thresholds.sessionHours)) {
      due.push({
        kind: 'session-time',
        severity: 'info',
        text: `The 5-hour block has been running ${formatDuration(now - active.start)}${resets(active.end)}.`,
        value: hours,
        threshold: thresholds.sessionHours!,
      });
    }
    if (crossed(active.costUsd, thresholds.costPerBlockUsd)) {
      const partial = active.unpricedModels.length > 0 ? ` (more: ${active.unpricedModels.join(', ')} ${active.unpricedModels.length === 1 ? 'has' : 'have'} no price)` : '';
      due.push({
        kind: 'cost',
        severity: 'warning',
        text: `This 5-hour block has cost $${active.costUsd.toFixed(2)} so far${partial}, past the $${thresholds.costPerBlockUsd} alert.`,
        value: active.costUsd,
        threshold: thresholds.costPerBlockUsd!,
      });
    }
  }

  const raised = due
    .filter((alert) => !already.some((earlier) => earlier.kind === alert.kind && earlier.severity === alert.severity))
    .map((alert) => ({ ...alert, blockId, at: now }));
  return { raised, cleared, state: { blockId, raised: [...already, ...raised] } };
}

/** `2 d 4 h`, `1 h 20 min`, `40 min`, `under a minute`. */
export function formatDuration(ms: number): string {
  const minutes = Math.floor(Math.max(0, ms) / 60_000);
  if (minutes < 1) return 'under a minute';
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const rest = minutes % 60;
  if (days > 0) return hours > 0 ? `${days} d ${hours} h` : `${days} d`;
  if (hours > 0) return rest > 0 ? `${hours} h ${rest} min` : `${hours} h`;
  return `${rest} min`;
}

const formatCount = (count: number) => Math.round(count).toLocaleString('en-US');
