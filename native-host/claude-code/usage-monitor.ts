/**
 * The usage monitor in the daemon (issue 5, "Usage monitor"): reads the transcripts of the sessions
 * the hooks report, keeps every usage record (deduped by key) in `<home>/usage/records.jsonl` so the
 * person's history outlives a restart, and evaluates blocks, limits and alerts on it. The pure parts
 * are in ./usage; this file only wires them to files and to the daemon.
 */
import { appendFile, mkdir, readFile, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DEFAULT_THRESHOLDS,
  INITIAL_ALERT_STATE,
  TranscriptReader,
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
  type LimitStatus,
  type PriceTable,
  type RateLimitReading,
  type UsageAlert,
  type UsageRecord,
  type UsageSnapshot,
} from './usage';

export interface UsageReport {
  snapshot: UsageSnapshot;
  limits: LimitStatus;
  /** alerts raised in the active block */
  alerts: UsageAlert[];
  transcripts: number;
  records: number;
}

export interface UsageMonitorOptions {
  home: string;
  now?: () => number;
  thresholds?: AlertThresholds;
  /** the person's own price file, over the bundled table */
  pricesFile?: string;
  /** called with each alert when it is raised */
  onAlert: (alert: UsageAlert) => void;
  log: (line: string) => void;
}

export class UsageMonitor {
  private readonly records = new Map<string, UsageRecord>();
  private readonly transcripts = new Set<string>();
  private reading: RateLimitReading | null = null;
  private alertState: AlertState = INITIAL_ALERT_STATE;
  private refreshing: Promise<void> | undefined;
  private readonly now: () => number;
  private readonly dir: string;

  private constructor(
    private readonly options: UsageMonitorOptions,
    private readonly reader: TranscriptReader,
    private readonly prices: PriceTable,
  ) {
    this.now = options.now ?? Date.now;
    this.dir = join(options.home, 'usage');
  }

  static async open(options: UsageMonitorOptions): Promise<UsageMonitor> {
    const dir = join(options.home, 'usage');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const reader = await TranscriptReader.open({ store: jsonFileCursorStore(join(dir, 'cursors.json')) });
    const monitor = new UsageMonitor(options, reader, loadPrices(options.pricesFile));
    await monitor.load();
    return monitor;
  }

  /** A session's transcript, from its hook events: read from now on. */
  track(transcriptPath: string | undefined): void {
    if (transcriptPath) this.transcripts.add(transcriptPath);
  }

  /** Claude Code's status line input: its `rate_limits`, when present, win over estimates. */
  statusLine(input: unknown): void {
    const reading = readRateLimits(input, this.now());
    if (reading) this.reading = reading;
  }

  /** Reads what the transcripts gained, stores it, then evaluates; one refresh at a time. */
  refresh(): Promise<void> {
    this.refreshing ??= this.refreshOnce().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  report(): UsageReport {
    const now = this.now();
    const snapshot = usageSnapshot(this.records.values(), this.prices, now);
    const limits = limitStatus({ now, active: snapshot.active, estimate: estimateLimit(snapshot.blocks, now), reading: this.reading });
    return { snapshot, limits, alerts: this.alertState.raised, transcripts: this.transcripts.size, records: this.records.size };
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
    await batch.commit();
    const report = this.report();
    const evaluation = evaluateAlerts({ now: report.snapshot.now, active: report.snapshot.active, limits: report.limits }, this.options.thresholds ?? DEFAULT_THRESHOLDS, this.alertState);
    this.alertState = evaluation.state;
    if (evaluation.raised.length || evaluation.cleared.length) await this.saveAlertState();
    for (const alert of evaluation.raised) this.options.onAlert(alert);
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
  }

  private async saveAlertState(): Promise<void> {
    const file = join(this.dir, 'alerts.json');
    await writeFile(`${file}.tmp`, JSON.stringify(this.alertState), { mode: 0o600 });
    await rename(`${file}.tmp`, file);
  }
}
