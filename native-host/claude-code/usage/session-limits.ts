/**
 * Which Claude Code sessions a rate limit holds up, and the hold each needs (issue 5, "Rate-limit
 * recovery": "on a limit (StopFailure `rate_limit`, a transcript error line, a 429) the session is
 * marked rate-limited and its deliveries held; at the reset time when known, else by exponential
 * backoff, the hold is released").
 *
 * The signals, each on its own enough to hold a session:
 * - a rate-limit line in the session's transcript (RateLimitEvent), with its reset time when the line
 *   carries one — the only signal left when the StopFailure hook was missed;
 * - a StopFailure `rate_limit` hook event: the hub holds the session itself (a backoff), this only
 *   notes it, so the same limit is not held twice;
 * - the status line's `rate_limits`: a window at 100 % or more with a reset time in the future says
 *   when a limited session can go on.
 * The hold asked for is a `session_pause` until the reset when one is known and in the future, else
 * an `exponential_backoff`; a pause is asked for again only when the reset time changes, a backoff
 * never over a pause. A session is limited until a response of its own gets through (a usage record
 * or a Stop after the limit), its reset passes, or, with no reset known, LIMITED_FOR_MS.
 *
 * Pure: state and signals in, state and holds out. The state is plain JSON, kept in a file by the
 * daemon, so a restart or a transcript read again never asks for the same hold twice.
 */
import type { RateLimitEvent } from './transcript-line';
import type { RateLimitReading } from './limits';

export type LimitHoldStrategy = 'session_pause' | 'exponential_backoff';

export interface LimitedSession {
  sessionId: string;
  /** when the limit was hit (ms since epoch) */
  since: number;
  /** when it resets, as far as any signal said (ms since epoch); null when none did */
  resetsAt: number | null;
  /** the error as Claude Code showed it */
  text: string;
  /** the hold in force: asked for by the host, or the hub's own backoff after a StopFailure */
  held: { strategy: LimitHoldStrategy; until: number | null; by: 'host' | 'hub' } | null;
}

export interface SessionLimitsState {
  version: 1;
  sessions: Record<string, LimitedSession>;
  /** the keys of the rate-limit lines already taken, oldest first (at most SEEN_KEPT) */
  seen: string[];
}

/** A hold to ask the hub for; the daemon makes it a HoldRequest for the session's address. */
export interface LimitHold {
  sessionId: string;
  strategy: LimitHoldStrategy;
  /** session_pause: the reset time (ms since epoch) */
  until?: number;
  reason: string;
}

export interface LimitUpdate {
  state: SessionLimitsState;
  holds: LimitHold[];
}

export const INITIAL_LIMITS_STATE: SessionLimitsState = { version: 1, sessions: {}, seen: [] };

/** How long a session counts as limited with no reset time known: a 5-hour window at most. */
export const LIMITED_FOR_MS = 5 * 3_600_000;
/** A rate-limit line older than this with no reset time is history (a transcript read for the first time), not a limit now. */
export const STALE_EVENT_MS = 30 * 60_000;
/** A status line reading older than this says nothing about now (Claude Code refreshes it with every response). */
export const READING_FRESH_MS = 15 * 60_000;
const SEEN_KEPT = 500;
const REASON_MAX = 500;

/**
 * The reset time a status line reading gives a limited session: the latest `resets_at` of the windows
 * at 100 % or more that reset in the future (both full: both must reset). Null when none is full.
 */
export function readingReset(reading: RateLimitReading | null, now: number): number | null {
  if (!reading || now - reading.at > READING_FRESH_MS) return null;
  let reset: number | null = null;
  for (const window of [reading.fiveHour, reading.sevenDay]) {
    if (!window || window.usedPercentage < 100 || window.resetsAt === null || window.resetsAt <= now) continue;
    reset = Math.max(reset ?? 0, window.resetsAt);
  }
  return reset;
}

/**
 * New transcript lines: the rate-limit events, and the sessions' latest responses that got through
 * (from usage records), which end a limit that came before them.
 */
export function takeTranscript(
  state: SessionLimitsState,
  input: { events: readonly RateLimitEvent[]; answeredAt: ReadonlyMap<string, number>; reading: RateLimitReading | null; now: number },
): LimitUpdate {
  const { now, answeredAt } = input;
  let next = expire(state, now);
  const holds: LimitHold[] = [];
  // A session that got an answer after its limit is no longer limited.
  for (const [sessionId, at] of answeredAt) {
    const limited = next.sessions[sessionId];
    if (limited && at > limited.since) next = without(next, sessionId);
  }
  const seen = new Set(next.seen);
  const events = [...input.events].sort((a, b) => a.at - b.at);
  for (const event of events) {
    if (seen.has(event.key)) continue;
    seen.add(event.key);
    next = { ...next, seen: [...next.seen, event.key].slice(-SEEN_KEPT) };
    const answered = answeredAt.get(event.sessionId);
    if (answered !== undefined && answered > event.at) continue; // the session went on after it
    if (event.resetsAt !== null ? event.resetsAt <= now : now - event.at > STALE_EVENT_MS) continue;
    const before = next.sessions[event.sessionId];
    const limited: LimitedSession = {
      sessionId: event.sessionId,
      since: Math.max(before?.since ?? 0, event.at),
      resetsAt: latest(before?.resetsAt ?? null, event.resetsAt, readingReset(input.reading, now)),
      text: event.text || before?.text || '',
      held: before?.held ?? null,
    };
    const result = decide(next, limited, now);
    next = result.state;
    holds.push(...result.holds);
  }
  return { state: next, holds };
}

/**
 * A hook event of a session. StopFailure `rate_limit`: the hub holds the session with a backoff (or a
 * pause, when the payload has a reset time); this notes that hold, and asks for a pause when the
 * status line already tells the reset. Stop: a turn ended well, so its requests got through and the
 * limit is over.
 */
export function takeHook(
  state: SessionLimitsState,
  input: { sessionId: string; event: string; error?: unknown; resetsAt?: number | null; text?: string; at: number; reading: RateLimitReading | null; now: number },
): LimitUpdate {
  const { now } = input;
  const next = expire(state, now);
  const before = next.sessions[input.sessionId];
  if (input.event === 'Stop') {
    return { state: before && input.at > before.since ? without(next, input.sessionId) : next, holds: [] };
  }
  if (input.event !== 'StopFailure' || input.error !== 'rate_limit') return { state: next, holds: [] };
  const hookReset = input.resetsAt !== undefined && input.resetsAt !== null && input.resetsAt > now ? input.resetsAt : null;
  const hubHold = hookReset !== null ? { strategy: 'session_pause' as const, until: hookReset, by: 'hub' as const } : { strategy: 'exponential_backoff' as const, until: null, by: 'hub' as const };
  const limited: LimitedSession = {
    sessionId: input.sessionId,
    since: Math.max(before?.since ?? 0, input.at),
    resetsAt: latest(before?.resetsAt ?? null, hookReset, readingReset(input.reading, now)),
    text: input.text || before?.text || '',
    // A pause still running stays in force: the hub does not replace it with a backoff either.
    held: before?.held?.strategy === 'session_pause' && (before.held.until ?? 0) > now && hubHold.strategy === 'exponential_backoff' ? before.held : hubHold,
  };
  return decide(next, limited, now);
}

/** A new status line reading: a full window's reset time becomes the pause of every limited session. */
export function takeReading(state: SessionLimitsState, reading: RateLimitReading | null, now: number): LimitUpdate {
  let next = expire(state, now);
  const reset = readingReset(reading, now);
  if (reset === null) return { state: next, holds: [] };
  const holds: LimitHold[] = [];
  for (const limited of Object.values(next.sessions)) {
    const result = decide(next, { ...limited, resetsAt: latest(limited.resetsAt, reset) }, now);
    next = result.state;
    holds.push(...result.holds);
  }
  return { state: next, holds };
}

/** The sessions limited now. */
export function limitedSessions(state: SessionLimitsState, now: number): LimitedSession[] {
  return Object.values(expire(state, now).sessions).sort((a, b) => b.since - a.since);
}

/** Stores `limited` and says which hold it needs, if any beyond the one in force. */
function decide(state: SessionLimitsState, limited: LimitedSession, now: number): LimitUpdate {
  const reset = limited.resetsAt !== null && limited.resetsAt > now ? limited.resetsAt : null;
  const held = limited.held;
  const pauseRuns = held?.strategy === 'session_pause' && held.until !== null && held.until > now;
  let hold: LimitHold | undefined;
  if (reset !== null && !(held?.strategy === 'session_pause' && held.until === reset)) {
    hold = { sessionId: limited.sessionId, strategy: 'session_pause', until: reset, reason: reasonOf(limited, reset) };
  } else if (reset === null && !held) {
    hold = { sessionId: limited.sessionId, strategy: 'exponential_backoff', reason: reasonOf(limited, null) };
  } else if (reset === null && held && !pauseRuns && held.strategy === 'session_pause') {
    // The pause ran out but the session is limited again: back to probing.
    hold = { sessionId: limited.sessionId, strategy: 'exponential_backoff', reason: reasonOf(limited, null) };
  }
  const stored: LimitedSession = hold ? { ...limited, held: { strategy: hold.strategy, until: hold.until ?? null, by: 'host' } } : limited;
  return { state: { ...state, sessions: { ...state.sessions, [limited.sessionId]: stored } }, holds: hold ? [hold] : [] };
}

function reasonOf(limited: LimitedSession, reset: number | null): string {
  const text = limited.text.replace(/\s+/g, ' ').trim();
  const head = `Claude Code hit a rate limit${text ? `: ${text}` : ''}`;
  const tail = reset !== null ? `; resets ${new Date(reset).toISOString()}` : '; no reset time known, probing';
  return head.length + tail.length <= REASON_MAX ? head + tail : `${head.slice(0, REASON_MAX - tail.length - 1)}…${tail}`;
}

/** The state without the sessions whose limit is over by time: their reset passed, or none is known and LIMITED_FOR_MS did. */
function expire(state: SessionLimitsState, now: number): SessionLimitsState {
  const over = Object.values(state.sessions).filter((s) => (s.resetsAt !== null ? s.resetsAt <= now : now - s.since > LIMITED_FOR_MS));
  return over.reduce((next, s) => without(next, s.sessionId), state);
}

function without(state: SessionLimitsState, sessionId: string): SessionLimitsState {
  if (!(sessionId in state.sessions)) return state;
  const { [sessionId]: _, ...sessions } = state.sessions;
  return { ...state, sessions };
}

function latest(...times: (number | null)[]): number | null {
  const known = times.filter((t): t is number => t !== null);
  return known.length ? Math.max(...known) : null;
}
