import { z } from 'zod';
import { receiverAuthConfigSchema } from '../../core/auth';
import { listenSchema } from '../../core/listen';
import { httpListenerOptions, maxReceivingBytesSchema } from '../../core/listener-config';
import { DEFAULT_WORKSPACE, WORKSPACE_ID } from '../../core/workspaces';

const MiB = 1024 * 1024;

const httpSchema = z.strictObject({
  /** false turns OTLP/HTTP off. */
  enabled: z.boolean().default(true),
  listen: listenSchema.default('127.0.0.1:4318'),
  /** URL path for trace exports, as OTLP/HTTP exporters append it to their endpoint. */
  traces_path: z.string().startsWith('/').default('/v1/traces'),
  /** Bound on the body as sent and after decompression (a gzip bomb is refused). */
  max_request_body_bytes: z.number().int().positive().default(20 * MiB),
  /** allowed_hosts, max_connections, body_idle_timeout_ms, body_min_bytes_per_second. */
  ...httpListenerOptions,
});

const grpcSchema = z.strictObject({
  /** false turns OTLP/gRPC off. */
  enabled: z.boolean().default(true),
  listen: listenSchema.default('127.0.0.1:4317'),
  /** Largest Export message accepted, after decompression (gRPC's max receive message length). */
  max_recv_msg_size_bytes: z.number().int().positive().default(20 * MiB),
  /** Connections held at once (default 1024); beyond it new connections are closed at once. */
  max_connections: z.number().int().positive().optional(),
  /** A connection without calls for this long is closed with GOAWAY (default 30000). */
  max_connection_idle_ms: z.number().int().positive().optional(),
  /** A connection older than this is asked to reconnect with GOAWAY (default 900000). */
  max_connection_age_ms: z.number().int().positive().optional(),
  /** How long calls in flight may finish after max_connection_age_ms before the connection is cut (default 60000). */
  max_connection_age_grace_ms: z.number().int().positive().optional(),
  /** Interval of the server's HTTP/2 pings, which find peers that went away without closing (default 60000). */
  keepalive_time_ms: z.number().int().positive().optional(),
  /** A ping unanswered this long closes the connection (default 20000). */
  keepalive_timeout_ms: z.number().int().positive().optional(),
  /** The Export message of a call must arrive within this (default 120000), else DEADLINE_EXCEEDED. */
  request_timeout_ms: z.number().int().positive().optional(),
});

export const otlpReceiverConfigSchema = z.strictObject({
  http: httpSchema.prefault({}),
  grpc: grpcSchema.prefault({}),
  /**
   * Request bytes held at once across both transports (as sent, plus decompressed). Beyond it new
   * requests are refused at once with 429 / RESOURCE_EXHAUSTED, before their body is read.
   */
  max_inflight_bytes: z.number().int().positive().default(128 * MiB),
  /** Of max_inflight_bytes, what OTLP/HTTP bodies still arriving may hold (default three quarters). */
  max_receiving_bytes: maxReceivingBytesSchema,
  /** none, { api_keys: [...] }, or workspaces (keys of the top-level workspaces section). */
  auth: receiverAuthConfigSchema.optional(),
  /**
   * tracehouse.workspace (the Workspace column) of spans whose request names no workspace: without
   * `auth`, or with plain `api_keys`. With `auth: workspaces` the key's workspace is used.
   */
  default_workspace: z
    .string()
    .regex(WORKSPACE_ID, 'workspace ids are 1-64 characters of letters, digits, "_", "." and "-"')
    .default(DEFAULT_WORKSPACE),
});

export type OtlpReceiverConfig = z.output<typeof otlpReceiverConfigSchema>;
export type OtlpHttpConfig = z.output<typeof httpSchema>;
export type OtlpGrpcConfig = z.output<typeof grpcSchema>;
