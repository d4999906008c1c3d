/**
 * What the bus knows about each destination (a recipient address), as pure functions of
 * (record, now): a circuit breaker, and a hold with its recovery strategy. Platform-free: every
 * agent kind that can hit a usage or rate limit (claude.ai tabs, Claude Code, Claude Desktop) uses
 * the same holds.
 *
 *   closed ──N failures in a row──▶ open ──cool-down──▶ half-open ──probe succeeds──▶ closed
 *                                    ▲                      │
 *                                    └─probe fails (longer cool-down)
 *
 * Holds, by strategy:
 *   exponential_backoff   no end time: one probe attempt at growing intervals until one works, then released
 *   session_pause         until a time (a limit's reset): notified, then resumed by itself
 *   graceful_degradation  held work goes to the fallback agent the person chose, until released
 * Deliveries to a destination that is open or held wait — never fail for it — in their order.
 */
import { z } from 'zod';
import { AgentAddress } from '../protocol/address';

export const HOLD_STRATEGIES = ['exponential_backoff', 'session_pause', 'graceful_degradation'] as const;
export type HoldStrategy = (typeof HOLD_STRATEGIES)[number];

export const HoldRequest = z
  .strictObject({
    address: AgentAddress,
    strategy: z.enum(HOLD_STRATEGIES),
    reason: z.string().min(1).max(500),
    /** session_pause: when to resume (epoch ms); others: optional end */
    until: z.int().positive().optional(),
    /** graceful_degradation: the agent that takes the held work */
    fallback: AgentAddress.optional(),
    /** who is told when the hold starts and ends (default: nobody) */
    notify: AgentAddress.optional(),
  })
  .refine((h) => h.strategy !== 'session_pause' || h.until !== undefined, { error: 'session_pause needs until: the time to resume', path: ['until'] })
  .refine((h) => h.strategy !== 'graceful_degradation' || h.fallback !== undefined, {
    error: 'graceful_degradation needs fallback: the agent that takes the held work',
    path: ['fallback'],
  })
  .refine((h) => h.fallback === undefined || h.fallback !== h.address, { error: 'fallback must be another agent', path: ['fallback'] });
export type HoldRequest = z.output<typeof HoldRequest>;

export interface Hold {
  strategy: HoldStrategy;
  reason: string;
  since: number;
  until?: number;
  fallback?: string;
  notify?: string;
  /** exponential_backoff: probes that failed so far, and when the next may go */
  probes: number;
  nextProbeAt?: number;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface DestinationEvent {
  at: number;
  event: 'opened' | 'half-opened' | 'closed' | 'held' | 'released' | 'probe failed';
  note?: string;
}

export interface DestinationRecord {
  address: string;
  breaker: BreakerState;
  /** failed attempts in a row */
  failures: number;
  /** times the breaker opened in a row: each doubles the cool-down */
  trips: number;
  /** open: when one probe may go (and the breaker half-opens) */
  reopenAt?: number;
  /** a probe attempt is out (half-open, or an exponential_backoff hold) */
  probing: boolean;
  hold?: Hold;
  /**
   * The last exponential_backoff hold a probe released: when, and after how many failed probes. A
   * probe "gets through" when its agent's side takes the message, but some agents fail only later
   * (a Claude Code session woken after a rate limit meets the limit again): held again soon after,
   * the backoff goes on growing instead of starting over.
   */
  lastBackoff?: { probes: number; releasedAt: number };
  /** the latest events, newest last */
  history: DestinationEvent[];
}

export interface BreakerPolicy {
  /** failed attempts in a row that open the breaker (default 5) */
  failureThreshold: number;
  /** first cool-down before a probe, in ms (default 30 s); doubles with each trip */
  coolDownMs: number;
  /** longest cool-down, and longest wait between exponential_backoff probes, in ms (default 10 min) */
  maxCoolDownMs: number;
  /** first wait between exponential_backoff probes, in ms (default 5 s) */
  probeBaseMs: number;
}

export const DEFAULT_BREAKER_POLICY: BreakerPolicy = {
  failureThreshold: 5,
  coolDownMs: 30_000,
  maxCoolDownMs: 10 * 60_000,
  probeBaseMs: 5_000,
};

const HISTORY_KEPT = 50;

export function newDestination(address: string): DestinationRecord {
  return { address, breaker: 'closed', failures: 0, trips: 0, probing: false, history: [] };
}

function withEvent(record: DestinationRecord, event: DestinationEvent): DestinationRecord {
  return { ...record, history: [...record.history, event].slice(-HISTORY_KEPT) };
}

/**
 * May an attempt go to this destination now? If not, `until` says when to look again (absent: not
 * before the hold is released). `probe` marks the one attempt a half-open breaker or an
 * exponential_backoff hold lets through; `record` is the destination after the decision.
 */
export type Gate =
  | { open: true; probe: boolean; record: DestinationRecord }
  | { open: false; until: number | undefined; reason: string; record: DestinationRecord }
  | { open: false; reroute: string; reason: string; record: DestinationRecord };

export function gate(record: DestinationRecord, now: number): Gate {
  const { hold } = record;
  if (hold) {
    if (hold.until !== undefined && now >= hold.until) {
      return gate(release(record, now, 'hold ended'), now);
    }
    if (hold.strategy === 'graceful_degradation') {
      return { open: false, reroute: hold.fallback!, reason: `held (${hold.reason}); re-routed to ${hold.fallback}`, record };
    }
    if (hold.strategy === 'exponential_backoff') {
      if (record.probing || (hold.nextProbeAt !== undefined && now < hold.nextProbeAt)) {
        return { open: false, until: hold.nextProbeAt, reason: `held (${hold.reason}); probing`, record };
      }
      return { open: true, probe: true, record: { ...record, probing: true } };
    }
    return { open: false, until: hold.until, reason: `held (${hold.reason})`, record };
  }
  if (record.breaker === 'open') {
    if (now < record.reopenAt!) return { open: false, until: record.reopenAt, reason: 'circuit open after repeated failures', record };
    record = withEvent({ ...record, breaker: 'half-open' }, { at: now, event: 'half-opened' });
  }
  if (record.breaker === 'half-open') {
    if (record.probing) return { open: false, until: now + 1_000, reason: 'circuit half-open: a probe is out', record };
    return { open: true, probe: true, record: { ...record, probing: true } };
  }
  return { open: true, probe: false, record };
}

/** An attempt to this destination worked. A healthy destination's record stays the same object: nothing to write. */
export function succeeded(record: DestinationRecord, now: number): DestinationRecord {
  if (record.failures === 0 && !record.probing && record.breaker === 'closed' && !record.hold) return record;
  let next: DestinationRecord = { ...record, failures: 0, probing: false };
  if (record.hold?.strategy === 'exponential_backoff') {
    next = { ...release(next, now, 'a probe got through'), lastBackoff: { probes: record.hold.probes, releasedAt: now } };
  }
  if (record.breaker !== 'closed') next = withEvent({ ...next, breaker: 'closed', trips: 0, reopenAt: undefined }, { at: now, event: 'closed' });
  return next;
}

/** An attempt to this destination failed. */
export function failed(record: DestinationRecord, now: number, error: string, policy: BreakerPolicy): DestinationRecord {
  const failures = record.failures + 1;
  const { hold } = record;
  if (hold?.strategy === 'exponential_backoff') {
    const probes = hold.probes + 1;
    const wait = Math.min(policy.maxCoolDownMs, policy.probeBaseMs * 2 ** (probes - 1));
    return withEvent(
      { ...record, failures, probing: false, hold: { ...hold, probes, nextProbeAt: now + wait } },
      { at: now, event: 'probe failed', note: `${error}; next probe in ${wait} ms` },
    );
  }
  if (record.breaker === 'half-open' || (record.breaker === 'closed' && failures >= policy.failureThreshold)) {
    const trips = record.trips + 1;
    const coolDown = Math.min(policy.maxCoolDownMs, policy.coolDownMs * 2 ** (trips - 1));
    return withEvent(
      { ...record, failures, probing: false, breaker: 'open', trips, reopenAt: now + coolDown },
      { at: now, event: 'opened', note: `${failures} failures in a row (last: ${error}); probe in ${coolDown} ms` },
    );
  }
  return { ...record, failures, probing: false };
}

export function hold(record: DestinationRecord, request: HoldRequest, now: number, policy: BreakerPolicy): DestinationRecord {
  const next: Hold = { strategy: request.strategy, reason: request.reason, since: now, probes: 0 };
  if (request.until !== undefined) next.until = request.until;
  if (request.fallback !== undefined) next.fallback = request.fallback;
  if (request.notify !== undefined) next.notify = request.notify;
  if (request.strategy === 'exponential_backoff' && record.hold?.strategy === 'exponential_backoff') {
    // Asked again while backing off: the backoff goes on as it was, not from its first wait.
    next.since = record.hold.since;
    next.probes = record.hold.probes;
    next.nextProbeAt = record.hold.nextProbeAt;
  } else if (request.strategy === 'exponential_backoff') {
    // Held again within the longest wait of the last backoff's release: its probe did not really work.
    const again = record.lastBackoff !== undefined && now - record.lastBackoff.releasedAt < policy.maxCoolDownMs;
    next.probes = again ? record.lastBackoff!.probes + 1 : 0;
    next.nextProbeAt = now + Math.min(policy.maxCoolDownMs, policy.probeBaseMs * 2 ** next.probes);
  }
  const until = request.until !== undefined ? ` until ${new Date(request.until).toISOString()}` : '';
  return withEvent({ ...record, hold: next, probing: false }, { at: now, event: 'held', note: `${request.strategy}: ${request.reason}${until}` });
}

export function release(record: DestinationRecord, now: number, why: string): DestinationRecord {
  if (!record.hold) return record;
  const { hold: _, ...rest } = record;
  return withEvent({ ...rest, probing: false }, { at: now, event: 'released', note: why });
}
