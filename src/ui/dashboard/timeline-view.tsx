/**
 * The live timeline of Claude Code events (issue 7): one lane per session, filters by project,
 * session, event type and tool, and any event's full payload on demand. New events arrive on the
 * live reload (useHub: hub changes and a 1 s tick), fetched newer-than-known only.
 */
import { useMemo, useRef, useState } from 'preact/hooks';
import { useHub } from '../shared/live';
import type { SessionRecord, StoredHookEvent } from '../../storage/events-db';
import { dashboardHub } from './dashboard-hub';
import { buildTimeline, filterOptions, toolOf, type TimelineFilters } from './derive-timeline';
import { loadEvents } from './timeline-source';
import { TimelineLanes } from './timeline-lanes';
import { EventDetails } from './event-details';
import { SelectField, withAll } from './field';

const ROWS_FIRST = 50;
/**
 * Hook events reach the hub without a delivery change, so no change wakes the view: it looks for
 * new ones twice a second (one small request: the newest 50 ids), and reads the sessions again
 * only when events came or every 5 s (their state changes with events).
 */
const EVENTS_TICK_MS = 500;
const SESSIONS_EVERY_MS = 5_000;

/** The sessions as a map that stays the same object while nothing in them changed. */
function useSessionMap(sessions: SessionRecord[] | undefined): Map<string, SessionRecord> {
  const key = (sessions ?? []).map((s) => `${s.sessionId}/${s.lastEventAt}/${s.state}/${s.title ?? ''}/${s.project ?? ''}`).join('|');
  // eslint-disable-next-line react-hooks/exhaustive-deps
  return useMemo(() => new Map((sessions ?? []).map((s) => [s.sessionId, s])), [key]);
}

function EventTable({ events, sessions, selected, onPick }: { events: StoredHookEvent[]; sessions: Map<string, SessionRecord>; selected?: string; onPick: (id: string) => void }) {
  const [rows, setRows] = useState(ROWS_FIRST);
  const shown = events.slice(0, rows);
  return (
    <section aria-labelledby="event-list-heading">
      <h3 id="event-list-heading">Latest events</h3>
      <table class="events-table">
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Session</th>
            <th scope="col">Event</th>
            <th scope="col">Tool</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((e) => (
            <tr key={e.id} class={e.id === selected ? 'selected' : undefined} data-event-id={e.id}>
              <td>{new Date(e.receivedAt).toLocaleTimeString()}</td>
              <td class="mono" title={sessions.get(e.sessionId)?.title}>
                {e.sessionId.slice(0, 8)}
              </td>
              <td>
                <button type="button" class="link" aria-pressed={e.id === selected} onClick={() => onPick(e.id)}>
                  {e.name}
                </button>
              </td>
              <td>{toolOf(e) ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {events.length > shown.length && (
        <button type="button" onClick={() => setRows(rows + 200)}>
          Show more ({events.length - shown.length} older)
        </button>
      )}
    </section>
  );
}

export function TimelineView() {
  const known = useRef<{ events: StoredHookEvent[]; sessions?: SessionRecord[]; sessionsAt: number }>({ events: [], sessionsAt: 0 });
  const live = useHub(
    async () => {
      const last = known.current;
      // The first load asks for both at once; later ones ask for sessions only when they may have changed.
      const first = last.sessions ? undefined : dashboardHub.sessions(1_000);
      first?.catch(() => {}); // awaited below unless the events fail first
      const events = await loadEvents(dashboardHub.events, last.events);
      const stale = !last.sessions || events !== last.events || Date.now() - last.sessionsAt > SESSIONS_EVERY_MS;
      const sessions = first ? await first : stale ? await dashboardHub.sessions(1_000) : last.sessions!;
      known.current = { events, sessions, sessionsAt: stale ? Date.now() : last.sessionsAt };
      return { events, sessions };
    },
    [],
    { tickMs: EVENTS_TICK_MS },
  );
  const events = live.data?.events ?? known.current.events;
  const sessions = useSessionMap(live.data?.sessions);
  const [filters, setFilters] = useState<TimelineFilters>({});
  const [selection, setSelection] = useState<{ marker?: string; event?: string }>({});

  const options = useMemo(() => filterOptions(events, sessions), [events, sessions]);
  const timeline = useMemo(() => buildTimeline(events, sessions, filters), [events, sessions, filters]);
  const marker = selection.marker ? timeline.lanes.flatMap((l) => l.markers).find((m) => m.key === selection.marker) : undefined;
  const byId = useMemo(() => new Map(events.map((e) => [e.id, e])), [events]);
  const event = selection.event ? byId.get(selection.event) : undefined;

  const set = (key: keyof TimelineFilters) => (value: string) => {
    setFilters((f) => ({ ...f, [key]: value || undefined }));
    setSelection({});
  };
  const filtered = Object.values(filters).some(Boolean);

  return (
    <section class="view" aria-labelledby="timeline-heading">
      <h2 id="timeline-heading">Claude Code timeline</h2>
      {live.error && (
        <p role="alert" class="error">
          {live.error}
        </p>
      )}
      <form class="filters" role="search" aria-label="Filter events" onSubmit={(e) => e.preventDefault()}>
        <SelectField id="filter-project" label="Project" value={filters.project ?? ''} onChange={set('project')} options={withAll(options.projects)} />
        <SelectField
          id="filter-session"
          label="Session"
          value={filters.session ?? ''}
          onChange={set('session')}
          options={[{ value: '', label: 'All' }, ...options.sessions.map((s) => ({ value: s.id, label: s.label }))]}
        />
        <SelectField id="filter-event" label="Event" value={filters.event ?? ''} onChange={set('event')} options={withAll(options.events)} />
        <SelectField id="filter-tool" label="Tool" value={filters.tool ?? ''} onChange={set('tool')} options={withAll(options.tools)} />
        <button type="button" disabled={!filtered} onClick={() => (setFilters({}), setSelection({}))}>
          Clear filters
        </button>
      </form>
      <p class="muted" id="timeline-summary">
        {live.loading && !events.length
          ? 'Loading events…'
          : `${timeline.events.length} event${timeline.events.length === 1 ? '' : 's'} in ${timeline.lanes.length} session${timeline.lanes.length === 1 ? '' : 's'}${filtered ? ` (of ${events.length})` : ''}`}
      </p>
      {!live.loading && !events.length && (
        <p class="empty">
          No Claude Code events yet. Install the hooks with <code>switchboard claude-code install</code>; every session's events appear here as they
          happen.
        </p>
      )}
      {events.length > 0 && !timeline.events.length && <p class="empty">No events match these filters.</p>}
      {timeline.lanes.length > 0 && (
        <div class="timeline-body">
          <div class="timeline-main">
            <TimelineLanes
              timeline={timeline}
              selected={selection.marker}
              onSelect={(key) => {
                const picked = timeline.lanes.flatMap((l) => l.markers).find((m) => m.key === key);
                setSelection({ marker: key, event: picked?.events.length === 1 ? picked.events[0].id : undefined });
              }}
            />
            <EventTable
              events={timeline.events}
              sessions={sessions}
              selected={selection.event}
              // The event's marker is chosen with it, so the lane shows where it happened.
              onPick={(id) => setSelection({ event: id, marker: timeline.lanes.flatMap((l) => l.markers).find((m) => m.events.some((e) => e.id === id))?.key })}
            />
          </div>
          <EventDetails events={marker?.events ?? []} event={event} onPick={(id) => setSelection((s) => ({ ...s, event: id }))} />
        </div>
      )}
    </section>
  );
}
