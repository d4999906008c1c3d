/**
 * The details panel of the timeline: the events of the chosen marker, and one event's full payload
 * as JSON text (never as HTML: whatever a tool printed stays text).
 */
import type { StoredHookEvent } from '../../storage/events-db';
import { payloadText, toolOf } from './derive-timeline';
import { formatTime } from './format';

export function EventDetails({
  events,
  event,
  onPick,
}: {
  /** the chosen marker's events, oldest first */
  events: StoredHookEvent[];
  event: StoredHookEvent | undefined;
  onPick: (id: string) => void;
}) {
  return (
    <section class="event-details" aria-labelledby="event-details-heading">
      <h3 id="event-details-heading">Event details</h3>
      {!events.length && !event && <p class="muted">Choose a marker or an event to see its payload.</p>}
      {events.length > 1 && (
        <ul class="marker-events" aria-label="Events at this point">
          {events.map((e) => (
            <li key={e.id}>
              <button type="button" aria-pressed={e.id === event?.id} onClick={() => onPick(e.id)}>
                {e.name}
                {toolOf(e) ? ` · ${toolOf(e)}` : ''} · {new Date(e.receivedAt).toLocaleTimeString()}
              </button>
            </li>
          ))}
        </ul>
      )}
      {event && (
        <>
          <dl class="facts">
            <dt>Event</dt>
            <dd>{event.name}</dd>
            {toolOf(event) && (
              <>
                <dt>Tool</dt>
                <dd>{toolOf(event)}</dd>
              </>
            )}
            <dt>Session</dt>
            <dd class="mono">{event.sessionId}</dd>
            <dt>Received</dt>
            <dd>{formatTime(event.receivedAt)}</dd>
            <dt>Id</dt>
            <dd class="mono">{event.id}</dd>
          </dl>
          <pre class="payload" tabIndex={0} aria-label={`Payload of ${event.name}`}>
            {payloadText(event)}
          </pre>
        </>
      )}
    </section>
  );
}
