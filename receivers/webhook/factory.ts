import type { ReceiverFactory } from '../../core/component';
import { ingestClaims } from '../../core/ingest/config';
import { IngestReceiver } from '../../core/ingest/receiver';
import { webhookReceiverConfigSchema } from './config';
import { ReplayGuard } from './replay-guard';
import { WEBHOOKS_PATH, webhookRoute } from './route';

export const webhookReceiverFactory: ReceiverFactory<typeof webhookReceiverConfigSchema> = {
  type: 'webhook',
  kind: 'receiver',
  stability: 'alpha',
  summary: 'Signed external alert webhooks (GitHub Dependabot, Snyk, generic JSON) on POST /api/ingest/webhooks as correlation records',
  configSchema: webhookReceiverConfigSchema,
  createReceiver: (config, settings, next) => {
    const replays = new ReplayGuard(config.replay_cache_max_entries, config.signature_tolerance_seconds);
    return new IngestReceiver(config, settings, next, (context, workspaces, times) => {
      replays.share(context.shared?.reservations(settings.id));
      return [webhookRoute({ workspaces, replays, toleranceSeconds: config.signature_tolerance_seconds, times })];
    });
  },
  claimedRoutes: (config) => ingestClaims(config, [WEBHOOKS_PATH]),
};
