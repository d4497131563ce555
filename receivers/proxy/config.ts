import { z } from 'zod';
import { ingestOptions } from '../../core/ingest/config';
import { gatewayIdSchema, routeConditionsSchema } from '../../core/llm/failover-policy';
import { preflightConfigSchema } from '../../core/llm/governance-config';

const MiB = 1024 * 1024;
const idSchema = gatewayIdSchema;

/** An http(s) URL, or a ${env:...} reference the config loader fills in. */
const baseUrl = z
  .string()
  .min(1)
  .refine((v) => v.includes('${') || /^https?:\/\/[^\s/]+/i.test(v), { message: 'must be an http:// or https:// URL' });

const upstreamSchema = z.strictObject({
  /** openai and openai_compatible speak the OpenAI API (/v1/chat/completions, ...), anthropic the Messages API. */
  provider: z.enum(['openai', 'anthropic', 'openai_compatible']),
  base_url: baseUrl,
  /** The provider key used when the caller sends none; never logged or stored. Empty: none. */
  api_key: z.string().default(''),
  /** gen_ai.provider.name of its spans (default: openai for openai and openai_compatible, anthropic). */
  provider_name: z.string().min(1).max(64).optional(),
  /**
   * Add `stream_options.include_usage` to streamed chat and completions calls (and take the usage
   * chunk out again for a client that did not ask), so streamed usage is exact. Turn off for an
   * openai_compatible server that refuses the option; its streamed usage is then estimated unless
   * it reports usage on its own.
   */
  include_usage: z.boolean().default(true),
});

const routeSchema = z.strictObject({
  primary: idSchema,
  fallbacks: z.array(idSchema).default([]),
  /** Requests for these models take this route when they send no X-Route-ID. */
  models: z.array(z.string().min(1)).default([]),
  conditions: routeConditionsSchema,
});

const { idempotency: _unused, ...ingest } = ingestOptions({ rateLimit: 600, maxRequestBodyBytes: 32 * MiB });

export const proxyReceiverConfigSchema = z
  .strictObject({
    ...ingest,
    upstreams: z.record(idSchema, upstreamSchema).default({}),
    routes: z.record(idSchema, routeSchema).default({}),
    /** The upstream of each API family when no route applies (default: the first upstream of that family). */
    default_upstreams: z.strictObject({ openai: idSchema.optional(), anthropic: idSchema.optional() }).prefault({}),
    /** Other /v1/... paths forwarded verbatim to the default OpenAI upstream and recorded as HTTP client spans. */
    passthrough: z.array(z.string().regex(/^\/v1\/[A-Za-z0-9_./:-]*$/, 'must be a /v1/... path')).default([]),
    timeouts: z
      .strictObject({
        connect_ms: z.number().int().positive().default(10_000),
        /** Until the response headers: long enough for non-streamed reasoning calls. */
        response_headers_ms: z.number().int().positive().default(600_000),
        /** Longest silence between two chunks of a response body. */
        idle_ms: z.number().int().positive().default(300_000),
        total_ms: z.number().int().positive().default(1_800_000),
      })
      .prefault({}),
    pool: z
      .strictObject({
        /** Connections per upstream. */
        connections: z.number().int().positive().default(256),
        keep_alive_ms: z.number().int().positive().default(60_000),
      })
      .prefault({}),
    failover: z
      .strictObject({
        /** Statuses that fail over to the next upstream (never 400, 401, 403, 404, 422). */
        on_status: z.array(z.number().int().min(408).max(599)).default([429, 500, 502, 503, 504]),
        /** No connection, or one lost before the whole request was written (the provider never had it). */
        on_connect_error: z.boolean().default(true),
        /** A connection lost after the request was written, before any answer: the provider may be running the call, so a retry may run it twice. */
        on_network_error: z.boolean().default(false),
        on_headers_timeout: z.boolean().default(true),
        /** An error event before the first content delta of a stream. */
        on_error_event: z.boolean().default(true),
        max_attempts: z.number().int().min(1).max(10).default(3),
        /** Most time spent waiting between attempts (Retry-After and backoff) for one call. */
        max_retry_wait_ms: z.number().int().nonnegative().default(10_000),
        backoff_initial_ms: z.number().int().nonnegative().default(100),
        backoff_max_ms: z.number().int().nonnegative().default(2_000),
        /** Bytes of a stream held back before its first content delta (so failover stays possible). */
        max_held_bytes: z.number().int().positive().default(64 * 1024),
        /**
         * Longest a stream is held back waiting for its first content delta. Then the status, the
         * headers and what is held go to the client (a long silence of a reasoning model would
         * otherwise make clients and intermediaries time out), and the call can no longer fail over.
         */
        max_hold_ms: z.number().int().nonnegative().default(5_000),
      })
      .prefault({}),
    health: z
      .strictObject({
        window_seconds: z.number().int().positive().default(60),
        min_requests: z.number().int().positive().default(10),
        cooldown_ms: z.number().int().positive().default(30_000),
        max_samples: z.number().int().positive().max(100_000).default(1_000),
      })
      .prefault({}),
    span_queue: z
      .strictObject({
        max_spans: z.number().int().positive().default(10_000),
        /** How long a call's spans wait for other calls' before they enter the pipeline as one batch. */
        linger_ms: z.number().int().nonnegative().max(60_000).default(500),
        /** Give up on a span after retrying delivery this long. */
        retry_max_elapsed_ms: z.number().int().nonnegative().default(60_000),
        /** Longest shutdown waits for calls in flight and the queue to drain. */
        drain_timeout_ms: z.number().int().positive().default(15_000),
      })
      .prefault({}),
    capture: z
      .strictObject({
        /** Put input and output messages on the span (redact masks them before storage). */
        messages: z.boolean().default(true),
        /** Characters of output text captured per call, and of input messages' JSON. */
        max_chars: z.number().int().positive().default(256 * 1024),
      })
      .prefault({}),
    /** Governance before forwarding (core/llm/governance): PII, input rules, models, size, spend budget. Absent: none. */
    preflight: preflightConfigSchema.optional(),
  })
  .superRefine((config, ctx) => {
    const ids = new Set(Object.keys(config.upstreams));
    for (const [routeId, route] of Object.entries(config.routes)) {
      for (const [i, id] of [route.primary, ...route.fallbacks].entries()) {
        if (!ids.has(id)) {
          ctx.addIssue({ code: 'custom', path: ['routes', routeId, i === 0 ? 'primary' : 'fallbacks'], message: `unknown upstream "${id}"` });
        }
      }
    }
    for (const family of ['openai', 'anthropic'] as const) {
      const id = config.default_upstreams[family];
      if (id !== undefined && !ids.has(id)) ctx.addIssue({ code: 'custom', path: ['default_upstreams', family], message: `unknown upstream "${id}"` });
    }
  });

export type ProxyReceiverConfig = z.output<typeof proxyReceiverConfigSchema>;
export type UpstreamConfig = ProxyReceiverConfig['upstreams'][string];
