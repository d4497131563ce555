/**
 * What the alert processor offers the control plane through the host (capability `alerting`):
 * a test alert to a rule's delivery targets, a verification message to one target.
 */

/** One delivery attempt of a test or verification message (one attempt, no retries). */
export interface DeliveryAttempt {
  target: string;
  type: string;
  delivered: boolean;
  /** Why it failed (never the target's URL or credentials). */
  error?: string;
}

export interface AlertTestReport {
  /** What was sent: the message's headline and kind. */
  sent: { kind: 'test'; headline: string; severity: string };
  deliveries: DeliveryAttempt[];
}

export interface Alerting {
  /** Sends a test alert to every delivery target of the rule; undefined when no such rule is applied. */
  testRule(workspace: string, ruleId: string): Promise<AlertTestReport | undefined>;
  /** Sends a verification message to the target; undefined when no such target is applied. */
  verifyTarget(workspace: string, targetId: string): Promise<AlertTestReport | undefined>;
}
