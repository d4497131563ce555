import { z } from 'zod';
import { authConfigSchema } from '../auth';
import { listenSchema } from '../listen';

const componentList = z.array(z.string()).default([]);

export const pipelineConfigSchema = z.strictObject({
  receivers: componentList,
  processors: componentList,
  exporters: componentList,
});

export const serviceConfigSchema = z.strictObject({
  pipelines: z.record(z.string(), pipelineConfigSchema),
  /** The admin listener: /healthz, /metrics and the read-only query endpoint. */
  admin: z
    .strictObject({
      listen: listenSchema.default('127.0.0.1:8888'),
      auth: authConfigSchema.optional(),
      /** Longest a query through the admin endpoint may run. */
      query_timeout_ms: z.number().int().positive().default(30_000),
    })
    .prefault({}),
  /** Upper bound for draining in-flight requests and flushing exporters on SIGTERM/SIGINT. */
  shutdown_timeout_ms: z.number().int().positive().default(30_000),
  log_level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
});

export type PipelineConfig = z.output<typeof pipelineConfigSchema>;
export type ServiceConfig = z.output<typeof serviceConfigSchema>;
