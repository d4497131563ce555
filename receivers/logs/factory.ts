import type { Host, ReceiverFactory } from '../../core/component';
import { ingestClaims } from '../../core/ingest/config';
import { IngestReceiver } from '../../core/ingest/receiver';
import { logsReceiverConfigSchema } from './config';
import { LOGS_PATH, logRoutes } from './routes';
import { TombstoneChecker } from './tombstones';

export const logsReceiverFactory: ReceiverFactory<typeof logsReceiverConfigSchema> = {
  type: 'logs',
  kind: 'receiver',
  stability: 'alpha',
  summary: 'Tracira-style log evaluation API (POST /api/logs): one AI output per request, with attachments',
  configSchema: logsReceiverConfigSchema,
  createReceiver: (config, settings, next) => {
    // Deleted logs (deleted_log tombstones of the read API) are read from the host's object store
    // (not held in memory: tombstones.ts).
    let host: Host | undefined;
    const tombstones = new TombstoneChecker(() => host?.objects, config.idempotency.ttl_seconds * 1000);
    const receiver = new IngestReceiver(config, settings, next, (context, _workspaces, times) => logRoutes(config, context, times, tombstones.lookup));
    return {
      start: (h: Host) => {
        host = h;
        return receiver.start(h);
      },
      shutdown: () => receiver.shutdown(),
    };
  },
  claimedRoutes: (config) => ingestClaims(config, [LOGS_PATH]),
};
