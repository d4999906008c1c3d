/**
 * Rate-limit recovery for Claude Code sessions (issue 5), with the bus's holds: a session that hit a
 * limit is held, so messages for it wait in their order instead of being put into a session that
 * cannot answer. Without a reset time, `exponential_backoff` probes it at growing intervals (the
 * first after 5 s); a probe that goes through releases the hold, its messages go to the session's
 * mailbox, and the asyncRewake hook wakes the idle session to take them — which is when its work
 * resumes. A reset time, when Claude Code gives one, makes it a `session_pause` until then.
 *
 * The native host sends holds too (a `hold` record): its usage monitor finds limits in transcripts
 * and status lines, often with the reset time the hook event lacks, and its `session_pause` replaces
 * the backoff the hook event started.
 */
import type { HookEvent } from '../../protocol/native';
import type { Hold, HoldRequest } from '../../bus/destinations';
import { HUB_ADDRESS } from '../../protocol/address';
import type { SendRequest } from '../../protocol/envelope';

/** What the hub tells a session once its limit has passed: the text it is woken with. */
export const RESUME_TEXT =
  'The rate limit that stopped your last turn has passed (Switchboard held your messages until now). Continue the work that was interrupted, where you left off.';

/**
 * The message that resumes a session's interrupted work. Sent when the limit is hit, it waits first
 * in the session's held queue, so it is the probe of the hold: delivered when the hold lets work
 * through, it wakes the idle session (asyncRewake), which carries on — or meets the limit again, and
 * is held again, with a longer wait (src/bus/destinations.ts, lastBackoff).
 */
export function resumeRequest(address: string, cause: string): SendRequest {
  return { from: HUB_ADDRESS, to: address, kind: 'command', body: RESUME_TEXT, priority: 'high', ttl: 'medium', headers: { 'x-switchboard-resume': cause.slice(0, 200) } };
}

/** The hold a hook event asks for, or undefined when it is not a rate limit. */
export function holdFor(event: HookEvent, address: string): HoldRequest | undefined {
  const { payload } = event;
  if (payload.hook_event_name !== 'StopFailure' || payload.error !== 'rate_limit') return undefined;
  const reason = `Claude Code hit a rate limit${typeof payload.last_assistant_message === 'string' ? `: ${payload.last_assistant_message.slice(0, 200)}` : ''}`;
  // Not in 2.1.329's payload; read when a later version (or the usage monitor) provides it.
  const resetsAt = typeof payload.resets_at === 'number' ? payload.resets_at * (payload.resets_at < 1e12 ? 1_000 : 1) : undefined;
  return resetsAt !== undefined && resetsAt > event.receivedAt
    ? { address, strategy: 'session_pause', until: resetsAt, reason }
    : { address, strategy: 'exponential_backoff', reason };
}

/**
 * Whether `request` should replace `current`, the destination's hold now. A hold without an end
 * (exponential_backoff) never replaces a pause that still runs: the reset time is the better
 * knowledge, and a signal that comes late — a StopFailure drained from the spool after the usage
 * monitor's pause — must not throw it away. Every other request replaces the hold (bus.hold).
 */
export function replacesHold(current: Hold | undefined, request: HoldRequest, now: number): boolean {
  if (!current || request.strategy !== 'exponential_backoff') return true;
  return !(current.strategy === 'session_pause' && current.until !== undefined && current.until > now);
}
