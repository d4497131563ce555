/**
 * Short write locks every instance respects (a control-plane object while it is written: ClickHouse
 * alone cannot compare and set). Each acquisition has a token of its own, so two writes in one
 * process exclude each other as two processes do; the holder renews the expiry while it holds the
 * lock, so a write slower than the expiry keeps it, and a holder that died frees it within `ttlMs`.
 */
import { randomBytes } from 'node:crypto';
import { releaseHeld, renewHeld } from './held-keys';
import type { SharedRedis } from './redis';


/** held: yours until `release`; busy: another holder kept it past the wait; unavailable: Redis is away. */
export type LockOutcome = { state: 'held'; release: () => Promise<void> } | { state: 'busy' } | { state: 'unavailable' };

/** The metrics label of lock commands that found Redis unavailable. */
export const LOCKS_FEATURE = 'control_plane_locks';

export class RedisLocks {
  private readonly base: string;

  constructor(private readonly redis: SharedRedis) {
    this.base = `${redis.prefix}lock:`;
  }

  /** The Redis key of the lock `name` (tests hold it from outside). */
  keyOf(name: string): string {
    return this.base + name;
  }

  /** Takes the lock `name`, waiting up to `waitMs` for its holder to release it. */
  async acquire(name: string, ttlMs: number, waitMs: number): Promise<LockOutcome> {
    const key = this.keyOf(name);
    const token = randomBytes(12).toString('hex');
    const deadline = Date.now() + waitMs;
    for (;;) {
      let taken: boolean;
      try {
        taken = (await this.redis.run(LOCKS_FEATURE, (client) => client.set(key, token, 'PX', ttlMs, 'NX'))) === 'OK';
      } catch {
        return { state: 'unavailable' };
      }
      if (taken) return { state: 'held', release: this.renewing(key, token, ttlMs) };
      if (Date.now() >= deadline) return { state: 'busy' };
      await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 20));
    }
  }

  /** Renews the expiry every third of it until released; the release. */
  private renewing(key: string, token: string, ttlMs: number): () => Promise<void> {
    const timer = setInterval(() => {
      void this.redis.run(LOCKS_FEATURE, (client) => renewHeld(client, key, token, ttlMs)).catch(() => undefined);
    }, Math.max(10, Math.floor(ttlMs / 3)));
    timer.unref?.();
    return async () => {
      clearInterval(timer);
      await this.redis.run(LOCKS_FEATURE, (client) => releaseHeld(client, key, token)).catch(() => undefined);
    };
  }
}
