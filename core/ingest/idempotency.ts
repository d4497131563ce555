import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { z } from 'zod';

export const idempotencyConfigSchema = z.strictObject({
  /** How long a stored answer is replayed for a repeated key. */
  ttl_seconds: z.number().int().positive().default(24 * 3600),
  /** Bound on the answers kept in memory; the least recently used go first. */
  max_entries: z.number().int().positive().default(100_000),
});

export type IdempotencyConfig = z.output<typeof idempotencyConfigSchema>;

/** The answer given to the first request with a key, replayed to its repeats. */
export interface StoredAnswer {
  status: number;
  contentType: string;
  body: string;
  /** SHA-256 of the first request's body, to tell a retry from a reused key. */
  fingerprint: string;
}

/**
 * Where answers are kept. The in-memory store serves one process; a shared store (Redis,
 * ClickHouse) implements the same two calls so that several daemons see each other's keys.
 */
export interface IdempotencyStore {
  get(key: string): Promise<StoredAnswer | undefined>;
  put(key: string, answer: StoredAnswer): Promise<void>;
}

export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly cache: LRUCache<string, StoredAnswer>;

  constructor(config: IdempotencyConfig) {
    this.cache = new LRUCache({ max: config.max_entries, ttl: config.ttl_seconds * 1000 });
  }

  get(key: string): Promise<StoredAnswer | undefined> {
    return Promise.resolve(this.cache.get(key));
  }

  put(key: string, answer: StoredAnswer): Promise<void> {
    this.cache.set(key, answer);
    return Promise.resolve();
  }
}

export type IdempotentOutcome =
  | { kind: 'fresh'; answer: StoredAnswer }
  | { kind: 'replayed'; answer: StoredAnswer }
  /** The key was used before with a different body. */
  | { kind: 'mismatch'; answer: StoredAnswer };

/**
 * Runs each request at most once per key: a repeat gets the stored answer, and a repeat that
 * arrives while the first is still in flight waits for it instead of storing twice. Only success
 * answers (2xx) are stored, so a request that failed can be retried with the same key.
 */
export class Idempotency {
  private readonly inflight = new Map<string, Promise<StoredAnswer>>();

  constructor(private readonly store: IdempotencyStore) {}

  async run(key: string, body: Buffer, produce: () => Promise<StoredAnswer>): Promise<IdempotentOutcome> {
    const fingerprint = fingerprintOf(body);
    const pending = this.inflight.get(key);
    if (pending) return compare(await pending.catch(() => undefined), fingerprint) ?? this.run(key, body, produce);
    const stored = await this.store.get(key);
    if (stored) return compare(stored, fingerprint) as IdempotentOutcome;
    // Checked again: another request may have started while the store was being read.
    if (this.inflight.has(key)) return this.run(key, body, produce);
    const running = produce().then((answer) => ({ ...answer, fingerprint }));
    this.inflight.set(key, running);
    try {
      const answer = await running;
      if (answer.status >= 200 && answer.status < 300) await this.store.put(key, answer);
      return { kind: 'fresh', answer };
    } finally {
      this.inflight.delete(key);
    }
  }
}

function compare(answer: StoredAnswer | undefined, fingerprint: string): IdempotentOutcome | undefined {
  if (!answer || answer.status < 200 || answer.status >= 300) return undefined;
  return { kind: answer.fingerprint === fingerprint ? 'replayed' : 'mismatch', answer };
}

export function fingerprintOf(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}
