/**
 * Idempotency answers kept in Redis, so that a retry landing on any instance gets the first
 * answer byte for byte, and a repeat arriving while the first is still being produced on another
 * instance waits for it (a claim: SET NX with an expiry, released by its holder only). While Redis
 * is away, `allow` keeps answers in this instance's memory, `refuse` refuses the request (503).
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { digestOf, entryBytes } from '../ingest/idempotency';
import type { IdempotencyStore, MemoryIdempotencyStore, StoredAnswer } from '../ingest/idempotency';
import type { OnUnavailable } from './config';
import type { SharedRedis } from './redis';

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

type WithRelease = Redis & { tracehouseRelease(key: string, token: string): Promise<number> };

export class RedisIdempotencyStore implements IdempotencyStore {
  private readonly base: string;
  /** This instance's claim tokens, so it only ever releases its own claims. */
  private readonly tokens = new Map<string, string>();

  constructor(
    private readonly redis: SharedRedis,
    scope: string,
    private readonly options: { ttlSeconds: number; maxAnswerBytes: number; memory: MemoryIdempotencyStore; onUnavailable: OnUnavailable },
  ) {
    this.base = `${redis.prefix}idem:${scope}:`;
    if (!('tracehouseRelease' in redis.client)) redis.client.defineCommand('tracehouseRelease', { numberOfKeys: 1, lua: RELEASE });
  }

  get(key: string): Promise<StoredAnswer | undefined> {
    return this.shared(
      async () => {
        const text = await this.redis.run('idempotency', (client) => client.get(this.base + key));
        return text === null ? undefined : (JSON.parse(text) as StoredAnswer);
      },
      () => this.options.memory.get(key),
    );
  }

  put(key: string, answer: StoredAnswer): Promise<void> {
    const kept = entryBytes(key, answer) > this.options.maxAnswerBytes ? digestOf(answer) : answer;
    return this.shared(
      async () => {
        await this.redis.run('idempotency', (client) => client.set(this.base + key, JSON.stringify(kept), 'EX', this.options.ttlSeconds));
      },
      () => this.options.memory.put(key, answer),
    );
  }

  claim(key: string, ttlMs: number): Promise<boolean> {
    return this.shared(
      async () => {
        const token = randomBytes(12).toString('hex');
        const ok = await this.redis.run('idempotency', (client) => client.set(`${this.base}${key}:claim`, token, 'PX', ttlMs, 'NX'));
        if (ok === 'OK') this.tokens.set(key, token);
        return ok === 'OK';
      },
      // Without Redis only this instance can be asked to coordinate: its in-flight map does it.
      async () => true,
    );
  }

  async release(key: string): Promise<void> {
    const token = this.tokens.get(key);
    if (token === undefined) return;
    this.tokens.delete(key);
    await this.redis.run('idempotency', (client) => (client as WithRelease).tracehouseRelease(`${this.base}${key}:claim`, token)).catch(() => undefined);
  }

  /** Runs the Redis path; when Redis is away, the fallback (allow) or the refusal (refuse) instead. */
  private async shared<T>(viaRedis: () => Promise<T>, fallback: () => Promise<T>): Promise<T> {
    try {
      return await viaRedis();
    } catch (err) {
      if (this.options.onUnavailable === 'refuse') throw err;
      return fallback();
    }
  }
}
