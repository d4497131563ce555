/**
 * The sliding-window rate limit of core/ingest/rate-limit.ts, counted in Redis so that every
 * instance shares one window per key and route: one Lua script reads the current and previous
 * fixed-window counts, decides, and counts the request when allowed, atomically.
 */
import type { Redis } from 'ioredis';
import { decide } from '../ingest/rate-limit';
import type { RateLimitDecision } from '../ingest/rate-limit';
import type { SharedRedis } from './redis';

const TAKE = `
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local prev = tonumber(redis.call('GET', KEYS[2]) or '0')
local used = math.floor(prev * (1 - tonumber(ARGV[2])) + cur)
if used >= tonumber(ARGV[1]) then return {0, cur, prev} end
redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {1, cur, prev}`;

type WithTake = Redis & { tracehouseRateTake(current: string, previous: string, limit: number, elapsed: number, ttlMs: number): Promise<[number, number, number]> };

export class SharedRateWindow {
  constructor(
    private readonly redis: SharedRedis,
    private readonly now: () => number = Date.now,
  ) {
    if (!('tracehouseRateTake' in redis.client)) redis.client.defineCommand('tracehouseRateTake', { numberOfKeys: 2, lua: TAKE });
  }

  /** Counts one request of `bucketKey` under (limit, windowMs); throws SharedStateUnavailable when Redis is down. */
  async take(bucketKey: string, limit: number, windowMs: number): Promise<RateLimitDecision> {
    const now = this.now();
    const windowStart = now - (now % windowMs);
    const base = `${this.redis.prefix}rl:${limit}/${windowMs}:${bucketKey}:`;
    const [, current, previous] = await this.redis.run('rate_limits', (client) =>
      (client as WithTake).tracehouseRateTake(`${base}${windowStart}`, `${base}${windowStart - windowMs}`, limit, (now - windowStart) / windowMs, windowMs * 2),
    );
    return decide(limit, windowMs, { windowStart, current: Number(current), previous: Number(previous) }, now);
  }
}
