/**
 * Test alerts and verification messages: one attempt per target, now, past the queues (the caller
 * wants to know whether the target works), each outcome reported (never a URL or credential).
 */
import type { AlertTestReport, DeliveryAttempt } from '../../core/alerting/capability';
import { errorMessage } from '../../core/errors';
import type { Severity } from '../../core/evaluation';
import type { AlertNotification } from './notification';
import type { Notifier } from './notifier';
import { headline } from './targets/format';

export function testNotification(ruleId: string, ruleName: string, severity: Severity, condition: string): AlertNotification {
  const now = new Date().toISOString();
  return { kind: 'test', incidentId: 'test', ruleId, ruleName, severity, condition, group: {}, value: 0, threshold: 0, firstSeen: now, lastSeen: now, exampleTraceIds: [] };
}

/** Sends `notification` to each target (by notifier key), reporting each under the name the caller used. */
export async function sendTests(
  notifier: Notifier,
  targets: readonly { key: string; name: string }[],
  notification: AlertNotification,
  signal: AbortSignal,
): Promise<AlertTestReport> {
  const deliveries = await Promise.all(
    targets.map(async ({ key, name }): Promise<DeliveryAttempt> => {
      const type = notifier.typeOf(key) ?? 'unknown';
      try {
        await notifier.sendNow(key, notification, signal);
        return { target: name, type, delivered: true };
      } catch (err) {
        return { target: name, type, delivered: false, error: errorMessage(err) };
      }
    }),
  );
  return { sent: { kind: 'test', headline: headline(notification), severity: notification.severity }, deliveries };
}
