/**
 * Leases in Redis: a named piece of work (an alert rule's evaluation and paging) belongs to one
 * instance at a time. The holder renews its lease on every round; when it dies, the lease runs
 * out and the next instance to ask takes it over.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { releaseHeld } from './held-keys';
import type { SharedRedis } from './redis';

const HOLD = `
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if not v then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0`;

type WithLeases = Redis & {
  tracehouseLeaseHold(key: string, holder: string, ttlMs: number): Promise<number>;
};

export interface Leases {
  /** Takes or renews the lease on `name` for `ttlMs`; false while another instance holds it. Throws SharedStateUnavailable. */
  hold(name: string, ttlMs: number): Promise<boolean>;
  /** Gives up every lease this instance holds (at shutdown, so others take over at once). */
  releaseAll(): Promise<void>;
}

export class RedisLeases implements Leases {
  private readonly base: string;
  /** One holder id per instance start. */
  private readonly holder = randomBytes(12).toString('hex');
  private readonly held = new Set<string>();

  constructor(
    private readonly redis: SharedRedis,
    scope: string,
    /** The feature label its commands are counted under in /metrics when Redis is away. */
    private readonly feature: string,
  ) {
    this.base = `${redis.prefix}lease:${scope}:`;
    const client = redis.client as WithLeases;
    if (!('tracehouseLeaseHold' in client)) {
      redis.client.defineCommand('tracehouseLeaseHold', { numberOfKeys: 1, lua: HOLD });
    }
  }

  async hold(name: string, ttlMs: number): Promise<boolean> {
    const won = (await this.redis.run(this.feature, (client) => (client as WithLeases).tracehouseLeaseHold(this.base + name, this.holder, ttlMs))) === 1;
    if (won) this.held.add(name);
    else this.held.delete(name);
    return won;
  }

  /** Gives one lease up (when this instance holds it). */
  async release(name: string): Promise<void> {
    this.held.delete(name);
    await this.redis.run(this.feature, (client) => releaseHeld(client, this.base + name, this.holder)).catch(() => undefined);
  }

  async releaseAll(): Promise<void> {
    const names = [...this.held];
    this.held.clear();
    await Promise.all(names.map((name) => this.redis.run(this.feature, (client) => releaseHeld(client, this.base + name, this.holder)).catch(() => undefined)));
  }
}
