/**
 * Group commit: callers submit one item each; items that arrive while a commit is running are
 * committed together in the next one. An idle committer commits at once (after the current task's
 * microtasks, so a burst from one event lands together), so a lone send pays no batching delay.
 *
 * With `overlap` (default 1) above 1, up to that many commits run at once: the next batch is handed
 * to `commit` while the one before is still committing, so its writes are already queued in
 * IndexedDB when that one completes, instead of being made only then (BENCHMARKS.md, issue 3).
 * IndexedDB still runs read-write transactions over the same stores one after another, in the order
 * they were made. What a commit does after its writes must then wait for its `turn`: it resolves
 * once the commit before has finished (either way), so batches finish in the order they began.
 */
export class GroupCommitter<Item, Result> {
  private waiting: { item: Item; resolve: (r: Result) => void; reject: (e: unknown) => void }[] = [];
  private readonly running = new Set<Promise<void>>();
  private scheduled = false;
  /** the commit begun last: the next one's turn comes when it has finished */
  private last: Promise<void> = Promise.resolve();
  private committing = 0;

  /** `commit` gets the batch and returns one result per item, in order. */
  constructor(
    private readonly commit: (items: Item[], turn: Promise<void>) => Promise<Result[]>,
    private readonly overlap = 1,
  ) {}

  submit(item: Item): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** Items waiting for a commit to begin (submitted while `overlap` commits run). */
  get queued(): number {
    return this.waiting.length;
  }

  /** Items not yet committed: waiting, or in a commit still running. */
  get pending(): number {
    return this.waiting.length + this.committing;
  }

  /** Resolves once everything submitted so far is committed. */
  async flushed(): Promise<void> {
    while (this.running.size || this.scheduled) await Promise.all([...this.running, Promise.resolve()]);
  }

  private schedule(): void {
    if (this.scheduled || this.running.size >= this.overlap) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      if (this.waiting.length && this.running.size < this.overlap) this.begin();
    });
  }

  private begin(): void {
    const batch = this.waiting;
    this.waiting = [];
    this.committing += batch.length;
    const turn = this.last;
    const run = (async () => {
      try {
        const results = await this.commit(batch.map((w) => w.item), turn);
        batch.forEach((w, i) => w.resolve(results[i]));
      } catch (error) {
        batch.forEach((w) => w.reject(error));
      }
    })();
    const finished = run.then(() => {
      this.committing -= batch.length;
      this.running.delete(finished);
      if (this.waiting.length) this.schedule();
    });
    this.running.add(finished);
    this.last = finished;
  }
}
