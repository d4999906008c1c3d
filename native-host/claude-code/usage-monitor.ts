/**
 * The usage monitor in the daemon (issue 5, "Usage monitor", "Rate-limit recovery"): reads the
 * transcripts of the sessions the hooks report, keeps every usage record (deduped by key) in
 * `<home>/usage/records.jsonl` so the person's history outlives a restart, and evaluates blocks,
 * limits and alerts on it. Alerts are kept newest first in `usage/alert-history.json`. Every
 * rate-limit signal — a transcript's rate-limit line, a StopFailure hook, a full window in the
 * status line — becomes a hold for the session (`onHold`), until the reset when one is known
 * (`usage/limits.json` remembers what was held, so a restart asks for nothing twice). The pure
 * parts are in ./usage; this file only wires them to files and to the daemon.
 */
import { appendFile, mkdir, readFile, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { HookPayload } from '../../src/protocol/native';
import {
  AlertHistory,
  BUNDLED_PRICES,
  DEFAULT_THRESHOLDS,
  INITIAL_ALERT_STATE,
  INITIAL_LIMITS_STATE,
  TranscriptReader,
  formatDuration,
  limitedSessions,
  takeHook,
  takeReading,
  takeTranscript,
  estimateLimit,
  evaluateAlerts,
  jsonFileCursorStore,
  limitStatus,
  loadPrices,
  mergeUsageRecord,
  readRateLimits,
  usageSnapshot,
  type AlertState,
  type AlertThresholds,
  type LimitHold,
  type LimitedSession,
  type LimitStatus,
  type LimitUpdate,
  type PriceTable,
  type RateLimitReading,
  type UsageAlert,
  type UsageRecord,
  type UsageSnapshot,
  type SessionLimitsState,
} from './usage';

export interface UsageReport {
  snapshot: UsageSnapshot;
  limits: LimitStatus;
  /** alerts raised in the active block */
  alerts: UsageAlert[];
  /** every alert kept, newest first */
  history: UsageAlert[];
  /** the thresholds in effect (config.json claudeCode.alerts over the defaults) */
  thresholds: AlertThresholds;
  /** the sessions a rate limit holds up now, and the hold asked for each */
  rateLimited: LimitedSession[];
  /** the price table: the person's file over the bundled one, or why that file is not used */
  prices: { file: string | null; models: number; error?: string };
  transcripts: number;
  records: number;
}

export interface UsageMonitorOptions {
  home: string;
  now?: () => number;
  thresholds?: AlertThresholds;
  /** the person's own price file, over the bundled table */
  pricesFile?: string;
  /** called with each alert when it is raised (after it is in the history) */
  onAlert: (alert: UsageAlert) => void;
  /** called with each hold a rate-limited session needs; default none */
  onHold?: (hold: LimitHold) => void;
  log: (line: string) => void;
}

const LimitedSessionSchema = z.strictObject({
  sessionId: z.string(),
  since: z.number(),
  resetsAt: z.number().nullable(),
  text: z.string(),
  held: z.strictObject({ strategy: z.enum(['session_pause', 'exponential_backoff']), until: z.number().nullable(), by: z.enum(['host', 'hub']) }).nullable(),
});
const LimitsFile = z.strictObject({ version: z.literal(1), sessions: z.record(z.string(), LimitedSessionSchema), seen: z.array(z.string()) });

export class UsageMonitor {
  private readonly records = new Map<string, UsageRecord>();
  private readonly transcripts = new Set<string>();
  private reading: RateLimitReading | null = null;
  private alertState: AlertState = INITIAL_ALERT_STATE;
  private limitState: SessionLimitsState = INITIAL_LIMITS_STATE;
  private limitWrites: Promise<void> = Promise.resolve();
  /** the rate-limit alerts raised from hook events and status lines, on their way to the history */
  private raising: Promise<void> = Promise.resolve();
  private refreshing: Promise<void> | undefined;
  private readonly now: () => number;
  private readonly dir: string;
  private thresholds: AlertThresholds;
  private refreshAgain: Promise<void> | undefined;

  private constructor(
    private readonly options: UsageMonitorOptions,
    private readonly reader: TranscriptReader,
    private readonly prices: PriceTable,
    private readonly pricesError: string | undefined,
    private readonly history: AlertHistory,
  ) {
    this.now = options.now ?? Date.now;
    this.dir = join(options.home, 'usage');
    this.thresholds = options.thresholds ?? DEFAULT_THRESHOLDS;
  }

  static async open(options: UsageMonitorOptions): Promise<UsageMonitor> {
    const dir = join(options.home, 'usage');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const reader = await TranscriptReader.open({ store: jsonFileCursorStore(join(dir, 'cursors.json')) });
    // Costs are estimates: a broken price file is reported, and the bundled table prices meanwhile.
    let prices = BUNDLED_PRICES;
    let pricesError: string | undefined;
    try {
      prices = loadPrices(options.pricesFile);
    } catch (error) {
      pricesError = (error as Error).message;
      options.log(`warning: the price file is not used, the bundled prices are: ${pricesError}`);
    }
    const history = await AlertHistory.open(join(dir, 'alert-history.json'), { warn: (line) => options.log(`warning: ${line}`) });
    const monitor = new UsageMonitor(options, reader, prices, pricesError, history);
    await monitor.load();
    return monitor;
  }

  /** A session's transcript, from its hook events: read from now on. */
  track(transcriptPath: string | undefined): void {
    if (transcriptPath) this.transcripts.add(transcriptPath);
  }

  /**
   * A hook event: its transcript is followed from now on; a StopFailure `rate_limit` marks the
   * session limited (the hub holds it itself) and a Stop ends its limit.
   */
  hook(payload: HookPayload, receivedAt = this.now()): void {
    this.track(payload.transcript_path);
    const resetsAt = typeof payload.resets_at === 'number' ? payload.resets_at * (payload.resets_at < 1e12 ? 1_000 : 1) : null;
    const text = typeof payload.last_assistant_message === 'string' ? payload.last_assistant_message : '';
    this.applyLimits(
      takeHook(this.limitState, { sessionId: payload.session_id, event: payload.hook_event_name, error: payload.error, resetsAt, text, at: receivedAt, reading: this.reading, now: this.now() }),
    );
  }

  /**
   * Claude Code's status line input: its `rate_limits`, when present, win over estimates; a window
   * at 100 % tells a limited session when it can go on.
   */
  statusLine(input: unknown): void {
    const reading = readRateLimits(input, this.now());
    if (!reading) return;
    this.reading = reading;
    this.applyLimits(takeReading(this.limitState, reading, this.now()));
  }

  /** Reads what the transcripts gained, stores it, then evaluates; one refresh at a time. */
  refresh(): Promise<void> {
    // Asked while one runs (a turn ended during the timer's refresh): that one may have read the
    // transcripts before this turn's lines, so one more follows it — one, however many ask.
    if (this.refreshing) {
      this.refreshAgain ??= this.refreshing.catch(() => {}).then(() => {
        this.refreshAgain = undefined;
        return this.refresh();
      });
      return this.refreshAgain;
    }
    this.refreshing = this.refreshOnce().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  /** New thresholds from the dashboard: the next evaluation uses them. */
  setThresholds(thresholds: AlertThresholds): void {
    this.thresholds = thresholds;
  }

  report(): UsageReport {
    const now = this.now();
    const snapshot = usageSnapshot(this.records.values(), this.prices, now);
    const limits = limitStatus({ now, active: snapshot.active, estimate: estimateLimit(snapshot.blocks, now), reading: this.reading });
    return {
      snapshot,
      limits,
      alerts: this.alertState.raised,
      history: this.history.list(),
      thresholds: this.thresholds,
      rateLimited: limitedSessions(this.limitState, now),
      prices: { file: this.options.pricesFile ?? null, models: this.prices.models.size, ...(this.pricesError ? { error: this.pricesError } : {}) },
      transcripts: this.transcripts.size,
      records: this.records.size,
    };
  }

  private async refreshOnce(): Promise<void> {
    const batch = await this.reader.read([...this.transcripts]);
    const fresh: UsageRecord[] = [];
    for (const record of batch.records) {
      const merged = mergeUsageRecord(this.records.get(record.key), record);
      this.records.set(record.key, merged);
      fresh.push(merged);
    }
    // Stored before the offsets move on: a crash in between reads the lines again, and the merge by key absorbs them.
    if (fresh.length) await appendFile(join(this.dir, 'records.jsonl'), fresh.map((r) => JSON.stringify(r)).join('\n') + '\n', { mode: 0o600 });
    // A session's newest response that got through ends a limit before it.
    const answeredAt = new Map<string, number>();
    for (const record of batch.records) answeredAt.set(record.sessionId, Math.max(answeredAt.get(record.sessionId) ?? 0, record.timestamp));
    // Held (and remembered as held) before the offsets move on, for the same reason: a crash between
    // reads the lines again, and the seen keys absorb them.
    this.applyLimits(takeTranscript(this.limitState, { events: batch.rateLimits, answeredAt, reading: this.reading, now: this.now() }));
    await this.limitWrites;
    await batch.commit();
    const report = this.report();
    const evaluation = evaluateAlerts({ now: report.snapshot.now, active: report.snapshot.active, limits: report.limits }, this.thresholds, this.alertState);
    this.alertState = evaluation.state;
    if (evaluation.raised.length || evaluation.cleared.length) await this.saveAlertState();
    await this.raise(evaluation.raised);
    await this.settled();
  }

  /** Resolves once every alert raised so far has been handed on and the limit state saved (the daemon's stop waits for it). */
  async settled(): Promise<void> {
    await Promise.all([this.raising, this.limitWrites]);
  }

  /** Keeps the alerts in the history, then hands each to the daemon. */
  private async raise(alerts: UsageAlert[]): Promise<void> {
    if (!alerts.length) return;
    await this.history.add(...alerts).catch((error: Error) => this.options.log(`warning: could not save the alert history: ${error.message}`));
    for (const alert of alerts) this.options.onAlert(alert);
  }

  /** Takes a new limit state: asks for its holds, raises an alert for each session newly limited, saves it. */
  private applyLimits(update: LimitUpdate): void {
    const before = this.limitState;
    this.limitState = update.state;
    if (update.state === before && !update.holds.length) return;
    for (const hold of update.holds) this.options.onHold?.(hold);
    const now = this.now();
    const newly = Object.values(update.state.sessions).filter((s) => !(s.sessionId in before.sessions));
    const alerts = newly.map((limited) => this.limitAlert(limited, now));
    if (alerts.length) this.raising = Promise.all([this.raising, this.raise(alerts)]).then(() => undefined);
    const text = JSON.stringify(update.state);
    this.limitWrites = this.limitWrites
      .catch(() => {})
      .then(() => writeAtomically(join(this.dir, 'limits.json'), text))
      .catch((error: Error) => this.options.log(`warning: could not save usage/limits.json: ${error.message}`));
  }

  private limitAlert(limited: LimitedSession, now: number): UsageAlert {
    const reset = limited.resetsAt !== null && limited.resetsAt > now ? limited.resetsAt : null;
    const held = reset !== null ? `its messages wait until the reset at ${new Date(reset).toISOString()} (in ${formatDuration(reset - now)})` : 'its messages wait, probed with backoff (no reset time known)';
    const said = limited.text ? ` (${limited.text.replace(/\s+/g, ' ').trim().slice(0, 200)})` : '';
    return { kind: 'rate-limited', severity: 'critical', text: `Claude Code session ${limited.sessionId} hit a rate limit${said}; ${held}.`, value: 100, threshold: 100, blockId: this.alertState.blockId, at: now };
  }

  private async load(): Promise<void> {
    const text = await readFile(join(this.dir, 'records.jsonl'), 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        const record = JSON.parse(line) as UsageRecord;
        this.records.set(record.key, mergeUsageRecord(this.records.get(record.key), record));
      } catch {
        this.options.log('warning: skipped a damaged line in usage/records.jsonl');
      }
    }
    const state = await readFile(join(this.dir, 'alerts.json'), 'utf8').catch(() => undefined);
    if (state) this.alertState = JSON.parse(state) as AlertState;
    const limits = await readFile(join(this.dir, 'limits.json'), 'utf8').catch(() => undefined);
    if (limits) {
      try {
        this.limitState = LimitsFile.parse(JSON.parse(limits));
      } catch (error) {
        this.options.log(`warning: usage/limits.json is not a limit state, starting afresh: ${(error as Error).message.split('\n')[0]}`);
      }
    }
  }

  private async saveAlertState(): Promise<void> {
    await writeAtomically(join(this.dir, 'alerts.json'), JSON.stringify(this.alertState));
  }
}

async function writeAtomically(file: string, text: string): Promise<void> {
  await writeFile(`${file}.tmp`, text, { mode: 0o600 });
  await rename(`${file}.tmp`, file);
}
