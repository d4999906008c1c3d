/**
 * The usage alerts raised so far, newest first (issue 5: "Alerts … stored, shown, sent to
 * webhooks"): `GET /usage` shows them, so an alert sent while nobody watched can still be read. One
 * small JSON file in the usage folder, capped, replaced whole and atomically (written beside, then
 * renamed) on each alert — alerts come a few a day, and a crash mid-write leaves the previous list.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { UsageAlert } from './alerts';

/** Alerts kept by default: months of them at a few a day. */
export const ALERT_HISTORY_KEPT = 200;

const StoredAlert = z.looseObject({
  kind: z.string(),
  severity: z.enum(['info', 'warning', 'critical']),
  text: z.string(),
  value: z.number(),
  threshold: z.number(),
  blockId: z.string().nullable(),
  at: z.number(),
});
const HistoryFile = z.strictObject({ version: z.literal(1), alerts: z.array(StoredAlert) });

export class AlertHistory {
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly file: string,
    private alerts: UsageAlert[],
    private readonly kept: number,
  ) {}

  /**
   * Loads the history in `file` (none yet: empty). A file that is not a history is reported through
   * `warn` and replaced by the next alert, never a reason for the daemon not to start.
   */
  static async open(file: string, options: { kept?: number; warn?: (line: string) => void } = {}): Promise<AlertHistory> {
    const kept = options.kept ?? ALERT_HISTORY_KEPT;
    let alerts: UsageAlert[] = [];
    let text: string | undefined;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') options.warn?.(`could not read the alert history ${file}: ${(error as Error).message}`);
    }
    if (text !== undefined) {
      let data: unknown;
      try {
        data = JSON.parse(text);
      } catch (error) {
        data = undefined;
        options.warn?.(`the alert history ${file} is not JSON (${(error as Error).message}); starting a new one`);
      }
      if (data !== undefined) {
        const parsed = HistoryFile.safeParse(data);
        if (parsed.success) alerts = (parsed.data.alerts as UsageAlert[]).slice(0, kept);
        else options.warn?.(`the alert history ${file} is not one (${parsed.error.issues[0].path.join('.')}: ${parsed.error.issues[0].message}); starting a new one`);
      }
    }
    return new AlertHistory(file, alerts, kept);
  }

  /** Newest first. */
  list(limit = this.kept): UsageAlert[] {
    return this.alerts.slice(0, limit);
  }

  /** Adds alerts (in the order raised) and saves; the oldest beyond the cap are dropped. */
  add(...raised: UsageAlert[]): Promise<void> {
    if (!raised.length) return this.writing;
    this.alerts = [...[...raised].reverse(), ...this.alerts].slice(0, this.kept);
    const snapshot = JSON.stringify({ version: 1, alerts: this.alerts });
    // One write at a time, in order: the last one holds every alert.
    this.writing = this.writing.catch(() => {}).then(() => this.save(snapshot));
    return this.writing;
  }

  private async save(text: string): Promise<void> {
    await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
    const temporary = `${this.file}.${process.pid}.tmp`;
    await writeFile(temporary, text, { mode: 0o600 });
    await rename(temporary, this.file);
  }
}
