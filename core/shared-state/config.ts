import { z } from 'zod';
import { tlsSchema } from '../tls';

/** What a feature does while Redis cannot be reached. */
export const onUnavailableSchema = z.enum(['allow', 'refuse']);
export type OnUnavailable = z.output<typeof onUnavailableSchema>;

/**
 * TLS to Redis: true (the system's CA roots), or the TLS settings the Kafka components take
 * (enabled, ca_file, cert_file + key_file for mutual TLS, insecure_skip_verify) plus servername
 * (the name to verify the certificate against, when the URL's host is an address).
 */
export const redisTlsSchema = z.union([
  z.boolean(),
  tlsSchema({ servername: z.string().min(1).optional() }),
]);
export type RedisTlsConfig = z.output<typeof redisTlsSchema>;

const feature = (fallback: OnUnavailable) => z.strictObject({ on_unavailable: onUnavailableSchema.default(fallback) }).prefault({});

/**
 * The top-level `shared_state` section: state every instance must agree on (rate limits, ...)
 * kept in Redis. Absent: each process keeps its own, as a single instance needs.
 */
export const sharedStateConfigSchema = z.strictObject({
  redis: z.strictObject({
    /** redis://[user:password@]host:port[/db] or rediss:// for TLS; use ${env:REDIS_URL}. */
    url: z.string().regex(/^rediss?:\/\/\S+$/i, 'must be a redis:// or rediss:// URL'),
    /** Prepended to every key, so several deployments can share one Redis. */
    key_prefix: z.string().max(100).default('tracehouse:'),
    /** TLS even with a redis:// URL (rediss:// always uses TLS): true, or { ca_file, cert_file, key_file, servername, insecure_skip_verify }. */
    tls: redisTlsSchema.default(false),
    connect_timeout_ms: z.number().int().positive().default(2_000),
    /** Bound on every Redis command: a request never waits longer for shared state. */
    command_timeout_ms: z.number().int().positive().default(500),
  }),
  /** allow: fall back to this instance's own limiter; refuse: answer 503 with Retry-After. */
  rate_limits: feature('allow'),
  /** allow: keep answers in this instance's memory meanwhile; refuse: answer 503 with Retry-After. */
  idempotency: feature('allow'),
  /** Signed-webhook replay guard. allow: this instance's own memory meanwhile; refuse: 503. */
  replay_guard: feature('allow'),
  /**
   * Alert rules evaluated (and paged) by one instance at a time. allow: while Redis is away every
   * instance evaluates (a page may come twice rather than not at all); refuse: none does.
   */
  alert_ownership: feature('allow'),
  /**
   * The per-object lock of control-plane writes. allow: while Redis is away a write goes ahead
   * unlocked, as on a single instance (counted in /metrics); refuse: the write is refused (503).
   */
  control_plane: feature('allow'),
});

export type SharedStateConfig = z.output<typeof sharedStateConfigSchema>;
