/**
 * When what Switchboard writes reaches the disk.
 *
 * Every transaction commits with `relaxed` durability: a commit completes once its changes are
 * written to the operating system, not once the disk has confirmed them. What is committed then
 * survives the worker stopping, the browser closing or crashing, and an orderly restart of the
 * machine, all of which leave the operating system's buffers to be written out. Only a power cut
 * or a kernel crash in the seconds before they are written can lose a suffix of the commits (the
 * store's log is written in order, so never a commit without the ones before it).
 *
 * The checkpoint narrows that window to nothing when the bus is quiet: once `quietMs` passes with
 * no write, one `strict` commit makes the disk confirm everything written before it. In Chromium
 * every database of the extension lives in one LevelDB with one log, so the hub's checkpoint covers
 * the test receiver's and the hook events' databases too.
 *
 * Why not `strict` for every commit: at 100,000 stored messages a strict commit waits for the disk
 * to flush, which now and then takes 30–60 ms on these machines, and every commit queued behind it
 * waits too. Raw IndexedDB making a delivery's three commits at 200/s then has a p99 of ~50 ms;
 * relaxed, ~11 ms (BENCHMARKS.md, "Durability"). A checkpoint waits for a pause, so it never
 * stalls a stream.
 */
export const CHECKPOINT_QUIET_MS = 1_000;

export class Checkpoint {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<void> = Promise.resolve();

  /** `flush`: one strict commit, made without telling this checkpoint of it (or it would never rest). */
  constructor(
    private readonly flush: () => Promise<void>,
    private readonly quietMs = CHECKPOINT_QUIET_MS,
  ) {}

  /** A write committed: flush once writes have paused for `quietMs`. */
  wrote(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.run(), this.quietMs);
  }

  /** Whether a flush is waiting for the pause. */
  get pending(): boolean {
    return this.timer !== undefined;
  }

  /** Flushes now if a flush is waiting (a caller about to stop), then resolves once no flush runs. */
  async now(): Promise<void> {
    if (this.timer !== undefined) this.run();
    await this.running;
  }

  /** Forgets a waiting flush (the database is closing). */
  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private run(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.running = this.running.then(() =>
      this.flush().catch((error: unknown) => {
        // Nothing is lost: the data is committed, and the next write arms another checkpoint.
        console.warn(`Switchboard: the checkpoint that flushes committed writes to disk failed: ${(error as Error)?.message ?? error}`);
      }),
    );
  }
}
