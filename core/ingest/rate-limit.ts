import { LRUCache } from 'lru-cache';
import { z } from 'zod';

const windowSchema = z.strictObject({
  /** Requests allowed per key and route within the window. */
  limit: z.number().int().positive(),
  window_seconds: z.number().int().positive().default(60),
});

/**
 * Per key and route, as a sliding window. `per_route` overrides the limit for single routes
 * (keyed by the route path as documented, e.g. "/api/logs"). `none` turns limiting off.
 */
export const rateLimitConfigSchema = z.union([
  z.literal('none'),
  windowSchema.extend({
    per_route: z.record(z.string().startsWith('/'), windowSchema).default({}),
  }),
]);

export type RateLimitConfig = z.output<typeof rateLimitConfigSchema>;

export interface RateLimitDecision {
  allowed: boolean;
  /** Refused because the shared window could not be reached (on_unavailable: refuse): answer 503. */
  unavailable?: boolean;
  limit: number;
  /** Requests left in the window after this one. */
  remaining: number;
  /** Seconds until the window in progress ends and its count starts to age out. */
  resetSeconds: number;
  /** When refused: seconds until a request would be allowed again. */
  retryAfterSeconds: number;
}

export interface Bucket {
  /** Start (ms) of the fixed window `current` counts in. */
  windowStart: number;
  current: number;
  previous: number;
}

/**
 * The sliding-window counter: the count of the previous fixed window, weighted by how much of it
 * still overlaps the sliding window, plus the count of the current one. It needs two numbers per
 * bucket instead of a timestamp per request, and errs by at most the previous window's skew.
 */
export class SlidingWindowRateLimiter {
  private readonly buckets: LRUCache<string, Bucket>;

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
    maxBuckets = 100_000,
  ) {
    // A bucket untouched for two windows counts nothing any more; the bound keeps a flood of
    // distinct keys from growing memory.
    this.buckets = new LRUCache({ max: maxBuckets, ttl: windowMs * 2, ttlAutopurge: false });
  }

  /** Counts one request for `bucket` if the limit allows it. */
  take(bucketKey: string): RateLimitDecision {
    const now = this.now();
    const start = now - (now % this.windowMs);
    let bucket = this.buckets.get(bucketKey);
    if (!bucket) {
      bucket = { windowStart: start, current: 0, previous: 0 };
      this.buckets.set(bucketKey, bucket);
    } else if (bucket.windowStart !== start) {
      bucket.previous = start - bucket.windowStart === this.windowMs ? bucket.current : 0;
      bucket.current = 0;
      bucket.windowStart = start;
      this.buckets.set(bucketKey, bucket);
    }
    const decision = decide(this.limit, this.windowMs, bucket, now);
    if (decision.allowed) bucket.current++;
    return decision;
  }
}

/**
 * The decision of the sliding-window counter for a bucket (before counting this request), shared
 * by the in-process limiter and the one in Redis (core/shared-state/rate-window.ts).
 */
export function decide(limit: number, windowMs: number, bucket: Bucket, now: number): RateLimitDecision {
  const elapsed = (now - bucket.windowStart) / windowMs;
  const used = Math.floor(bucket.previous * (1 - elapsed) + bucket.current);
  const resetSeconds = Math.max(1, Math.ceil((bucket.windowStart + windowMs - now) / 1000));
  if (used >= limit) return { allowed: false, limit, remaining: 0, resetSeconds, retryAfterSeconds: retryAfterSeconds(limit, windowMs, bucket, now) };
  return { allowed: true, limit, remaining: Math.max(0, limit - used - 1), resetSeconds, retryAfterSeconds: 0 };
}

/** Whole seconds (at least 1) until the weighted count drops below the limit. */
function retryAfterSeconds(limit: number, windowMs: number, bucket: Bucket, now: number): number {
  const end = bucket.windowStart + windowMs;
  // Within this window the count only falls as the previous window ages out:
  //   previous * (1 - (t - start) / W) + current < limit
  // otherwise it falls in the next window, as this window's count ages out:
  //   current * (1 - (t - end) / W) < limit
  const t =
    bucket.current < limit && bucket.previous > 0
      ? bucket.windowStart + windowMs * (1 - (limit - bucket.current) / bucket.previous)
      : end + windowMs * (1 - limit / bucket.current);
  // Strictly after t: at t itself the count still equals the limit.
  return Math.max(1, Math.floor((t - now) / 1000) + 1);
}

/** A window shared by every instance (Redis); throws when it cannot be reached. */
export interface SharedWindow {
  take(bucketKey: string, limit: number, windowMs: number): Promise<RateLimitDecision>;
}

export interface SharedLimits {
  window: SharedWindow;
  /** allow: count in this instance's own window meanwhile; refuse: refuse (503). */
  onUnavailable: 'allow' | 'refuse';
}

/**
 * The limiters of one receiver: one per distinct (limit, window), applied per key and route; in
 * this process, or in the window every instance shares once `share` was called.
 */
export class RateLimits {
  private readonly limiters = new Map<string, SlidingWindowRateLimiter>();
  private shared: SharedLimits | undefined;

  constructor(
    private readonly config: RateLimitConfig,
    private readonly now: () => number = Date.now,
  ) {}

  get enabled(): boolean {
    return this.config !== 'none';
  }

  /** Counts in the window every instance shares from now on. */
  share(shared: SharedLimits | undefined): void {
    this.shared = shared;
  }

  /** Counts a request of `principal` on `route`; undefined when limiting is off. */
  async take(principal: string, route: string): Promise<RateLimitDecision | undefined> {
    if (this.config === 'none') return undefined;
    const { limit, window_seconds } = this.config.per_route[route] ?? this.config;
    const bucketKey = `${principal}\u0000${route}`;
    if (this.shared) {
      try {
        return await this.shared.window.take(bucketKey, limit, window_seconds * 1000);
      } catch {
        if (this.shared.onUnavailable === 'refuse') return { allowed: false, unavailable: true, limit, remaining: 0, resetSeconds: 1, retryAfterSeconds: 1 };
      }
    }
    return this.local(limit, window_seconds).take(bucketKey);
  }

  private local(limit: number, windowSeconds: number): SlidingWindowRateLimiter {
    const id = `${limit}/${windowSeconds}`;
    let limiter = this.limiters.get(id);
    if (!limiter) {
      limiter = new SlidingWindowRateLimiter(limit, windowSeconds * 1000, this.now);
      this.limiters.set(id, limiter);
    }
    return limiter;
  }
}

/** The standard headers every rate-limited answer carries. */
export function rateLimitHeaders(decision: RateLimitDecision): Record<string, string> {
  // Refused because the shared window could not be read (on_unavailable: refuse): there is no
  // window to report, only when to retry.
  if (decision.unavailable) return { 'Retry-After': String(decision.retryAfterSeconds) };
  const headers: Record<string, string> = {
    'X-RateLimit-Limit': String(decision.limit),
    'X-RateLimit-Remaining': String(decision.remaining),
    'X-RateLimit-Reset': String(decision.resetSeconds),
  };
  if (!decision.allowed) headers['Retry-After'] = String(decision.retryAfterSeconds);
  return headers;
}
