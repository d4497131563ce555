import { z } from 'zod';
import { receiverAuthConfigSchema } from '../../core/auth';
import { listenSchema } from '../../core/listen';
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
});

const grpcSchema = z.strictObject({
  /** false turns OTLP/gRPC off. */
  enabled: z.boolean().default(true),
  listen: listenSchema.default('127.0.0.1:4317'),
  /** Largest Export message accepted, after decompression (gRPC's max receive message length). */
  max_recv_msg_size_bytes: z.number().int().positive().default(20 * MiB),
});

export const otlpReceiverConfigSchema = z.strictObject({
  http: httpSchema.prefault({}),
  grpc: grpcSchema.prefault({}),
  /**
   * Request bytes held at once across both transports (as sent, plus decompressed). Beyond it new
   * requests are refused at once with 429 / RESOURCE_EXHAUSTED, before their body is read.
   */
  max_inflight_bytes: z.number().int().positive().default(128 * MiB),
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
