import { RateLimits, rateLimitHeaders, SlidingWindowRateLimiter } from '../../../core/ingest/rate-limit';

describe('sliding-window rate limiter', () => {
  it('allows `limit` requests per window and refuses the next with the time until one is allowed', () => {
    let now = 60_000; // the start of a window
    const limiter = new SlidingWindowRateLimiter(3, 60_000, () => now);
    expect([1, 2, 3].map(() => limiter.take('k').remaining)).toEqual([2, 1, 0]);
    now += 10_000;
    const refused = limiter.take('k');
    expect(refused).toEqual({ allowed: false, limit: 3, remaining: 0, resetSeconds: 50, retryAfterSeconds: 51 });
    // The window's count ages out from the next window on: one more is allowed just after it starts.
    now = 120_000 + 1;
    expect(limiter.take('k').allowed).toBe(true);
  });

  it('weights the previous window by how much of it still overlaps the sliding window', () => {
    let now = 0;
    const limiter = new SlidingWindowRateLimiter(10, 60_000, () => now);
    for (let i = 0; i < 10; i++) expect(limiter.take('k').allowed).toBe(true);
    // A quarter into the next window 75% of the previous 10 still count (7.5): three more fit
    // (7.5, 8.5, 9.5 round down below 10), the fourth does not.
    now = 75_000;
    expect([1, 2, 3].map(() => limiter.take('k'))).toMatchObject([
      { allowed: true, remaining: 2 },
      { allowed: true, remaining: 1 },
      { allowed: true, remaining: 0 },
    ]);
    const refused = limiter.take('k');
    // 10 * (1 - t) + 3 < 10 once t > 0.3 of the window, i.e. after 78 s: 3 s from now, so 4.
    expect(refused).toMatchObject({ allowed: false, retryAfterSeconds: 4 });
    now = 78_000;
    expect(limiter.take('k').allowed).toBe(false);
    now = 75_000 + refused.retryAfterSeconds * 1000;
    expect(limiter.take('k').allowed).toBe(true);
  });

  it('forgets a window older than the previous one', () => {
    let now = 0;
    const limiter = new SlidingWindowRateLimiter(2, 1_000, () => now);
    limiter.take('k');
    limiter.take('k');
    expect(limiter.take('k').allowed).toBe(false);
    now = 5_000;
    expect(limiter.take('k')).toMatchObject({ allowed: true, remaining: 1 });
  });

  it('keeps separate budgets per key and per route, with per-route overrides', async () => {
    const limits = new RateLimits({ limit: 1, window_seconds: 60, per_route: { '/b': { limit: 2, window_seconds: 60 } } }, () => 0);
    expect((await limits.take('alice', '/a'))?.allowed).toBe(true);
    expect((await limits.take('alice', '/a'))?.allowed).toBe(false);
    expect((await limits.take('bob', '/a'))?.allowed).toBe(true);
    expect((await limits.take('alice', '/b'))?.allowed).toBe(true);
    expect((await limits.take('alice', '/b'))?.allowed).toBe(true);
    expect((await limits.take('alice', '/b'))?.allowed).toBe(false);
    expect(await new RateLimits('none').take('alice', '/a')).toBeUndefined();
  });

  it('renders the standard headers, with Retry-After only on refusals', () => {
    expect(rateLimitHeaders({ allowed: true, limit: 60, remaining: 59, resetSeconds: 42, retryAfterSeconds: 0 })).toEqual({
      'X-RateLimit-Limit': '60',
      'X-RateLimit-Remaining': '59',
      'X-RateLimit-Reset': '42',
    });
    expect(rateLimitHeaders({ allowed: false, limit: 60, remaining: 0, resetSeconds: 42, retryAfterSeconds: 7 })['Retry-After']).toBe('7');
  });
});
