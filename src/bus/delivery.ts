/**
 * Per-recipient delivery state and its transitions, as pure functions of (delivery, now).
 *
 *   queued ──attempt──▶ sent ──adapter ok──▶ delivered ──ack──▶ acked
 *     ▲                  │ ▲                    │
 *     │                  │ └─pending (the agent's side holds it; confirmDelivered ends the wait)
 *     └──retry (backoff)─┴──────ack timeout─────┘
 *   any unfinished state ──▶ failed (permanent error, attempts used up) | expired (TTL passed)
 *
 * `dueAt` is set only while the bus has something left to do for the delivery (attempt, lease end,
 * ack deadline, expiry), so the store's due index holds only live deliveries.
 */
import type { TtlPolicy } from '../protocol/envelope';

export const DELIVERY_STATES = ['queued', 'sent', 'delivered', 'acked', 'failed', 'expired', 'rerouted'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];
export const FINAL_STATES: ReadonlySet<DeliveryState> = new Set(['acked', 'failed', 'expired', 'rerouted']);

export interface DeliveryStep {
  state: DeliveryState;
  at: number;
  /** why: the error of a failed attempt, when the retry is due, what expired */
  note?: string;
}

export interface Delivery {
  messageId: string;
  recipient: string;
  state: DeliveryState;
  /** rank of the message's priority: 0 goes first */
  priority: number;
  attempts: number;
  ackRequired: boolean;
  /** when the bus must next act on this delivery; absent once nothing is left to do */
  dueAt?: number;
  /** delivery deadline from the TTL policy; absent for `permanent` */
  expiresAt?: number;
  /** `immediate` TTL: one attempt only */
  once: boolean;
  lastError?: string;
  history: DeliveryStep[];
  /** how long to keep it once finished, from its TTL policy; absent: for good */
  retainFor?: number;
  /** set when it finishes: after this it is archived, then purged */
  retainUntil?: number;
  /**
   * The agent's side holds the message until the agent can take it (a Claude Code session gets it
   * at its next hook point): the delivery stays `sent` until that side confirms.
   */
  pending?: true;
}

/** Nothing is left to do: acked, failed, expired, or delivered when no ack was asked for. */
export function isFinished(delivery: Delivery): boolean {
  return FINAL_STATES.has(delivery.state) || (delivery.state === 'delivered' && !delivery.ackRequired);
}

/** How long a finished delivery is kept under a TTL policy (the same period as its delivery deadline). */
export function retentionOf(ttl: TtlPolicy, ttlMs: Record<TtlPolicy, number>): number | undefined {
  const ms = ttlMs[ttl];
  return Number.isFinite(ms) ? ms : undefined;
}

/** Stamps the retention deadline on a delivery that has just finished. */
function retained(delivery: Delivery, now: number): Delivery {
  if (!isFinished(delivery) || delivery.retainFor === undefined) return delivery;
  return { ...delivery, retainUntil: now + delivery.retainFor };
}

export interface RetryPolicy {
  /** attempts before a delivery fails for good (default 10) */
  maxAttempts: number;
  /** wait before the first retry, in ms (default 1,000) */
  baseDelayMs: number;
  /** growth of the wait per attempt (default 2) */
  factor: number;
  /** longest wait between attempts, in ms (default 5 minutes) */
  maxDelayMs: number;
  /** how long an attempt may run before it counts as failed, in ms (default 30 s) */
  attemptTimeoutMs: number;
  /** how long to wait for an ack after delivery before redelivering, in ms (default 60 s) */
  ackTimeoutMs: number;
  /**
   * how long a pending delivery waits for its confirmation before the bus asks again (in case the
   * confirmation was lost), in ms (default 10 minutes); asking again uses up no attempt
   */
  pendingCheckMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 10,
  baseDelayMs: 1_000,
  factor: 2,
  maxDelayMs: 5 * 60_000,
  attemptTimeoutMs: 30_000,
  ackTimeoutMs: 60_000,
  pendingCheckMs: 10 * 60_000,
};

/**
 * The wait before retry number `attempt` (1 = the first retry): exponential, capped, with "equal
 * jitter" — half fixed, half random — so retries of a burst spread out but never come early.
 */
export function retryDelay(attempt: number, policy: RetryPolicy, random: number): number {
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * policy.factor ** (attempt - 1));
  return Math.round(exponential / 2 + (random * exponential) / 2);
}

function step(delivery: Delivery, state: DeliveryState, at: number, note?: string): Delivery['history'] {
  return [...delivery.history, note === undefined ? { state, at } : { state, at, note }];
}

function deadline(delivery: Delivery, at: number): number {
  return delivery.expiresAt === undefined ? at : Math.min(at, delivery.expiresAt);
}

/** The order the bus delivers in: most urgent priority, then earliest due, then oldest message (ids are time-ordered). */
export function byUrgency(a: Delivery, b: Delivery): number {
  return (
    a.priority - b.priority ||
    (a.dueAt ?? 0) - (b.dueAt ?? 0) ||
    (a.messageId < b.messageId ? -1 : a.messageId > b.messageId ? 1 : a.recipient < b.recipient ? -1 : a.recipient > b.recipient ? 1 : 0)
  );
}

export function isExpired(delivery: Delivery, now: number): boolean {
  return delivery.expiresAt !== undefined && now >= delivery.expiresAt && !FINAL_STATES.has(delivery.state);
}

function withoutPending(delivery: Delivery): Delivery {
  if (!delivery.pending) return delivery;
  const { pending: _, ...rest } = delivery;
  return rest;
}

export function expire(delivery: Delivery, now: number): Delivery {
  const note = delivery.state === 'delivered' ? 'TTL passed before an ack came' : 'TTL passed before delivery';
  return retained({ ...withoutPending(delivery), state: 'expired', dueAt: undefined, history: step(delivery, 'expired', now, note) }, now);
}

export function startAttempt(delivery: Delivery, now: number, policy: RetryPolicy): Delivery {
  const attempts = delivery.attempts + 1;
  return {
    ...delivery,
    state: 'sent',
    attempts,
    dueAt: now + policy.attemptTimeoutMs,
    history: step(delivery, 'sent', now, attempts > 1 ? `attempt ${attempts}` : undefined),
  };
}

export function attemptSucceeded(delivery: Delivery, now: number, policy: RetryPolicy): Delivery {
  return retained(
    {
      ...withoutPending(delivery),
      state: 'delivered',
      dueAt: delivery.ackRequired ? deadline(delivery, now + policy.ackTimeoutMs) : undefined,
      history: step(delivery, 'delivered', now),
    },
    now,
  );
}

/** The agent's side holds it and will say when the agent has it: stays `sent`, checked again later. */
export function attemptPending(delivery: Delivery, now: number, note: string, policy: RetryPolicy): Delivery {
  return { ...delivery, pending: true, dueAt: deadline(delivery, now + policy.pendingCheckMs), history: step(delivery, 'sent', now, note) };
}

/** The agent's side says the agent has it: delivered (then waiting for an ack when one is asked). */
export function confirmDelivered(delivery: Delivery, now: number, policy: RetryPolicy): Delivery | undefined {
  if (delivery.state !== 'sent' && delivery.state !== 'queued') return undefined;
  const { pending: _, ...rest } = delivery;
  return attemptSucceeded(rest, now, policy);
}

/**
 * An attempt failed (the adapter said so, threw, timed out, the worker died under it, or no ack
 * came): retry after a backoff, or fail for good when the error is permanent or attempts ran out.
 */
export function attemptFailed(
  delivery: Delivery,
  now: number,
  error: string,
  policy: RetryPolicy,
  random: number,
  permanent = false,
): Delivery {
  const outOfAttempts = delivery.once || delivery.attempts >= policy.maxAttempts;
  if (permanent || outOfAttempts) {
    const note = permanent || delivery.once ? error : `${error} (gave up after ${delivery.attempts} attempts)`;
    return retained({ ...withoutPending(delivery), state: 'failed', dueAt: undefined, lastError: error, history: step(delivery, 'failed', now, note) }, now);
  }
  const wait = retryDelay(delivery.attempts, policy, random);
  return {
    ...withoutPending(delivery),
    state: 'queued',
    dueAt: deadline(delivery, now + wait),
    lastError: error,
    history: step(delivery, 'queued', now, `${error}; retry in ${wait} ms`),
  };
}

/**
 * The receiver confirmed. An ack is accepted for anything the receiver can have seen — even a
 * delivery waiting for a retry because the adapter's own confirmation was lost — and repeats are
 * ignored (returns undefined).
 */
export function acknowledge(delivery: Delivery, now: number): Delivery | undefined {
  if (delivery.state === 'acked') return undefined;
  if (delivery.attempts === 0) throw new Error(`${delivery.recipient} cannot ack ${delivery.messageId}: it was never sent there`);
  if (delivery.state === 'expired') throw new Error(`${delivery.recipient} cannot ack ${delivery.messageId}: it expired`);
  // An ack can overtake the adapter's own confirmation: it proves delivery, so record that step too.
  const history =
    delivery.state === 'sent' ? [...delivery.history, { state: 'delivered' as const, at: now, note: 'confirmed by the ack' }] : delivery.history;
  return retained({ ...delivery, state: 'acked', dueAt: undefined, history: [...history, { state: 'acked', at: now }] }, now);
}

export const CANCELLED = 'cancelled by the person';

/** The person cancels: an unfinished delivery fails now; undefined for one already finished. */
export function cancel(delivery: Delivery, now: number): Delivery | undefined {
  if (isFinished(delivery)) return undefined;
  return retained({ ...withoutPending(delivery), state: 'failed', dueAt: undefined, lastError: CANCELLED, history: step(delivery, 'failed', now, CANCELLED) }, now);
}

/**
 * The person tries again: a failed or expired delivery is queued afresh, with all its attempts and
 * a new deadline `ttlMs` from now (none for `permanent`). Throws for any other state.
 */
export function requeue(delivery: Delivery, now: number, ttlMs: number): Delivery {
  if (delivery.state !== 'failed' && delivery.state !== 'expired') {
    throw new Error(`${delivery.recipient}'s delivery of ${delivery.messageId} is ${delivery.state}: only a failed or expired one can be tried again`);
  }
  const { retainUntil: _, lastError: __, expiresAt: ___, ...rest } = delivery;
  return {
    ...rest,
    state: 'queued',
    attempts: 0,
    dueAt: now,
    ...(Number.isFinite(ttlMs) ? { expiresAt: now + ttlMs } : {}),
    history: step(delivery, 'queued', now, 'tried again by the person'),
  };
}

/** Why an attempt that the last worker was in the middle of counts as failed. */
export const INTERRUPTED = 'attempt interrupted: the service worker stopped';
