import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../../native-host/api/rate-limit';

describe('RateLimiter', () => {
  it('lets a burst through, then refills at the sustained rate', () => {
    let now = 0;
    const limiter = new RateLimiter({ perSecond: 10, burst: 3 }, () => now);
    expect([1, 2, 3].map(() => limiter.take('a').allowed)).toEqual([true, true, true]);
    expect(limiter.take('a')).toEqual({ allowed: false, retryAfterSeconds: 1 });
    now += 100; // one token back
    expect(limiter.take('a').allowed).toBe(true);
    expect(limiter.take('a').allowed).toBe(false);
    now += 10_000; // never more than the burst
    expect([1, 2, 3, 4].map(() => limiter.take('a').allowed)).toEqual([true, true, true, false]);
  });

  it('keeps one bucket per client', () => {
    const limiter = new RateLimiter({ perSecond: 1, burst: 1 }, () => 0);
    expect(limiter.take('a').allowed).toBe(true);
    expect(limiter.take('a').allowed).toBe(false);
    expect(limiter.take('b').allowed).toBe(true);
  });

  it('gives Retry-After in whole seconds, rounded up, at least 1', () => {
    let now = 0;
    const limiter = new RateLimiter({ perSecond: 0.25, burst: 1 }, () => now);
    limiter.take('a');
    expect(limiter.take('a')).toEqual({ allowed: false, retryAfterSeconds: 4 });
    now += 2_500;
    expect(limiter.take('a')).toEqual({ allowed: false, retryAfterSeconds: 2 });
    now += 1_500;
    expect(limiter.take('a').allowed).toBe(true);
  });

  it('refuses settings that would let nothing through', () => {
    expect(() => new RateLimiter({ perSecond: 0, burst: 10 })).toThrow(/perSecond > 0/);
    expect(() => new RateLimiter({ perSecond: 1, burst: 0 })).toThrow(/burst >= 1/);
  });
});
