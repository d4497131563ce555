import { z } from 'zod';
import { ingestOptions } from '../../core/ingest/config';

export const nativeReceiverConfigSchema = z.strictObject({
  ...ingestOptions({ rateLimit: 600 }),
  /** tracehouse.environment of a /api/traces record that names no `environment`. */
  default_environment: z.string().trim().min(1).max(256).optional(),
});

export type NativeReceiverConfig = z.output<typeof nativeReceiverConfigSchema>;
