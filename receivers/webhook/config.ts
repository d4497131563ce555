import { z } from 'zod';
import { ingestOptions } from '../../core/ingest/config';

export const webhookReceiverConfigSchema = z.strictObject({
  ...ingestOptions({ rateLimit: 600 }),
  /**
   * How far X-AITracer-Delivery-Timestamp may be from this host's clock, in either direction,
   * for a signed delivery to be accepted. Also bounds how long a signature is remembered.
   */
  signature_tolerance_seconds: z.number().int().positive().max(86_400).default(300),
  /** Bound on the accepted signatures remembered to refuse replays; the least recently used go first. */
  replay_cache_max_entries: z.number().int().positive().default(100_000),
});

export type WebhookReceiverConfig = z.output<typeof webhookReceiverConfigSchema>;
