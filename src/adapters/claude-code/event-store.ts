/**
 * Claude Code hook events in the hub: each stored once (by the host's id), and the session it
 * belongs to brought up to date in the same transaction.
 */
import type { HookEvent } from '../../protocol/native';
import type { EventsDb, SessionRecord, StoredHookEvent } from '../../storage/events-db';
import { sessionAfter } from './session-state';

/** How long events are kept by default: a week of sessions for the dashboard. */
export const DEFAULT_EVENT_RETENTION_MS = 7 * 24 * 3_600_000;

export class HookEventStore {
  constructor(
    private readonly db: EventsDb,
    private readonly device: () => string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Stores an event and updates its session; a resent event changes nothing. Returns the session, or undefined for a resend. */
  async record(event: HookEvent): Promise<SessionRecord | undefined> {
    return this.db.transaction('rw', this.db.hookEvents, this.db.sessions, async () => {
      if (await this.db.hookEvents.get(event.id)) return undefined;
      const stored: StoredHookEvent = {
        id: event.id,
        sessionId: event.payload.session_id,
        name: event.payload.hook_event_name,
        receivedAt: event.receivedAt,
        storedAt: this.now(),
        payload: event.payload,
      };
      await this.db.hookEvents.add(stored);
      const session = sessionAfter(await this.db.sessions.get(stored.sessionId), event, this.device());
      await this.db.sessions.put(session);
      return session;
    });
  }

  /** Sessions, the most recently active first. */
  sessions(limit = 100): Promise<SessionRecord[]> {
    return this.db.sessions.orderBy('lastEventAt').reverse().limit(limit).toArray();
  }

  /** A session's events in the order the host took them. */
  events(sessionId: string, limit = 1_000): Promise<StoredHookEvent[]> {
    return this.db.hookEvents.where('[sessionId+id]').between([sessionId, ''], [sessionId, '\uffff']).limit(limit).toArray();
  }

  /** Every session's events, newest first (by the host's ordered id), older than the id `before` when given. */
  recent(limit = 500, before?: string): Promise<StoredHookEvent[]> {
    const events = before === undefined ? this.db.hookEvents.orderBy('id') : this.db.hookEvents.where('id').below(before);
    return events.reverse().limit(limit).toArray();
  }

  /** Deletes every event and session (the person's clear-data). */
  async clear(): Promise<void> {
    await this.db.transaction('rw', this.db.hookEvents, this.db.sessions, async () => {
      await this.db.hookEvents.clear();
      await this.db.sessions.clear();
    });
  }

  /** Drops events older than `before`, and sessions with no event left. Returns how many events. */
  async prune(before: number): Promise<number> {
    const dropped = await this.db.hookEvents.where('receivedAt').below(before).delete();
    await this.db.sessions.where('lastEventAt').below(before).delete();
    return dropped;
  }
}
