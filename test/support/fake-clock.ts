import type { Clock } from '../../src/bus/ports';

/** A clock whose time moves only when a test says so; timers fire in due order as it moves. */
export class FakeClock implements Clock {
  private time: number;
  private timers = new Map<number, { at: number; callback: () => void }>();
  private nextHandle = 1;

  constructor(start = 1_700_000_000_000) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimer(callback: () => void, delayMs: number): unknown {
    const handle = this.nextHandle++;
    this.timers.set(handle, { at: this.time + delayMs, callback });
    return handle;
  }

  clearTimer(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** Drops every timer, as a stopped service worker loses its own. */
  dropTimers(): void {
    this.timers.clear();
  }

  /**
   * Moves time forward by `ms`, firing each timer at its own time and awaiting `settle` after each,
   * so work a timer starts (and the timers it sets) happens at the right moment.
   */
  async advance(ms: number, settle: () => Promise<void> = async () => {}): Promise<void> {
    const end = this.time + ms;
    await settle();
    for (;;) {
      const next = [...this.timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!next) break;
      this.timers.delete(next[0]);
      this.time = Math.max(this.time, next[1].at);
      next[1].callback();
      await settle();
    }
    this.time = end;
  }
}
