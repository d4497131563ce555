import { z } from 'zod';
import { apiListenerOptions } from '../../core/api-extension';

export const controlPlaneExtensionConfigSchema = z.strictObject({
  // The same listener and keys as the ingest APIs (default 127.0.0.1:8080, auth: workspaces).
  ...apiListenerOptions({ rateLimit: 300, maxRequestBodyBytes: 1024 * 1024 }),
  /** Key rotations per workspace per hour (POST /api/settings/rotate-token). */
  max_rotations_per_hour: z.number().int().positive().default(5),
});

export type ControlPlaneExtensionConfig = z.output<typeof controlPlaneExtensionConfigSchema>;
