/**
 * Routes notifications to delivery targets. Every target has its own DeliveryQueue, so a Slack
 * outage delays nothing but Slack, and nothing here ever waits on a delivery: the pipeline keeps
 * flowing while a target is down, and each outcome is counted (event "delivery", kind = outcome).
 */
import { PermanentError, errorMessage } from '../../core/errors';
import type { Logger } from '../../core/logger';
import { DeliveryQueue, type DeliveryOutcome } from '../../core/outbound/delivery-queue';
import type { ProcessorTelemetry } from '../../core/telemetry';
import type { AlertProcessorConfig, TargetConfig } from './config';
import type { AlertNotification } from './notification';
import { EmailTarget } from './targets/email';
import { SlackTarget } from './targets/slack';
import type { AlertTarget } from './targets/target';
import { WebhookTarget } from './targets/webhook';

/** How long shutdown waits for deliveries in flight before giving up on them. */
const SHUTDOWN_DRAIN_MS = 5000;

function createTarget(id: string, config: TargetConfig, delivery: AlertProcessorConfig['delivery']): AlertTarget {
  const http = { allowPrivateAddresses: delivery.allow_private_addresses, timeoutMs: delivery.timeout_ms };
  switch (config.type) {
    case 'slack':
      return new SlackTarget(id, config, http);
    case 'webhook':
      return new WebhookTarget(id, config, http);
    case 'email':
      return new EmailTarget(id, config, delivery.timeout_ms);
  }
}

interface Route {
  target: AlertTarget;
  queue: DeliveryQueue<AlertNotification>;
}

export class Notifier {
  private readonly routes = new Map<string, Route>();

  constructor(
    config: AlertProcessorConfig,
    private readonly settings: { id: string; logger: Logger; telemetry: ProcessorTelemetry },
  ) {
    for (const [id, targetConfig] of Object.entries(config.targets)) {
      const target = createTarget(id, targetConfig, config.delivery);
      const queue = new DeliveryQueue<AlertNotification>({
        name: `${settings.id}/${id}`,
        config: config.delivery,
        send: (notification, signal) => target.send(notification, signal),
        logger: settings.logger.child({ target: id }),
        onOutcome: (outcome) => this.count(outcome),
      });
      this.routes.set(id, { target, queue });
    }
  }

  get targetIds(): string[] {
    return [...this.routes.keys()];
  }

  /** Queues one notification per target; never waits, never throws. */
  notify(targetIds: readonly string[], notification: AlertNotification): void {
    for (const id of targetIds) {
      const route = this.routes.get(id);
      // The config refuses rules naming unknown targets, so this is a programming error, not data.
      if (!route) {
        this.settings.logger.error({ target: id }, 'alert rule names a target that does not exist');
        continue;
      }
      route.queue.enqueue(notification);
    }
  }

  /**
   * One attempt to deliver `notification` to a target, now, past the queue: the operator's `test`
   * action wants to know whether the target works, not whether it works after five retries.
   */
  async sendNow(targetId: string, notification: AlertNotification, signal: AbortSignal): Promise<{ target: string; type: string }> {
    const route = this.routes.get(targetId);
    if (!route) {
      const known = this.targetIds.length ? this.targetIds.join(', ') : 'none configured';
      throw new PermanentError('PRC_ALERT_UNKNOWN_TARGET', `unknown target "${targetId}" (targets: ${known})`);
    }
    try {
      await route.target.send(notification, signal);
      this.count('delivered');
    } catch (err) {
      this.count('failed');
      this.settings.logger.warn({ target: targetId, err: errorMessage(err) }, 'test notification failed');
      throw err;
    }
    return { target: targetId, type: route.target.type };
  }

  private count(outcome: DeliveryOutcome): void {
    this.settings.telemetry.event('delivery', 1, outcome);
  }

  async shutdown(): Promise<void> {
    await Promise.all([...this.routes.values()].map((route) => route.queue.shutdown(SHUTDOWN_DRAIN_MS)));
    for (const route of this.routes.values()) route.target.close();
  }
}
