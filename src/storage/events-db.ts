/**
 * The hub's event store: Claude Code hook events and the sessions they describe (issue 5: "kept in
 * their own store in the hub (not as bus messages), with their own retention"). A database of its
 * own: events come many per tool call and are kept for days, on a lifecycle apart from messages'.
 */
import type { Table } from 'dexie';
import { SwitchboardDexie, type DexieDependencies } from './db';

export const EVENTS_DB_NAME = 'switchboard-events';

export interface StoredHookEvent {
  /** the host's id for the event (UUIDv7: ordered by when the host took it) */
  id: string;
  sessionId: string;
  /** hook_event_name: SessionStart, PreToolUse, … */
  name: string;
  receivedAt: number;
  /**
   * When the hub stored it: Date.now inside the transaction that stores it, just before that commits.
   * Not an index: it is there so the time from a hook firing to the event being kept can be measured
   * (BENCHMARKS.md, "Claude Code hooks"). Absent on events stored before it was added.
   */
  storedAt?: number;
  payload: Record<string, unknown>;
}

export const SESSION_STATES = ['idle', 'working', 'waiting-for-permission', 'rate-limited', 'ended'] as const;
export type SessionState = (typeof SESSION_STATES)[number];

export interface SessionRecord {
  sessionId: string;
  /** its address on the bus: claude-code:<device>/<session id> */
  address: string;
  /** the project folder (cwd) */
  project?: string;
  /** the first prompt, shortened */
  title?: string;
  model?: string;
  state: SessionState;
  firstEventAt: number;
  lastEventAt: number;
  lastEvent: string;
  transcriptPath?: string;
  events: number;
}

export class EventsDb extends SwitchboardDexie {
  hookEvents!: Table<StoredHookEvent, string>;
  sessions!: Table<SessionRecord, string>;

  constructor(name = EVENTS_DB_NAME, dependencies: DexieDependencies = {}) {
    super(name, dependencies);
    this.version(1).stores({
      // [sessionId+id]: a session's events in order; receivedAt: retention
      hookEvents: 'id, [sessionId+id], receivedAt',
      sessions: 'sessionId, lastEventAt',
    });
  }
}
