import type { Severity } from '../../core/evaluation';

/**
 * What happened to an incident, as told to delivery targets: opened (firing), still firing after
 * renotify_interval_seconds (updated), resolved after the cooldown, or a test from the `test` action;
 * `flagged` and `failed` tell of one log the workspace settings ask to hear about.
 */
export type NotificationKind = 'firing' | 'updated' | 'resolved' | 'test' | 'flagged' | 'failed';

/** One message to the delivery targets of an alert rule. */
export interface AlertNotification {
  kind: NotificationKind;
  /** For workspace-settings notifications: the outbound webhook event ("log.flagged", "log.failed"). */
  event?: string;
  incidentId: string;
  ruleId: string;
  ruleName: string;
  severity: Severity;
  /** Human-readable condition, e.g. "p95 latency over 5 min > 3000 ms". */
  condition: string;
  /** The group the incident is for, e.g. { workspace: 'acme', model: 'gpt-4o' }; empty when ungrouped. */
  group: Record<string, string>;
  /** The measured value and the threshold it crossed (for per-span rules: the span's value). */
  value: number;
  threshold: number;
  /** What value and threshold are counted in: ms, USD, ratio, tokens or spans. */
  unit?: string;
  /** ISO 8601 times. */
  firstSeen: string;
  lastSeen: string;
  /** A few trace ids that show the problem (32 hex). */
  exampleTraceIds: string[];
  /** Links to the example traces, when the processor's trace_link is set (same order). */
  exampleTraceLinks?: string[];
  /** When the incident resolved (kind 'resolved'), ISO 8601. */
  resolvedAt?: string;
}
