import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { z } from 'zod';

const MiB = 1024 * 1024;
/** idempotency.inflight_lock_ms when not set. */
export const DEFAULT_INFLIGHT_LOCK_MS = 10_000;

export const idempotencyConfigSchema = z
  .strictObject({
    /** How long a stored answer is replayed for a repeated key. */
    ttl_seconds: z.number().int().positive().default(24 * 3600),
    /** Bound on the answers kept in memory; the least recently used go first. */
    max_entries: z.number().int().positive().default(100_000),
    /** Bound on the memory the kept answers take (their bodies, keys and digests), per receiver. */
    max_bytes: z.number().int().positive().default(16 * MiB),
    /**
     * Answers larger than this are not kept: only the request's digest is, so a reused key with
     * another body is still refused, while a repeat with the same body is processed again.
     */
    max_answer_bytes: z.number().int().positive().default(1 * MiB),
    /**
     * With shared state: how long a request in progress holds its key against repeats on other
     * instances. The holder renews it while the request runs, so this only bounds how long a
     * repeat waits after the holding instance died. Default DEFAULT_INFLIGHT_LOCK_MS (10 s).
     */
    inflight_lock_ms: z.number().int().min(100).max(600_000).optional(),
  })
  .refine((c) => c.max_answer_bytes <= c.max_bytes, { message: 'max_answer_bytes must not exceed max_bytes', path: ['max_answer_bytes'] });

export type IdempotencyConfig = z.output<typeof idempotencyConfigSchema>;

/** What an in-memory store needs; the byte bounds default as in the config schema. */
export type MemoryStoreOptions = Pick<IdempotencyConfig, 'ttl_seconds' | 'max_entries'> &
  Partial<Pick<IdempotencyConfig, 'max_bytes' | 'max_answer_bytes'>>;

/** The answer given to the first request with a key, replayed to its repeats. */
export interface StoredAnswer {
  status: number;
  contentType: string;
  body: string;
  /** SHA-256 of the first request's body, to tell a retry from a reused key. */
  fingerprint: string;
  /** Headers replayed with the answer (REPLAYED_HEADERS of the first answer: ETag, Location, Retry-After). */
  headers?: Record<string, string>;
  /**
   * True when only the digest was kept (the answer was over max_answer_bytes): `body` is empty and
   * the key cannot be replayed, only told apart from a reuse with another body.
   */
  digestOnly?: boolean;
}

/** The headers of a first answer that belong to it and are replayed with it (lower case). */
export const REPLAYED_HEADERS = ['etag', 'location', 'retry-after'] as const;

/** The REPLAYED_HEADERS among `headers` (any case), or undefined when there are none. */
export function replayedHeaders(headers: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!headers) return undefined;
  const kept = Object.entries(headers).filter(([name]) => (REPLAYED_HEADERS as readonly string[]).includes(name.toLowerCase()));
  return kept.length > 0 ? Object.fromEntries(kept) : undefined;
}

// What an entry costs beyond its strings: the object, the cache's node and bookkeeping.
const ENTRY_OVERHEAD_BYTES = 256;

/**
 * Where answers are kept. The in-memory store serves one process; a shared store (Redis,
 * ClickHouse) implements the same two calls so that several daemons see each other's keys.
 */
export interface IdempotencyStore {
  get(key: string): Promise<StoredAnswer | undefined>;
  put(key: string, answer: StoredAnswer): Promise<void>;
  /**
   * Shared stores: in one step, the stored answer for `key` if there is one, else a claim on the
   * right to produce it (claimed false when another instance holds it), so that a repeat arriving
   * elsewhere waits instead of storing twice. The store renews a claim it gave until `finish`;
   * a claim whose holder died expires after the store's inflight_lock_ms.
   */
  begin?(key: string): Promise<{ answer?: StoredAnswer; claimed: boolean }>;
  /** Shared stores: stores the answer (when given) and gives the claim up, in one step. */
  finish?(key: string, answer: StoredAnswer | undefined): Promise<void>;
}

const CLAIM_POLL_MS = 25;

/**
 * Answers in memory, bounded by count and by bytes (JSON strings are counted at two bytes a
 * character, what V8 may take for them). The least recently used go first.
 */
export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly cache: LRUCache<string, StoredAnswer>;
  private readonly maxAnswerBytes: number;

  constructor(config: MemoryStoreOptions) {
    const defaults = idempotencyConfigSchema.parse({});
    const maxBytes = config.max_bytes ?? defaults.max_bytes;
    this.maxAnswerBytes = Math.min(config.max_answer_bytes ?? defaults.max_answer_bytes, maxBytes);
    this.cache = new LRUCache({
      max: config.max_entries,
      ttl: config.ttl_seconds * 1000,
      maxSize: maxBytes,
      sizeCalculation: (answer, key) => entryBytes(key, answer),
    });
  }

  /** Bytes the kept answers take, as counted against max_bytes. */
  get bytes(): number {
    return this.cache.calculatedSize;
  }

  get size(): number {
    return this.cache.size;
  }

  get(key: string): Promise<StoredAnswer | undefined> {
    return Promise.resolve(this.cache.get(key));
  }

  put(key: string, answer: StoredAnswer): Promise<void> {
    const kept = entryBytes(key, answer) > this.maxAnswerBytes ? digestOf(answer) : answer;
    this.cache.set(key, kept);
    return Promise.resolve();
  }
}

export function entryBytes(key: string, answer: StoredAnswer): number {
  const headerChars = answer.headers ? Object.entries(answer.headers).reduce((n, [name, value]) => n + name.length + value.length, 0) : 0;
  return ENTRY_OVERHEAD_BYTES + 2 * (key.length + answer.body.length + answer.contentType.length + answer.fingerprint.length + headerChars);
}

export function digestOf(answer: StoredAnswer): StoredAnswer {
  return { status: answer.status, contentType: '', body: '', fingerprint: answer.fingerprint, digestOnly: true };
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

  constructor(private store: IdempotencyStore) {}

  /** Keeps answers in `store` from now on (a store every instance shares). */
  useStore(store: IdempotencyStore): void {
    this.store = store;
  }

  async run(key: string, body: Buffer, produce: () => Promise<StoredAnswer>): Promise<IdempotentOutcome> {
    const fingerprint = fingerprintOf(body);
    const pending = this.inflight.get(key);
    if (pending) return compare(await pending.catch(() => undefined), fingerprint) ?? this.run(key, body, produce);
    const store = this.store;
    let claimed = false;
    if (store.begin) {
      // Another instance may be producing this answer: wait for it, or take the key over once
      // that instance's claim expired (it died and stopped renewing it).
      for (;;) {
        const begun = await store.begin(key);
        const stored = compare(begun.answer, fingerprint);
        if (stored) return stored;
        if (this.inflight.has(key)) return this.run(key, body, produce);
        // An answer kept only as a digest is produced again, as on a single instance.
        if (begun.claimed || begun.answer) {
          claimed = begun.claimed;
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, CLAIM_POLL_MS));
      }
    } else {
      const known = compare(await store.get(key), fingerprint);
      if (known) return known;
      // Checked again: another request may have started while the store was being read.
      if (this.inflight.has(key)) return this.run(key, body, produce);
    }
    const running = produce().then((answer) => ({ ...answer, fingerprint }));
    this.inflight.set(key, running);
    let kept: StoredAnswer | undefined;
    try {
      const answer = await running;
      if (answer.status >= 200 && answer.status < 300) kept = answer;
      // The answer stands even when it cannot be kept (shared store away): dedup is then best-effort.
      if (kept && !claimed) await store.put(key, kept).catch(() => undefined);
      return { kind: 'fresh', answer };
    } finally {
      this.inflight.delete(key);
      if (claimed) await store.finish?.(key, kept).catch(() => undefined);
    }
  }
}

function compare(answer: StoredAnswer | undefined, fingerprint: string): IdempotentOutcome | undefined {
  if (!answer || answer.status < 200 || answer.status >= 300) return undefined;
  if (answer.fingerprint !== fingerprint) return { kind: 'mismatch', answer };
  // Nothing to replay: the same request is processed again (its ids are deterministic, so the
  // spans collapse into the same rows at query time).
  if (answer.digestOnly) return undefined;
  return { kind: 'replayed', answer };
}

export function fingerprintOf(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}
