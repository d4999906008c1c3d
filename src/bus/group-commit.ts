/**
 * Group commit: callers submit one item each; items that arrive while a commit is running are
 * committed together in the next one. An idle committer commits at once (after the current task's
 * microtasks, so a burst from one event lands together), so a lone send pays no batching delay.
 */
export class GroupCommitter<Item, Result> {
  private waiting: { item: Item; resolve: (r: Result) => void; reject: (e: unknown) => void }[] = [];
  private running: Promise<void> | undefined;

  /** `commit` gets the batch and returns one result per item, in order. */
  constructor(private readonly commit: (items: Item[]) => Promise<Result[]>) {}

  submit(item: Item): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      this.running ??= this.drain();
    });
  }

  /** Items waiting for the next commit (submitted while one runs). */
  get queued(): number {
    return this.waiting.length;
  }

  /** Resolves once everything submitted so far is committed. */
  async flushed(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    await Promise.resolve();
    while (this.waiting.length) {
      const batch = this.waiting;
      this.waiting = [];
      try {
        const results = await this.commit(batch.map((w) => w.item));
        batch.forEach((w, i) => w.resolve(results[i]));
      } catch (error) {
        batch.forEach((w) => w.reject(error));
      }
    }
    this.running = undefined;
  }
}
