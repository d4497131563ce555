import type { ReceiverFactory } from '../../core/component';
import { ingestClaims } from '../../core/ingest/config';
import { IngestReceiver } from '../../core/ingest/receiver';
import { jsonapiReceiverConfigSchema } from './config';
import { CREATE_TRACE_PATH, OBSERVATIONS_PATH, TRACES_PATH } from './paths';
import { jsonapiRoutes } from './routes';

export const jsonapiReceiverFactory: ReceiverFactory<typeof jsonapiReceiverConfigSchema> = {
  type: 'jsonapi',
  kind: 'receiver',
  stability: 'alpha',
  summary: 'Brixo-style JSON:API tracing ingest (traces and observations as application/vnd.api+json resources)',
  configSchema: jsonapiReceiverConfigSchema,
  createReceiver: (config, settings, next) => new IngestReceiver(config, settings, next, (_context, _workspaces, times) => jsonapiRoutes(times)),
  claimedRoutes: (config) => ingestClaims(config, [CREATE_TRACE_PATH, TRACES_PATH, OBSERVATIONS_PATH]),
};
