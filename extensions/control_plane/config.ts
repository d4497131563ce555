import { z } from 'zod';
import { ingestOptions } from '../../core/ingest/config';

const { idempotency: _unused, ...listener } = ingestOptions({ rateLimit: 300, maxRequestBodyBytes: 1024 * 1024 });

export const controlPlaneExtensionConfigSchema = z.strictObject({
  // The same listener and keys as the ingest APIs (default 127.0.0.1:8080, auth: workspaces).
  ...listener,
  /** Key rotations per workspace per hour (POST /api/settings/rotate-token). */
  max_rotations_per_hour: z.number().int().positive().default(5),
});

export type ControlPlaneExtensionConfig = z.output<typeof controlPlaneExtensionConfigSchema>;
