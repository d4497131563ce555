import { z } from 'zod';
import { authConfigSchema } from '../auth';
import { allowedHostsSchema } from '../http-guard';
import { listenSchema } from '../listen';

const componentList = z.array(z.string()).default([]);

export const pipelineConfigSchema = z.strictObject({
  receivers: componentList,
  processors: componentList,
  exporters: componentList,
});

export const serviceConfigSchema = z.strictObject({
  pipelines: z.record(z.string(), pipelineConfigSchema),
  /** The extensions (components outside pipelines: control plane, read APIs) to run. */
  extensions: z.array(z.string()).default([]),
  /** The control-plane object store (rules, alert rules, targets, policies, settings, keys managed over HTTP). */
  control_plane: z
    .strictObject({
      /** How often every daemon reads the store for changes other daemons made. */
      refresh_interval_ms: z.number().int().min(100).max(600_000).default(2_000),
      /** Encrypts secrets inside objects (webhook URLs, passwords, provider keys); use \${env:...}. Without it, objects holding secrets are refused. */
      secrets_key: z
        .string()
        .refine((v) => v === '' || v.length >= 16, 'must have at least 16 characters (e.g. openssl rand -hex 32)')
        .transform((v) => (v === '' ? undefined : v))
        .optional(),
      /** The exporter whose ClickHouse keeps the objects (default: the first that stores spans). */
      store: z.string().min(1).optional(),
    })
    .prefault({}),
  /** The admin listener: /healthz, /metrics and the read-only query endpoint. */
  admin: z
    .strictObject({
      listen: listenSchema.default('127.0.0.1:8888'),
      auth: authConfigSchema.optional(),
      /** Longest a query through the admin endpoint may run (the engine's max_execution_time). */
      query_timeout_ms: z.number().int().positive().default(30_000),
      /** Host names (name, name:port, *.domain, or "*") the admin listener answers besides its own addresses. */
      allowed_hosts: allowedHostsSchema.optional(),
      /** Connections held at once (default 1024); beyond it new connections are closed at once. */
      max_connections: z.number().int().positive().optional(),
      /** Time for a request's headers to arrive (default 10000). */
      headers_timeout_ms: z.number().int().positive().optional(),
      /** Time for a whole request to arrive (default query_timeout_ms + 10000); must exceed query_timeout_ms. */
      request_timeout_ms: z.number().int().positive().optional(),
      /** An idle keep-alive connection is closed after this (default 5000). */
      keep_alive_timeout_ms: z.number().int().positive().optional(),
      /** Engine limits of every analyst statement, and how many may run at once. */
      query_limits: z
        .strictObject({
          max_memory_bytes: z.number().int().positive().default(1024 ** 3),
          max_rows_to_read: z.number().int().positive().default(1_000_000_000),
          max_result_bytes: z.number().int().positive().default(64 * 1024 ** 2),
          /** Engine threads per statement: kept low so analysts never starve inserts of CPU. */
          max_threads: z.number().int().positive().default(1),
          max_concurrent_queries: z.number().int().positive().default(2),
        })
        .prefault({}),
    })
    .superRefine((admin, ctx) => {
      if (admin.request_timeout_ms !== undefined && admin.request_timeout_ms <= admin.query_timeout_ms) {
        ctx.addIssue({ code: 'custom', path: ['request_timeout_ms'], message: `must exceed query_timeout_ms (${admin.query_timeout_ms})` });
      }
      if (admin.headers_timeout_ms !== undefined && admin.headers_timeout_ms > (admin.request_timeout_ms ?? admin.query_timeout_ms + 10_000)) {
        ctx.addIssue({ code: 'custom', path: ['headers_timeout_ms'], message: 'must not exceed request_timeout_ms' });
      }
    })
    .prefault({}),
  /** Upper bound for draining in-flight requests and flushing exporters on SIGTERM/SIGINT. */
  shutdown_timeout_ms: z.number().int().positive().default(30_000),
  log_level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
});

export type PipelineConfig = z.output<typeof pipelineConfigSchema>;
export type ServiceConfig = z.output<typeof serviceConfigSchema>;
