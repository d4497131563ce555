/**
 * What components offer each other through the host, one interface each, so that no component
 * imports another: a processor offers its rule engine, the gateway its upstream health, the alert
 * processor its deliveries. Offered at start; extensions (started last) find them all.
 */
import type { Alerting } from './alerting/capability';
import type { DecisionCallbacks } from './callbacks/sender';
import type { RuleEvaluator } from './evaluation';
import type { UpstreamHealthView } from './llm/failover';

export interface Capabilities {
  /** The rule engine (evaluate_rules): POST /api/rules/evaluate. */
  ruleEvaluator: RuleEvaluator;
  /** Test alerts and target verification (the alert processor): /v1/workspaces/:id/alert-rules/:ruleId/test, deliveries/:targetId/verify. */
  alerting: Alerting;
  /** The gateway's live health per upstream (the proxy receiver): /v1/workspaces/:id/failover-policies. */
  upstreamHealth: UpstreamHealthView;
  /** Reviewers' decisions posted to logs' callbacks, signed and guarded like evaluations (evaluate_rules): PATCH /api/logs/:id/decision, /api/logs/bulk. */
  decisionCallbacks: DecisionCallbacks;
}

export type CapabilityName = keyof Capabilities;

/** The first offer of each capability wins. */
export class CapabilityRegistry {
  private readonly offered = new Map<CapabilityName, unknown>();

  provide<K extends CapabilityName>(name: K, implementation: Capabilities[K]): void {
    if (!this.offered.has(name)) this.offered.set(name, implementation);
  }

  get<K extends CapabilityName>(name: K): Capabilities[K] | undefined {
    return this.offered.get(name) as Capabilities[K] | undefined;
  }
}
