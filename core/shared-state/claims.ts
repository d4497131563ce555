/**
 * Named claims every instance sees: the first instance to claim a name sets its value for a time;
 * the others learn that value (an alert incident opened by another instance: its id). Renewing
 * keeps a claim alive while its subject is active anywhere; an expired claim means nobody renewed
 * it for its whole time to live.
 */
import type { Redis } from 'ioredis';
import type { SharedRedis } from './redis';

const CLAIM = `
if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return ARGV[1] end
local held = redis.call('GET', KEYS[1])
if held then return held end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ARGV[1]`;

type WithClaim = Redis & { tracehouseClaim(key: string, value: string, ttlMs: number): Promise<string> };

export interface SharedClaims {
  /** The value the name holds now: `value` when this instance claimed it first, else the holder's. */
  claim(name: string, value: string, ttlMs: number): Promise<string>;
  /** Keeps a claim alive for another `ttlMs` (nothing when it expired). */
  renew(name: string, ttlMs: number): Promise<void>;
  /** Whether the claim is alive (someone renewed it within its time to live). */
  held(name: string): Promise<boolean>;
  /** Claims a name only when free: true for the first instance to ask within `ttlMs`. */
  first(name: string, ttlMs: number): Promise<boolean>;
}

export class RedisClaims implements SharedClaims {
  private readonly base: string;

  constructor(
    private readonly redis: SharedRedis,
    scope: string,
  ) {
    this.base = `${redis.prefix}claim:${scope}:`;
    if (!('tracehouseClaim' in redis.client)) redis.client.defineCommand('tracehouseClaim', { numberOfKeys: 1, lua: CLAIM });
  }

  claim(name: string, value: string, ttlMs: number): Promise<string> {
    return this.redis.run('alert_ownership', (client) => (client as WithClaim).tracehouseClaim(this.base + name, value, ttlMs));
  }

  async renew(name: string, ttlMs: number): Promise<void> {
    await this.redis.run('alert_ownership', (client) => client.pexpire(this.base + name, ttlMs));
  }

  async held(name: string): Promise<boolean> {
    return (await this.redis.run('alert_ownership', (client) => client.exists(this.base + name))) === 1;
  }

  async first(name: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.run('alert_ownership', (client) => client.set(this.base + name, '1', 'PX', ttlMs, 'NX'))) === 'OK';
  }
}
