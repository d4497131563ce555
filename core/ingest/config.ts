import { z } from 'zod';
import type { ClaimedRoute } from '../component';
import { receiverAuthConfigSchema } from '../auth';
import { listenSchema } from '../listen';
import { httpListenerOptions, maxReceivingBytesSchema } from '../listener-config';
import { idempotencyConfigSchema } from './idempotency';
import { rateLimitConfigSchema } from './rate-limit';

const MiB = 1024 * 1024;

/** Where the JSON ingest receivers listen by default; they share one server on it. */
export const DEFAULT_INGEST_LISTEN = '127.0.0.1:8080';

export interface IngestOptionDefaults {
  /** Requests per key and route per minute. */
  rateLimit: number;
  maxRequestBodyBytes?: number;
}

/**
 * The options every JSON ingest receiver has, spread into its own strictObject so that each
 * receiver's schema documents them in one place.
 */
export function ingestOptions(defaults: IngestOptionDefaults) {
  return {
    listen: listenSchema.default(DEFAULT_INGEST_LISTEN),
    /** workspaces (the default: keys of the top-level workspaces section), { api_keys: [...] }, or none. */
    auth: receiverAuthConfigSchema.default('workspaces'),
    rate_limit: rateLimitConfigSchema.default({ limit: defaults.rateLimit, window_seconds: 60, per_route: {} }),
    idempotency: idempotencyConfigSchema.prefault({}),
    /** Bound on a request body, as sent and after decompression. */
    max_request_body_bytes: z.number().int().positive().default(defaults.maxRequestBodyBytes ?? 10 * MiB),
    /** Request bytes held at once; beyond it requests are refused with 429 before being read. */
    max_inflight_bytes: z.number().int().positive().default(128 * MiB),
    /** Of max_inflight_bytes, what bodies still arriving may hold (default three quarters). */
    max_receiving_bytes: maxReceivingBytesSchema,
    ...httpListenerOptions,
  };
}

const ingestOptionsSchema = z.strictObject(ingestOptions({ rateLimit: 1 }));

/** The common options as a receiver's parsed config carries them. */
export type IngestOptions = z.output<typeof ingestOptionsSchema>;

/** The routes a JSON ingest receiver claims on its listener, for the config's conflict checks. */
export function ingestClaims(options: IngestOptions, paths: readonly string[]): ClaimedRoute[] {
  return paths.map((route) => ({ listen: options.listen, route, configPath: 'listen', auth: options.auth }));
}
