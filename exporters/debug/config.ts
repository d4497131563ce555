import { z } from 'zod';

export const debugExporterConfigSchema = z.strictObject({
  /** basic: one line per batch; normal: one line per span; detailed: every field of every span. */
  verbosity: z.enum(['basic', 'normal', 'detailed']).default('basic'),
});

export type DebugExporterConfig = z.output<typeof debugExporterConfigSchema>;
