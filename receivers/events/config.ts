import { z } from 'zod';
import { ingestOptions } from '../../core/ingest/config';

export const eventsReceiverConfigSchema = z.strictObject({
  ...ingestOptions({ rateLimit: 600 }),
});

export type EventsReceiverConfig = z.output<typeof eventsReceiverConfigSchema>;
