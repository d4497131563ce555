import { z } from 'zod';
import { apiListenerOptions } from '../../core/api-extension';

export const readApiExtensionConfigSchema = z.strictObject({
  // The same listener and keys as the ingest APIs (default 127.0.0.1:8080, auth: workspaces).
  ...apiListenerOptions({ rateLimit: 600, maxRequestBodyBytes: 1024 * 1024 }),
  /** Where the logs receiver keeps attachments (its attachments_dir): served by /api/media, removed with their logs. */
  attachments_dir: z.string().min(1).default('./data/attachments'),
  /** How long a signed media URL (the redirect of GET /api/media/:key) stays valid; 0 makes them expire at once (tests). */
  media_url_ttl_seconds: z.number().int().min(0).max(86_400).default(300),
});

export type ReadApiExtensionConfig = z.output<typeof readApiExtensionConfigSchema>;
