/**
 * The lanes of the timeline: one row per session, its events as markers along the shared time
 * range. Each lane is one stop for Tab; the arrow keys, Home and End move between its markers.
 */
import { useState } from 'preact/hooks';
import type { Lane, Timeline } from './derive-timeline';
import { formatTime } from './format';

/** Lanes shown before "Show all": a week of sessions can be hundreds. */
const LANES_SHOWN = 40;

/** A marker's colour class: what kind of moment it is. */
export function eventCategory(name: string): string {
  if (name === 'PreToolUse' || name === 'PostToolUse') return 'tool';
  if (name === 'UserPromptSubmit') return 'prompt';
  if (name === 'Notification' || name === 'StopFailure') return 'alert';
  if (name === 'several') return 'several';
  return 'session';
}

const LEGEND = [
  ['prompt', 'prompt'],
  ['tool', 'tool use'],
  ['session', 'session start, stop, end'],
  ['alert', 'notification, failure'],
  ['several', 'several kinds'],
] as const;

function moveFocus(event: KeyboardEvent) {
  const keys = ['ArrowLeft', 'ArrowRight', 'Home', 'End'];
  if (!keys.includes(event.key)) return;
  const track = event.currentTarget as HTMLElement;
  const buttons = [...track.querySelectorAll<HTMLButtonElement>('button.marker')];
  const at = buttons.indexOf(document.activeElement as HTMLButtonElement);
  const next =
    event.key === 'Home' ? 0 : event.key === 'End' ? buttons.length - 1 : Math.min(buttons.length - 1, Math.max(0, at + (event.key === 'ArrowLeft' ? -1 : 1)));
  event.preventDefault();
  for (const [i, b] of buttons.entries()) b.tabIndex = i === next ? 0 : -1;
  buttons[next]?.focus();
}

function LaneRow({ lane, selected, onSelect }: { lane: Lane; selected?: string; onSelect: (key: string) => void }) {
  const chosen = lane.markers.findIndex((m) => m.key === selected);
  const tabbable = chosen >= 0 ? chosen : lane.markers.length - 1;
  return (
    <li class="lane">
      <div class="lane-head">
        <span class="lane-title">{lane.title}</span>
        <span class="muted">
          {lane.project ? `${lane.project} · ` : ''}
          {lane.count} event{lane.count === 1 ? '' : 's'}
          {lane.state ? ` · ${lane.state}` : ''}
        </span>
      </div>
      <div class="track" role="group" aria-label={`Events of ${lane.title}`} onKeyDown={moveFocus}>
        {lane.markers.map((m, i) => (
          <button
            type="button"
            key={m.key}
            class={`marker ev-${eventCategory(m.name)}`}
            style={{ left: `calc(${(m.position * 100).toFixed(3)}% - 5px)` }}
            aria-label={m.label}
            aria-pressed={m.key === selected}
            tabIndex={i === tabbable ? 0 : -1}
            onClick={() => onSelect(m.key)}
          >
            {m.events.length > 1 && <span aria-hidden="true">{m.events.length > 99 ? '99+' : m.events.length}</span>}
          </button>
        ))}
      </div>
    </li>
  );
}

export function TimelineLanes({ timeline, selected, onSelect }: { timeline: Timeline; selected?: string; onSelect: (key: string) => void }) {
  const [all, setAll] = useState(false);
  const lanes = all ? timeline.lanes : timeline.lanes.slice(0, LANES_SHOWN);
  return (
    <div class="lanes-box">
      <div class="lanes-axis" aria-hidden="true">
        <span>{formatTime(timeline.from)}</span>
        <span>{formatTime(timeline.to)}</span>
      </div>
      <ol class="lanes" aria-label="Sessions, most recently active first">
        {lanes.map((lane) => (
          <LaneRow key={lane.sessionId} lane={lane} selected={selected} onSelect={onSelect} />
        ))}
      </ol>
      {timeline.lanes.length > lanes.length && (
        <button type="button" onClick={() => setAll(true)}>
          Show all {timeline.lanes.length} sessions
        </button>
      )}
      <ul class="legend" aria-label="Marker colours">
        {LEGEND.map(([category, label]) => (
          <li key={category}>
            <span class={`swatch ev-${category}`} aria-hidden="true" /> {label}
          </li>
        ))}
      </ul>
    </div>
  );
}
