/** How the dashboard writes numbers, amounts and durations. Pure. */

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A duration as a person reads it: "2 h 13 min", "4 min 05 s", "12 s"; negative and NaN read as 0 s. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return '0 s';
  if (ms >= DAY) {
    const days = Math.floor(ms / DAY);
    const hours = Math.floor((ms % DAY) / HOUR);
    return hours ? `${days} d ${hours} h` : `${days} d`;
  }
  if (ms >= HOUR) {
    const hours = Math.floor(ms / HOUR);
    const minutes = Math.floor((ms % HOUR) / MINUTE);
    return minutes ? `${hours} h ${minutes} min` : `${hours} h`;
  }
  if (ms >= MINUTE) {
    const minutes = Math.floor(ms / MINUTE);
    const seconds = Math.floor((ms % MINUTE) / SECOND);
    return `${minutes} min ${String(seconds).padStart(2, '0')} s`;
  }
  return `${Math.ceil(ms / SECOND)} s`;
}

/** Time left until `until`, or what happened once it passed. */
export function countdownText(until: number | null | undefined, now: number, ended = 'any moment now'): string {
  if (until === null || until === undefined || !Number.isFinite(until)) return 'no end set';
  return until > now ? `in ${formatDuration(until - now)}` : ended;
}

/** 1,234 · 12.3k · 4.56M tokens */
export function formatTokens(count: number): string {
  if (!Number.isFinite(count)) return '–';
  const abs = Math.abs(count);
  if (abs >= 1e9) return `${(count / 1e9).toFixed(2)}B`;
  if (abs >= 1e6) return `${(count / 1e6).toFixed(2)}M`;
  if (abs >= 1e4) return `${(count / 1e3).toFixed(1)}k`;
  return Math.round(count).toLocaleString('en-US');
}

export function formatUsd(amount: number | null | undefined): string {
  if (amount === null || amount === undefined || !Number.isFinite(amount)) return 'unknown';
  return `$${amount.toFixed(amount !== 0 && Math.abs(amount) < 1 ? 3 : 2)}`;
}

export function formatPercent(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return 'unknown';
  return `${value.toFixed(value < 10 ? 1 : 0)} %`;
}

export function formatTime(at: number | null | undefined): string {
  if (at === null || at === undefined || !Number.isFinite(at)) return '–';
  return new Date(at).toLocaleString();
}

/** Bytes as KB, MB. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '–';
  if (bytes >= 1_048_576) return `${(bytes / 1_048_576).toFixed(1)} MB`;
  if (bytes >= 1_024) return `${(bytes / 1_024).toFixed(1)} KB`;
  return `${bytes} B`;
}
