/**
 * Alerts, holds and recovery (issue 7): what is held and why, until when, what its strategy is
 * doing, and each destination's history — from the hub's destination records
 * (src/bus/destinations.ts) and the host's usage alerts. Pure: records and `now` in, rows out.
 */
import type { DestinationEvent, DestinationRecord, HoldStrategy } from '../../bus/destinations';
import { HoldRequest } from '../../bus/destinations';
import { fieldPath } from '../../protocol/envelope';
import { countdownText, formatTime } from './format';

export interface HoldRow {
  address: string;
  /** held, circuit open, half-open (probing), or recovering (closed, with failures) */
  status: 'held' | 'circuit open' | 'half-open' | 'failing';
  strategy?: HoldStrategy;
  reason: string;
  /** when it may take work again; absent when nothing says */
  until?: number;
  /** "in 4 min 03 s", or what happens instead */
  countdown: string;
  /** what the strategy is doing now, in words */
  doing: string;
  since?: number;
  fallback?: string;
  history: HistoryRow[];
}

export interface HistoryRow {
  at: number;
  when: string;
  event: DestinationEvent['event'];
  note?: string;
}

export const STRATEGY_NAMES: Record<HoldStrategy, string> = {
  session_pause: 'pause until the reset',
  exponential_backoff: 'back off and probe',
  graceful_degradation: 'hand work to a fallback',
};

/** Newest first. */
export function historyRows(record: Pick<DestinationRecord, 'history'>): HistoryRow[] {
  const history = Array.isArray(record.history) ? record.history : [];
  return history
    .filter((h) => h && Number.isFinite(h.at) && typeof h.event === 'string')
    .map((h) => ({ at: h.at, when: formatTime(h.at), event: h.event, ...(h.note ? { note: h.note } : {}) }))
    .sort((a, b) => b.at - a.at);
}

function holdRow(record: DestinationRecord, now: number): HoldRow {
  const history = historyRows(record);
  const hold = record.hold!;
  const base = { address: record.address, status: 'held' as const, strategy: hold.strategy, reason: hold.reason, since: hold.since, history };
  switch (hold.strategy) {
    case 'session_pause':
      return {
        ...base,
        ...(hold.until !== undefined ? { until: hold.until } : {}),
        countdown: countdownText(hold.until, now, 'resuming now'),
        doing: 'Deliveries wait; they go on by themselves when the limit resets.',
      };
    case 'exponential_backoff': {
      const next = hold.nextProbeAt;
      return {
        ...base,
        ...(hold.until !== undefined ? { until: hold.until } : next !== undefined ? { until: next } : {}),
        countdown: record.probing ? 'a probe is out now' : next !== undefined ? `next probe ${countdownText(next, now, 'now')}` : 'next probe soon',
        doing: `Probing with one delivery at growing intervals: ${hold.probes} failed so far; released when one gets through.`,
      };
    }
    case 'graceful_degradation':
      return {
        ...base,
        ...(hold.until !== undefined ? { until: hold.until } : {}),
        ...(hold.fallback ? { fallback: hold.fallback } : {}),
        countdown: hold.until !== undefined ? countdownText(hold.until, now, 'ending now') : 'until released',
        doing: `Held work goes to ${hold.fallback ?? 'the fallback agent'} until the hold ends.`,
      };
  }
}

function breakerRow(record: DestinationRecord, now: number): HoldRow | undefined {
  const history = historyRows(record);
  const lastNote = history.find((h) => h.event === 'opened')?.note;
  if (record.breaker === 'open') {
    return {
      address: record.address,
      status: 'circuit open',
      reason: lastNote ?? `${record.failures} failed attempts in a row`,
      ...(record.reopenAt !== undefined ? { until: record.reopenAt } : {}),
      countdown: record.reopenAt !== undefined ? `probe ${countdownText(record.reopenAt, now, 'now')}` : 'probe soon',
      doing: `Deliveries wait; after the cool-down one probe goes (trip ${record.trips}, each doubles the wait).`,
      history,
    };
  }
  if (record.breaker === 'half-open') {
    return { address: record.address, status: 'half-open', reason: lastNote ?? 'recovering after failures', countdown: 'a probe decides', doing: 'One probe delivery is out: it closes the circuit or opens it again.', history };
  }
  if (record.failures > 0) {
    return { address: record.address, status: 'failing', reason: `${record.failures} failed attempt${record.failures === 1 ? '' : 's'} in a row`, countdown: 'retrying', doing: 'Deliveries are retried with backoff; the circuit opens after repeated failures.', history };
  }
  return undefined;
}

/** Destinations that need attention: held first (soonest end first), then open circuits, then failing ones. */
export function holdRows(records: unknown, now: number): HoldRow[] {
  if (!Array.isArray(records)) return [];
  const rows: HoldRow[] = [];
  for (const record of records as DestinationRecord[]) {
    if (!record || typeof record.address !== 'string') continue;
    const row = record.hold ? holdRow(record, now) : breakerRow(record, now);
    if (row) rows.push(row);
  }
  const rank = { held: 0, 'circuit open': 1, 'half-open': 2, failing: 3 };
  return rows.sort((a, b) => rank[a.status] - rank[b.status] || (a.until ?? Infinity) - (b.until ?? Infinity) || a.address.localeCompare(b.address));
}

/** Destinations with history but nothing wrong now: what happened to them, for the record. */
export function recoveredRows(records: unknown): { address: string; history: HistoryRow[] }[] {
  if (!Array.isArray(records)) return [];
  return (records as DestinationRecord[])
    .filter((r) => r && typeof r.address === 'string' && !r.hold && r.breaker === 'closed' && !r.failures && r.history?.length)
    .map((r) => ({ address: r.address, history: historyRows(r) }))
    .sort((a, b) => (b.history[0]?.at ?? 0) - (a.history[0]?.at ?? 0));
}

export interface HoldForm {
  address: string;
  strategy: HoldStrategy;
  reason: string;
  /** session_pause (and optionally the others): minutes from now */
  minutes: string;
  fallback: string;
}

/** A hold request from the form, or the errors by field. */
export function holdFromForm(form: HoldForm, now: number): { hold?: HoldRequest; errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const input: Record<string, unknown> = { address: form.address.trim(), strategy: form.strategy, reason: form.reason.trim() };
  const minutes = form.minutes.trim();
  if (minutes) {
    const value = Number(minutes);
    if (!Number.isFinite(value) || value <= 0) errors.minutes = 'expected a number of minutes above 0';
    else input.until = now + Math.round(value * 60_000);
  }
  if (form.fallback.trim()) input.fallback = form.fallback.trim();
  const parsed = HoldRequest.safeParse(input);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const field = fieldPath(issue.path) || 'address';
      const key = field === 'until' ? 'minutes' : field;
      errors[key] ??= issue.message;
    }
  }
  if (Object.keys(errors).length) return { errors };
  return { hold: parsed.data, errors };
}

export interface AlertRow {
  key: string;
  severity: 'info' | 'warning' | 'critical';
  text: string;
  at: number;
  when: string;
  /** raised in the block that is running now */
  current: boolean;
}

/** The host's usage alerts (its report's `alerts` and `history`), newest first, each once. */
export function alertRows(report: unknown): AlertRow[] {
  const r = report as { alerts?: unknown; history?: unknown } | null | undefined;
  if (!r || typeof r !== 'object') return [];
  const rows = new Map<string, AlertRow>();
  const take = (list: unknown, current: boolean) => {
    if (!Array.isArray(list)) return;
    for (const a of list as { kind?: unknown; severity?: unknown; text?: unknown; at?: unknown; blockId?: unknown }[]) {
      if (!a || typeof a.text !== 'string' || typeof a.at !== 'number' || !Number.isFinite(a.at)) continue;
      const severity = a.severity === 'critical' || a.severity === 'warning' ? a.severity : 'info';
      const key = `${String(a.kind)}/${String(a.blockId)}/${a.at}/${severity}`;
      const known = rows.get(key);
      if (known) known.current ||= current;
      else rows.set(key, { key, severity, text: a.text, at: a.at, when: formatTime(a.at), current });
    }
  };
  take(r.alerts, true);
  take(r.history, false);
  return [...rows.values()].sort((a, b) => b.at - a.at);
}
