/**
 * Replay guards shared by every instance: a signature reserved on one instance (SET NX with the
 * guard's time to live) is refused on all, and released again when its delivery failed.
 */
import type { SharedRedis } from './redis';

export interface SharedReservations {
  /** True when `key` was free and is now reserved for `ttlMs`; throws SharedStateUnavailable. */
  reserve(key: string, ttlMs: number): Promise<boolean>;
  release(key: string): Promise<void>;
}

export class RedisReservations implements SharedReservations {
  private readonly base: string;

  constructor(
    private readonly redis: SharedRedis,
    scope: string,
  ) {
    this.base = `${redis.prefix}replay:${scope}:`;
  }

  async reserve(key: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.run('replay_guard', (client) => client.set(this.base + key, '1', 'PX', ttlMs, 'NX'))) === 'OK';
  }

  async release(key: string): Promise<void> {
    await this.redis.run('replay_guard', (client) => client.del(this.base + key)).catch(() => undefined);
  }
}
