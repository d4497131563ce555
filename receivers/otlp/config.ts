import { z } from 'zod';
import { authConfigSchema } from '../../core/auth';
import { listenSchema } from '../../core/listen';

export const otlpReceiverConfigSchema = z.strictObject({
  http: z
    .strictObject({
      listen: listenSchema.default('127.0.0.1:4318'),
      /** URL path for trace exports, as OTLP/HTTP exporters append it to their endpoint. */
      traces_path: z.string().startsWith('/').default('/v1/traces'),
      /** Bound on the body as sent and after decompression (a gzip bomb is refused). */
      max_request_body_bytes: z.number().int().positive().default(20 * 1024 * 1024),
    })
    .prefault({}),
  auth: authConfigSchema.optional(),
});

export type OtlpReceiverConfig = z.output<typeof otlpReceiverConfigSchema>;
