import type { ReceiverFactory } from '../../core/component';
import { ingestClaims } from '../../core/ingest/config';
import { IngestReceiver } from '../../core/ingest/receiver';
import { eventsReceiverConfigSchema } from './config';
import { CHANGE_PATH, eventRoutes, RUNTIME_PATH } from './routes';

export const eventsReceiverFactory: ReceiverFactory<typeof eventsReceiverConfigSchema> = {
  type: 'events',
  kind: 'receiver',
  stability: 'alpha',
  summary: 'Runtime and change events (POST /v1/ingest/runtime, /v1/ingest/change) as correlation records',
  configSchema: eventsReceiverConfigSchema,
  createReceiver: (config, settings, next) => new IngestReceiver(config, settings, next, (_context, _workspaces, times) => eventRoutes(times)),
  claimedRoutes: (config) => ingestClaims(config, [RUNTIME_PATH, CHANGE_PATH]),
};
