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
import { renewHeld } from './held-keys';
import type { SharedRedis } from './redis';

/** The answer if stored; else the claim (SET NX with expiry): {1, answer} | {2} claimed | {0} held elsewhere. */
const BEGIN = `
local answer = redis.call('GET', KEYS[1])
if answer then return {1, answer} end
if redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2], 'NX') then return {2} end
return {0}`;
/** Extends the claim while it is still this instance's. */
/** Stores the answer (when given), then drops the claim if it is still this instance's. */
const FINISH = `
if ARGV[2] ~= '' then redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) end
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1`;

type WithScripts = Redis & {
  tracehouseIdemBegin(answerKey: string, claimKey: string, token: string, ttlMs: number): Promise<[number, string?]>;
  tracehouseIdemFinish(answerKey: string, claimKey: string, token: string, answer: string, ttlSeconds: number): Promise<number>;
};

interface Claim {
  token: string;
  renewal: NodeJS.Timeout;
}

export class RedisIdempotencyStore implements IdempotencyStore {
  private readonly base: string;
  /** This instance's claims (their tokens, so it only ever renews and releases its own). */
  private readonly claims = new Map<string, Claim>();

  constructor(
    private readonly redis: SharedRedis,
    scope: string,
    private readonly options: { ttlSeconds: number; maxAnswerBytes: number; claimMs: number; memory: MemoryIdempotencyStore; onUnavailable: OnUnavailable },
  ) {
    this.base = `${redis.prefix}idem:${scope}:`;
    if (!('tracehouseIdemBegin' in redis.client)) {
      redis.client.defineCommand('tracehouseIdemBegin', { numberOfKeys: 2, lua: BEGIN });
      redis.client.defineCommand('tracehouseIdemFinish', { numberOfKeys: 2, lua: FINISH });
    }
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

  begin(key: string): Promise<{ answer?: StoredAnswer; claimed: boolean }> {
    return this.shared<{ answer?: StoredAnswer; claimed: boolean }>(
      async () => {
        const token = randomBytes(12).toString('hex');
        const claimKey = `${this.base}${key}:claim`;
        const [kind, text] = await this.redis.run('idempotency', (client) => (client as WithScripts).tracehouseIdemBegin(this.base + key, claimKey, token, this.options.claimMs));
        if (kind === 1 && text !== undefined) return { answer: JSON.parse(text) as StoredAnswer, claimed: false };
        if (kind === 2) this.hold(key, claimKey, token);
        return { claimed: kind === 2 };
      },
      // Without Redis only this instance can be asked to coordinate: its in-flight map does it.
      async () => ({ answer: await this.options.memory.get(key), claimed: true }),
    );
  }

  /** Renews a claim every third of its expiry until `finish`: a slow request keeps its key. */
  private hold(key: string, claimKey: string, token: string): void {
    const ttlMs = this.options.claimMs;
    const renewal = setInterval(() => {
      void this.redis.run('idempotency', (client) => renewHeld(client, claimKey, token, ttlMs)).catch(() => undefined);
    }, Math.max(10, Math.floor(ttlMs / 3)));
    renewal.unref?.();
    this.claims.set(key, { token, renewal });
  }

  async finish(key: string, answer: StoredAnswer | undefined): Promise<void> {
    const claim = this.claims.get(key);
    this.claims.delete(key);
    clearInterval(claim?.renewal);
    const token = claim?.token;
    const kept = answer === undefined ? '' : JSON.stringify(entryBytes(key, answer) > this.options.maxAnswerBytes ? digestOf(answer) : answer);
    await this.shared(
      async () => {
        await this.redis.run('idempotency', (client) => (client as WithScripts).tracehouseIdemFinish(this.base + key, `${this.base}${key}:claim`, token ?? '', kept, this.options.ttlSeconds));
      },
      async () => {
        if (answer) await this.options.memory.put(key, answer);
      },
    );
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
