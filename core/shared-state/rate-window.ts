/**
 * The sliding-window rate limit of core/ingest/rate-limit.ts, counted in Redis so that every
 * instance shares one window per key and route: one Lua script reads the clock (Redis TIME, so
 * instances whose clocks differ still agree on the window), the current and previous fixed-window
 * counts, decides, and counts the request when allowed, atomically.
 */
import type { Redis } from 'ioredis';
import { decide } from '../ingest/rate-limit';
import type { RateLimitDecision } from '../ingest/rate-limit';
import type { SharedRedis } from './redis';

/** KEYS[1]: the bucket's key prefix; ARGV: limit, window (ms). Returns {allowed, current, previous, now, windowStart}. */
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local w = tonumber(ARGV[2])
local start = now - (now % w)
local cur_key = KEYS[1] .. string.format('%.0f', start)
local prev_key = KEYS[1] .. string.format('%.0f', start - w)
local cur = tonumber(redis.call('GET', cur_key) or '0')
local prev = tonumber(redis.call('GET', prev_key) or '0')
local used = math.floor(prev * (1 - (now - start) / w) + cur)
if used >= tonumber(ARGV[1]) then return {0, cur, prev, now, start} end
redis.call('INCR', cur_key)
redis.call('PEXPIRE', cur_key, w * 2)
return {1, cur, prev, now, start}`;

type WithTake = Redis & { tracehouseRateTake(prefix: string, limit: number, windowMs: number): Promise<[number, number, number, number, number]> };

export class SharedRateWindow {
  constructor(private readonly redis: SharedRedis) {
    if (!('tracehouseRateTake' in redis.client)) redis.client.defineCommand('tracehouseRateTake', { numberOfKeys: 1, lua: TAKE });
  }

  /** Counts one request of `bucketKey` under (limit, windowMs); throws SharedStateUnavailable when Redis is down. */
  async take(bucketKey: string, limit: number, windowMs: number): Promise<RateLimitDecision> {
    const prefix = `${this.redis.prefix}rl:${limit}/${windowMs}:${bucketKey}:`;
    const [, current, previous, now, windowStart] = await this.redis.run('rate_limits', (client) => (client as WithTake).tracehouseRateTake(prefix, limit, windowMs));
    return decide(limit, windowMs, { windowStart: Number(windowStart), current: Number(current), previous: Number(previous) }, Number(now));
  }
}
