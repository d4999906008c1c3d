/**
 * A Claude Code session's live state, from its hook events (issue 5: "working, waiting for
 * permission, idle, rate-limited, ended"). Pure: the event store applies it to each new event.
 *
 * Payload fields per event follow Claude Code's hooks reference; anything missing is left as it was,
 * because an older or newer CLI may not send it.
 */
import type { HookEvent } from '../../protocol/native';
import type { SessionRecord, SessionState } from '../../storage/events-db';
import { AgentAddress } from '../../protocol/address';
import { parseOrThrow } from '../../protocol/envelope';

const TITLE_CHARS = 80;

const text = (value: unknown): string | undefined => (typeof value === 'string' && value.trim() ? value.trim() : undefined);

/** The state an event leaves the session in, or undefined when it does not change it. */
export function stateAfter(name: string, payload: Record<string, unknown>): SessionState | undefined {
  switch (name) {
    case 'SessionStart':
    case 'Stop':
      return 'idle';
    case 'UserPromptSubmit':
    case 'PreToolUse':
    case 'PostToolUse':
    case 'PreCompact':
      return 'working';
    case 'Notification': {
      // Claude Code notifies when it needs a permission and when it has waited idle for input.
      const kind = text(payload.notification_type) ?? '';
      const message = text(payload.message) ?? '';
      if (kind === 'permission_prompt' || /permission/i.test(message)) return 'waiting-for-permission';
      if (kind === 'idle_prompt' || /waiting for your input/i.test(message)) return 'idle';
      return undefined;
    }
    case 'StopFailure':
      return payload.error === 'rate_limit' ? 'rate-limited' : 'idle';
    case 'SessionEnd':
      return 'ended';
    default:
      return undefined;
  }
}

/** The session after `event`; `device` is the host's, for the session's address. Throws ValidationError for a session id that cannot be an address. */
export function sessionAfter(before: SessionRecord | undefined, event: HookEvent, device: string): SessionRecord {
  const { payload, receivedAt } = event;
  const name = payload.hook_event_name;
  const state = stateAfter(name, payload);
  // Events can arrive out of order (a spooled one after newer ones): only a newer event moves the state.
  const newer = !before || receivedAt >= before.lastEventAt;
  const prompt = name === 'UserPromptSubmit' ? text(payload.prompt) : undefined;
  const session: SessionRecord = {
    sessionId: payload.session_id,
    address: before?.address ?? parseOrThrow(AgentAddress, `claude-code:${device}/${payload.session_id}`, 'session address'),
    project: text(payload.cwd) ?? before?.project,
    title: before?.title ?? prompt?.slice(0, TITLE_CHARS),
    model: text(payload.model) ?? before?.model,
    transcriptPath: text(payload.transcript_path) ?? before?.transcriptPath,
    state: newer && state ? state : (before?.state ?? state ?? 'idle'),
    firstEventAt: Math.min(before?.firstEventAt ?? receivedAt, receivedAt),
    lastEventAt: newer ? receivedAt : before!.lastEventAt,
    lastEvent: newer ? name : before!.lastEvent,
    events: (before?.events ?? 0) + 1,
  };
  // IndexedDB keeps an undefined field as a field: leave absent what is not known.
  for (const key of Object.keys(session) as (keyof SessionRecord)[]) if (session[key] === undefined) delete session[key];
  return session;
}
