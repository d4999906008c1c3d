/**
 * Per-client rate limiting for the local API (issue 4: "per-client rate limiting with a clear 429
 * and Retry-After"): a token bucket per bridge client id, so one runaway client cannot starve the
 * others or fill the journal.
 */

export interface RateLimitOptions {
  /** tokens added per second: the sustained rate. Default 50. */
  perSecond: number;
  /** bucket size: how many requests may come at once after a quiet spell. Default 200. */
  burst: number;
}

export const DEFAULT_RATE_LIMIT: RateLimitOptions = { perSecond: 50, burst: 200 };

export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/** Buckets kept before full (idle) ones are dropped; a full bucket is the same as no bucket. */
const SWEEP_AT = 10_000;

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly options: RateLimitOptions = DEFAULT_RATE_LIMIT,
    private readonly now: () => number = Date.now,
  ) {
    if (!(options.perSecond > 0) || !(options.burst >= 1)) {
      throw new RangeError(`rate limit needs perSecond > 0 and burst >= 1, got ${JSON.stringify(options)}`);
    }
  }

  /** Takes one token from `client`'s bucket, or says how many whole seconds until one is there. */
  take(client: string): RateDecision {
    const now = this.now();
    const bucket = this.refilled(client, now);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true };
    }
    // Retry-After is in whole seconds (RFC 9110); round up so a client that waits is let in.
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / this.options.perSecond)) };
  }

  private refilled(client: string, now: number): { tokens: number; at: number } {
    let bucket = this.buckets.get(client);
    if (!bucket) {
      if (this.buckets.size >= SWEEP_AT) this.sweep(now);
      bucket = { tokens: this.options.burst, at: now };
      this.buckets.set(client, bucket);
      return bucket;
    }
    const elapsedSeconds = Math.max(0, now - bucket.at) / 1000;
    bucket.tokens = Math.min(this.options.burst, bucket.tokens + elapsedSeconds * this.options.perSecond);
    bucket.at = now;
    return bucket;
  }

  private sweep(now: number): void {
    for (const [client, bucket] of this.buckets) {
      const tokens = bucket.tokens + (Math.max(0, now - bucket.at) / 1000) * this.options.perSecond;
      if (tokens >= this.options.burst) this.buckets.delete(client);
    }
  }
}
