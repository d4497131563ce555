/**
 * What the alert processor offers the control plane through the host (capability `alerting`):
 * a test alert to a rule's delivery targets, a verification message to one target, and where its
 * incidents are stored (for the read API's /v1/workspaces/:id/incidents).
 */
import type { TraceStore } from '../component';

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

/**
 * The alert processor's tables. `incidents` is a ReplacingMergeTree(updated_at) ordered by
 * incident_id, one row version per change, read with FINAL: incident_id, rule_id, rule_name,
 * severity (low|medium|high|critical), status (firing|resolved), group_key, group Map(String,
 * String), condition, value, threshold, first_seen, last_seen, resolved_at Nullable, all
 * DateTime64(3), example_trace_ids Array(String), updated_at DateTime64(3), and workspace ('' for
 * a global incident, which belongs to no workspace).
 */
export interface IncidentTables {
  store: TraceStore;
  incidents: string;
  /** The spans table the rules read (otel_traces). */
  spans: string;
}

export interface Alerting {
  /** Sends a test alert to every delivery target of the rule; undefined when no such rule is applied. */
  testRule(workspace: string, ruleId: string): Promise<AlertTestReport | undefined>;
  /** Sends a verification message to the target; undefined when no such target is applied. */
  verifyTarget(workspace: string, targetId: string): Promise<AlertTestReport | undefined>;
  /** The incidents table, made (with its workspace column) if it was not yet; undefined without a store. */
  incidentTables(): Promise<IncidentTables | undefined>;
  /** Whether an e-mail target without its own `smtp`/`from` can send (an email target of the config lends its transport). */
  hasEmailTransport(): boolean;
}
