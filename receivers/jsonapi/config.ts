import { z } from 'zod';
import { ingestOptions } from '../../core/ingest/config';

export const jsonapiReceiverConfigSchema = z.strictObject({
  ...ingestOptions({ rateLimit: 600 }),
});

export type JsonapiReceiverConfig = z.output<typeof jsonapiReceiverConfigSchema>;
