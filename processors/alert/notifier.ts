/**
 * Routes notifications to delivery targets. Every target has its own DeliveryQueue, so a Slack
 * outage delays nothing but Slack, and nothing here ever waits on a delivery: the pipeline keeps
 * flowing while a target is down, and each outcome is counted (event "delivery", kind = outcome).
 *
 * Targets come in groups that change independently: the config's (by id), the ones managed over
 * HTTP ("<workspace>/<id>") and the workspace settings' ("settings/<workspace>/<channel>"). A
 * target whose settings changed gets a new queue; the old one drains in the background.
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

/** How long shutdown (or a replaced target) waits for deliveries in flight before giving up on them. */
const SHUTDOWN_DRAIN_MS = 5000;

export type TargetGroup = 'config' | 'api' | 'settings';

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
  group: TargetGroup;
  /** The settings the target was built from, to tell whether a sync changed them. */
  fingerprint: string;
  target: AlertTarget;
  queue: DeliveryQueue<AlertNotification>;
}

export class Notifier {
  private readonly routes = new Map<string, Route>();
  private readonly retiring = new Set<Promise<void>>();

  constructor(
    private readonly delivery: AlertProcessorConfig['delivery'],
    private readonly settings: { id: string; logger: Logger; telemetry: ProcessorTelemetry },
  ) {}

  /** Makes the group's targets exactly `targets` (keys are globally unique across groups). */
  sync(group: TargetGroup, targets: ReadonlyMap<string, TargetConfig>): void {
    for (const [key, route] of [...this.routes]) {
      if (route.group === group && !targets.has(key)) this.remove(key, route);
    }
    for (const [key, config] of targets) {
      const fingerprint = JSON.stringify(config);
      const held = this.routes.get(key);
      if (held && held.fingerprint === fingerprint && held.group === group) continue;
      if (held) this.remove(key, held);
      const target = createTarget(key, config, this.delivery);
      const queue = new DeliveryQueue<AlertNotification>({
        name: `${this.settings.id}/${key}`,
        config: this.delivery,
        send: (notification, signal) => target.send(notification, signal),
        logger: this.settings.logger.child({ target: key }),
        onOutcome: (outcome) => this.count(outcome),
      });
      this.routes.set(key, { group, fingerprint, target, queue });
    }
  }

  private remove(key: string, route: Route): void {
    this.routes.delete(key);
    const retired = route.queue
      .shutdown(SHUTDOWN_DRAIN_MS)
      .catch(() => undefined)
      .finally(() => {
        route.target.close();
        this.retiring.delete(retired);
      });
    this.retiring.add(retired);
  }

  has(key: string): boolean {
    return this.routes.has(key);
  }

  typeOf(key: string): string | undefined {
    return this.routes.get(key)?.target.type;
  }

  /** Target keys of a group. */
  keys(group: TargetGroup): string[] {
    return [...this.routes].filter(([, r]) => r.group === group).map(([key]) => key);
  }

  /** Queues one notification per target; never waits, never throws. */
  notify(targetKeys: readonly string[], notification: AlertNotification): void {
    for (const key of targetKeys) {
      const route = this.routes.get(key);
      if (!route) {
        this.settings.logger.error({ target: key }, 'alert rule names a target that does not exist');
        continue;
      }
      route.queue.enqueue(notification);
    }
  }

  /**
   * One attempt to deliver `notification` to a target, now, past the queue: the operator's `test`
   * action wants to know whether the target works, not whether it works after five retries.
   */
  async sendNow(targetKey: string, notification: AlertNotification, signal: AbortSignal): Promise<{ target: string; type: string }> {
    const route = this.routes.get(targetKey);
    if (!route) {
      const known = this.keys('config');
      throw new PermanentError('PRC_ALERT_UNKNOWN_TARGET', `unknown target "${targetKey}" (targets: ${known.length ? known.join(', ') : 'none configured'})`);
    }
    try {
      await route.target.send(notification, signal);
      this.count('delivered');
    } catch (err) {
      this.count('failed');
      this.settings.logger.warn({ target: targetKey, err: errorMessage(err) }, 'test notification failed');
      throw err;
    }
    return { target: targetKey, type: route.target.type };
  }

  private count(outcome: DeliveryOutcome): void {
    this.settings.telemetry.event('delivery', 1, outcome);
  }

  async shutdown(): Promise<void> {
    const routes = [...this.routes.values()];
    this.routes.clear();
    await Promise.all([...routes.map((route) => route.queue.shutdown(SHUTDOWN_DRAIN_MS)), ...this.retiring]);
    for (const route of routes) route.target.close();
  }
}
