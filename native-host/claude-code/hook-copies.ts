/**
 * One hook event, taken once, though it may come twice (issue 5: "no event is lost while the daemon
 * is down" — and none is counted twice).
 *
 * switchboard-hook spools an event when its POST fails or takes longer than POST_MAX_SECONDS
 * (hook-script.ts). An event whose POST reached the daemon but whose answer came too late is then
 * both journaled and spooled, and the spool drain would journal it again. Both copies carry the
 * hook process's id — the POST in `X-Switchboard-Hook-Pid`, the spool file in its name
 * `<ns>-<pid>.json` — and a hook process posts exactly one event. So a copy with the same pid and
 * the same payload, taken within MATCH_WINDOW_MS of the first, is the same event, and is dropped.
 *
 * Distinct events are never dropped: two have the same pid only when the system reused the id of a
 * hook process that has ended — after going through every other id — and then they must also carry
 * the same payload within minutes. An event without a pid (a hook script older than the header, a
 * spool file named otherwise) is always taken. A copy matches one copy only: the pair is then done.
 *
 * The copies seen are remembered for KEEP_MS, and across a daemon restart in a small file: a daemon
 * stopped between the POST and the drain still knows the first copy when it drains the second.
 */
import { createHash } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { z } from 'zod';

/** The header that carries the hook process's id (hook-script.ts). */
export const HOOK_PID_HEADER = 'x-switchboard-hook-pid';
/** The two copies of one event are taken at most this far apart: the POST's time limit plus the daemon's delay in taking it. */
export const MATCH_WINDOW_MS = 5 * 60_000;
/** How long a copy is remembered: past the match window, and past a drain that waited for a full journal. */
export const KEEP_MS = 10 * 60_000;
/** At most this many copies remembered (the oldest go first): about 50 events a second for KEEP_MS. */
export const MAX_KEPT = 30_000;

const SavedCopies = z.strictObject({ version: z.literal(1), copies: z.array(z.tuple([z.string(), z.number()])) });

interface Copy {
  /** when the event happened, by this copy */
  at: number;
  /** when it may be forgotten: KEEP_MS after it was taken (or loaded) */
  expires: number;
  /** resolves true once the copy is journaled, false when that failed (the other copy must then be taken) */
  taken: Promise<boolean>;
}

/** The pid of a hook process, from the header or a spool file's name; undefined when it is not one. */
export function hookPid(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string' || !/^\d{1,10}$/.test(value.trim())) return undefined;
  const pid = Number(value.trim());
  return pid > 0 && pid <= 0xffffffff ? pid : undefined;
}

export class HookCopies {
  private readonly copies = new Map<string, Copy>();
  private dirty = false;
  private saving: Promise<void> = Promise.resolve();

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * Takes one copy of an event posted by the hook process `pid`, `at` when it happened (ms):
   * `journal` runs unless another copy of the same event was taken. Resolves true when it ran,
   * false for a copy dropped. A copy whose `journal` throws is forgotten, so the other is taken.
   */
  async take(pid: number | undefined, payload: unknown, at: number, journal: () => Promise<void>): Promise<boolean> {
    if (pid === undefined) {
      await journal();
      return true;
    }
    const key = digest(pid, payload);
    const earlier = this.copies.get(key);
    if (earlier && Math.abs(earlier.at - at) <= MATCH_WINDOW_MS && (await earlier.taken)) {
      // The pair is complete: a third copy could only be another event.
      if (this.copies.get(key) === earlier) this.forget(key);
      return false;
    }
    let settle!: (taken: boolean) => void;
    const copy: Copy = { at, expires: this.now() + KEEP_MS, taken: new Promise<boolean>((resolve) => (settle = resolve)) };
    this.remember(key, copy);
    try {
      await journal();
    } catch (error) {
      if (this.copies.get(key) === copy) this.forget(key);
      settle(false);
      throw error;
    }
    settle(true);
    return true;
  }

  get size(): number {
    return this.copies.size;
  }

  /** Loads the copies a previous daemon saved; a missing or damaged file is nothing remembered. */
  async load(file: string, warn: (line: string) => void = () => {}): Promise<void> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') warn(`could not read ${file}: ${(error as Error).message}`);
      return;
    }
    let saved: z.infer<typeof SavedCopies>;
    try {
      saved = SavedCopies.parse(JSON.parse(text));
    } catch (error) {
      warn(`${file} is not a list of hook events taken; starting afresh (${(error as Error).message.split('\n')[0]})`);
      return;
    }
    // Kept from now on, however long the daemon was stopped: the drain after the start must still find them.
    const expires = this.now() + KEEP_MS;
    for (const [key, at] of saved.copies) this.copies.set(key, { at, expires, taken: Promise.resolve(true) });
  }

  /** Saves the copies taken in the last KEEP_MS, when there is something new; written beside, then renamed, one save at a time. */
  save(file: string): Promise<void> {
    const run = this.saving.catch(() => {}).then(() => this.saveNow(file));
    this.saving = run;
    return run;
  }

  private async saveNow(file: string): Promise<void> {
    this.prune();
    if (!this.dirty) return;
    this.dirty = false;
    const copies: [string, number][] = [];
    for (const [key, copy] of this.copies) copies.push([key, copy.at]);
    const temporary = `${file}.${process.pid}.tmp`;
    try {
      await writeFile(temporary, JSON.stringify({ version: 1, copies }), { mode: 0o600 });
      await rename(temporary, file);
    } catch (error) {
      this.dirty = true;
      throw error;
    }
  }

  private remember(key: string, copy: Copy): void {
    this.copies.delete(key);
    this.copies.set(key, copy);
    this.dirty = true;
    this.prune();
  }

  private forget(key: string): void {
    this.copies.delete(key);
    this.dirty = true;
  }

  /** Forgets copies taken more than KEEP_MS ago, and the oldest beyond MAX_KEPT (the map is in the order taken). */
  private prune(): void {
    const now = this.now();
    for (const [key, copy] of this.copies) {
      if (copy.expires > now && this.copies.size <= MAX_KEPT) break;
      this.copies.delete(key);
      this.dirty = true;
    }
  }
}

function digest(pid: number, payload: unknown): string {
  return createHash('sha256').update(`${pid}\n${JSON.stringify(payload)}`).digest('base64url');
}
