import { z } from 'zod';
import { ingestOptions } from '../../core/ingest/config';

const MiB = 1024 * 1024;

export const logsReceiverConfigSchema = z.strictObject({
  // 60 per minute per key is the limit the Tracira API documents; bodies carry base64 attachments.
  ...ingestOptions({ rateLimit: 60, maxRequestBodyBytes: 64 * MiB }),
  /** Where uploaded attachments are written, one file per content (named by its SHA-256). */
  attachments_dir: z.string().min(1).default('./data/attachments'),
  /** Largest attachment accepted, after base64 decoding. */
  max_attachment_bytes: z.number().int().positive().default(10 * MiB),
});

export type LogsReceiverConfig = z.output<typeof logsReceiverConfigSchema>;
