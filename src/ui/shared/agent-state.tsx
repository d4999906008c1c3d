/**
 * An agent's live state as a badge (its name in words and a colour, never the colour alone), and a
 * countdown to when a rate-limited or held agent may take work again. Shared by the popup and the
 * dashboard (issue 7).
 */
import { useEffect, useState } from 'preact/hooks';
import type { AgentState } from '../../hub/agents-view';

export const STATE_LABELS: Record<AgentState, string> = {
  ready: 'ready',
  working: 'working',
  waiting: 'waiting',
  'rate-limited': 'rate-limited',
  held: 'held',
  broken: 'broken',
  offline: 'offline',
  ended: 'ended',
};

/** A small glyph beside the word, so states differ in shape as well as colour. */
const STATE_GLYPHS: Record<AgentState, string> = {
  ready: '●',
  working: '◐',
  waiting: '◔',
  'rate-limited': '◷',
  held: '‖',
  broken: '✕',
  offline: '○',
  ended: '■',
};

export function StateBadge({ state, detail }: { state: AgentState; detail?: string }) {
  return (
    <span class={`badge state-${state}`} title={detail}>
      <span aria-hidden="true">{STATE_GLYPHS[state]}</span> {STATE_LABELS[state]}
    </span>
  );
}

/**
 * "1 h 12 min", "4 min 05 s", "12 s", "0 s": hours and minutes when an hour or more is left, else
 * minutes and seconds. Rounds up, so a countdown shows 0 s only once the time has come.
 */
export function formatRemaining(ms: number): string {
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(seconds / 3600);
  const min = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h >= 24) return `${Math.floor(h / 24)} d ${h % 24} h`;
  if (h > 0) return `${h} h ${min} min`;
  if (min > 0) return `${min} min ${String(s).padStart(2, '0')} s`;
  return `${s} s`;
}

/** The current time, re-read every `everyMs` while mounted. */
export function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}

/**
 * "resets in 1 h 12 min", updated each second; `label` replaces "resets in". The live text is not
 * an aria-live region: a screen reader would hear it every second. Its full time is in `title`.
 */
export function Countdown({ until, label = 'resets in' }: { until: number; label?: string }) {
  const now = useNow();
  const left = until - now;
  return (
    <time class="countdown" dateTime={new Date(until).toISOString()} title={new Date(until).toLocaleString()}>
      {left > 0 ? `${label} ${formatRemaining(left)}` : 'any moment now'}
    </time>
  );
}
