/**
 * The timeline of Claude Code events (issue 7): one lane per session, events as markers along time.
 * A lane holds thousands of events at most a pixel apart, so markers are buckets — the events that
 * fall into one slice of the lane — which keeps the page's size bounded by lanes × slices, not by
 * events. Pure: events and sessions in, what the view draws out.
 */
import type { SessionRecord, StoredHookEvent } from '../../storage/events-db';

export interface TimelineFilters {
  project?: string;
  session?: string;
  /** hook_event_name */
  event?: string;
  /** tool_name in the payload */
  tool?: string;
}

export interface FilterOptions {
  projects: string[];
  sessions: { id: string; label: string }[];
  events: string[];
  tools: string[];
}

export interface Marker {
  /** stable across renders: the lane and the bucket */
  key: string;
  /** where along the lane, 0–1 */
  position: number;
  /** the first and last event's receivedAt */
  from: number;
  to: number;
  /** the bucket's events, oldest first */
  events: StoredHookEvent[];
  /** the event name when all share one, else 'several' */
  name: string;
  /** what a screen reader says for it */
  label: string;
}

export interface Lane {
  sessionId: string;
  title: string;
  project?: string;
  state?: SessionRecord['state'];
  count: number;
  first: number;
  last: number;
  markers: Marker[];
}

export interface Timeline {
  from: number;
  to: number;
  lanes: Lane[];
  /** the filtered events, newest first */
  events: StoredHookEvent[];
}

/** Payloads come from outside: every field is read defensively. */
export function toolOf(event: StoredHookEvent): string | undefined {
  const tool = (event.payload as { tool_name?: unknown } | undefined)?.tool_name;
  return typeof tool === 'string' && tool ? tool : undefined;
}

export function projectOf(event: StoredHookEvent, session: SessionRecord | undefined): string | undefined {
  if (session?.project) return session.project;
  const cwd = (event.payload as { cwd?: unknown } | undefined)?.cwd;
  return typeof cwd === 'string' && cwd ? cwd : undefined;
}

export function sessionLabel(sessionId: string, session: SessionRecord | undefined): string {
  const short = sessionId.length > 8 ? sessionId.slice(0, 8) : sessionId;
  return session?.title ? `${session.title} (${short})` : short;
}

/** Drops what is not an event (a bad record must not break the page), and repeats of an id. */
export function validEvents(input: unknown): StoredHookEvent[] {
  if (!Array.isArray(input)) return [];
  const seen = new Set<string>();
  const out: StoredHookEvent[] = [];
  for (const e of input as Partial<StoredHookEvent>[]) {
    if (!e || typeof e.id !== 'string' || typeof e.sessionId !== 'string' || typeof e.name !== 'string') continue;
    if (typeof e.receivedAt !== 'number' || !Number.isFinite(e.receivedAt) || seen.has(e.id)) continue;
    seen.add(e.id);
    out.push(typeof e.payload === 'object' && e.payload !== null ? (e as StoredHookEvent) : { ...(e as StoredHookEvent), payload: {} });
  }
  return out;
}

/** Newest first, by time then id (UUIDv7 ids order events taken in the same millisecond). */
export const newestFirst = (a: StoredHookEvent, b: StoredHookEvent) => b.receivedAt - a.receivedAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

/**
 * New events into what the page has, newest first, keeping at most `cap`. Returns `known` itself
 * when nothing is new, so a view can skip its render.
 */
export function mergeEvents(known: StoredHookEvent[], incoming: unknown, cap = 20_000): StoredHookEvent[] {
  const fresh = validEvents(incoming);
  if (!fresh.length) return known;
  const ids = new Set(known.map((e) => e.id));
  const added = fresh.filter((e) => !ids.has(e.id));
  if (!added.length) return known;
  return [...known, ...added].sort(newestFirst).slice(0, cap);
}

export function filterOptions(events: readonly StoredHookEvent[], sessions: ReadonlyMap<string, SessionRecord>): FilterOptions {
  const projects = new Set<string>();
  const sessionIds = new Set<string>();
  const names = new Set<string>();
  const tools = new Set<string>();
  for (const event of events) {
    const project = projectOf(event, sessions.get(event.sessionId));
    if (project) projects.add(project);
    sessionIds.add(event.sessionId);
    names.add(event.name);
    const tool = toolOf(event);
    if (tool) tools.add(tool);
  }
  const sorted = (set: Set<string>) => [...set].sort((a, b) => a.localeCompare(b));
  return {
    projects: sorted(projects),
    sessions: [...sessionIds].map((id) => ({ id, label: sessionLabel(id, sessions.get(id)) })).sort((a, b) => a.label.localeCompare(b.label)),
    events: sorted(names),
    tools: sorted(tools),
  };
}

export function filterEvents(events: readonly StoredHookEvent[], sessions: ReadonlyMap<string, SessionRecord>, filters: TimelineFilters): StoredHookEvent[] {
  const { project, session, event, tool } = filters;
  if (!project && !session && !event && !tool) return events as StoredHookEvent[];
  return events.filter(
    (e) =>
      (!session || e.sessionId === session) &&
      (!event || e.name === event) &&
      (!tool || toolOf(e) === tool) &&
      (!project || projectOf(e, sessions.get(e.sessionId)) === project),
  );
}

const time = (at: number) => new Date(at).toLocaleTimeString();

function markerLabel(events: StoredHookEvent[], name: string): string {
  const first = events[0];
  const last = events[events.length - 1];
  if (events.length === 1) {
    const tool = toolOf(first);
    return `${first.name}${tool ? ` ${tool}` : ''} at ${time(first.receivedAt)}`;
  }
  const what = name === 'several' ? [...new Set(events.map((e) => e.name))].join(', ') : name;
  return `${events.length} events (${what}) from ${time(first.receivedAt)} to ${time(last.receivedAt)}`;
}

/**
 * Lanes of the filtered events: the most recently active session first, each with at most
 * `buckets` markers over the shared time range. 64: on a lane about 700 px wide a slice is about as
 * wide as a marker (10 px), so markers do not hide each other.
 */
export function buildTimeline(
  events: readonly StoredHookEvent[],
  sessions: ReadonlyMap<string, SessionRecord>,
  filters: TimelineFilters = {},
  buckets = 64,
): Timeline {
  const shown = filterEvents(events, sessions, filters);
  if (!shown.length) return { from: 0, to: 0, lanes: [], events: [] };
  let from = Infinity;
  let to = -Infinity;
  for (const e of shown) {
    if (e.receivedAt < from) from = e.receivedAt;
    if (e.receivedAt > to) to = e.receivedAt;
  }
  const span = Math.max(1, to - from);
  const slots = Math.max(1, Math.floor(buckets));
  const bySession = new Map<string, StoredHookEvent[]>();
  // `shown` is newest first: walk it backwards so each lane's events are oldest first.
  for (let i = shown.length - 1; i >= 0; i--) {
    const e = shown[i];
    let list = bySession.get(e.sessionId);
    if (!list) bySession.set(e.sessionId, (list = []));
    list.push(e);
  }
  const lanes: Lane[] = [];
  for (const [sessionId, list] of bySession) {
    const session = sessions.get(sessionId);
    const slotsOf = new Map<number, StoredHookEvent[]>();
    for (const e of list) {
      const slot = Math.min(slots - 1, Math.floor(((e.receivedAt - from) / span) * slots));
      let bucket = slotsOf.get(slot);
      if (!bucket) slotsOf.set(slot, (bucket = []));
      bucket.push(e);
    }
    const markers: Marker[] = [...slotsOf].map(([slot, bucket]) => {
      const name = bucket.every((e) => e.name === bucket[0].name) ? bucket[0].name : 'several';
      const first = bucket[0].receivedAt;
      return {
        key: `${sessionId}/${slot}`,
        position: shown.length === 1 || to === from ? 0.5 : (first - from) / span,
        from: first,
        to: bucket[bucket.length - 1].receivedAt,
        events: bucket,
        name,
        label: markerLabel(bucket, name),
      };
    });
    markers.sort((a, b) => a.position - b.position);
    const project = projectOf(list[0], session);
    lanes.push({
      sessionId,
      title: sessionLabel(sessionId, session),
      ...(project ? { project } : {}),
      ...(session ? { state: session.state } : {}),
      count: list.length,
      first: list[0].receivedAt,
      last: list[list.length - 1].receivedAt,
      markers,
    });
  }
  lanes.sort((a, b) => b.last - a.last || a.sessionId.localeCompare(b.sessionId));
  return { from, to, lanes, events: shown };
}

/** An event's payload as the details panel shows it: indented JSON, whatever it holds. */
export function payloadText(event: StoredHookEvent): string {
  try {
    return JSON.stringify(event.payload, null, 2) ?? 'null';
  } catch (error) {
    return `(the payload cannot be shown as JSON: ${(error as Error).message})`;
  }
}

/** The filters a URL hash query or a form gave, with empty strings dropped. */
export function cleanFilters(input: Record<string, string | undefined>): TimelineFilters {
  const out: TimelineFilters = {};
  for (const key of ['project', 'session', 'event', 'tool'] as const) {
    const value = input[key]?.trim();
    if (value) out[key] = value;
  }
  return out;
}
