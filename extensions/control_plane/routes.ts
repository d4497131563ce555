import type { Host } from '../../core/component';
import type { ApiRoute } from '../../core/http-api';
import type { Logger } from '../../core/logger';
import { ALERT_RULES_PATHS, alertRuleRoutes } from './alert-rules-api';
import type { ControlPlaneExtensionConfig } from './config';
import { DELIVERIES_PATHS, deliveryRoutes } from './deliveries-api';
import { FAILOVER_POLICIES_PATHS, failoverPolicyRoutes } from './failover-policies-api';
import { GUARDRAIL_POLICIES_PATHS, guardrailPolicyRoutes } from './guardrail-policies-api';
import { KEYS_PATHS, keyRoutes } from './keys-api';
import { RULES_PATHS, ruleRoutes } from './rules-api';
import { SETTINGS_PATHS, settingsRoutes } from './settings-api';
import { UTILITY_PATHS, utilityRoutes } from './utility-api';

/** What every route module of the control plane gets. */
export interface ControlPlaneDeps {
  host: Host;
  config: ControlPlaneExtensionConfig;
  logger: Logger;
}

/** Every path the control plane serves (for the config's route-conflict checks). */
export const CONTROL_PLANE_PATHS: readonly string[] = [...RULES_PATHS, ...SETTINGS_PATHS, ...KEYS_PATHS, ...UTILITY_PATHS, ...ALERT_RULES_PATHS, ...DELIVERIES_PATHS, ...FAILOVER_POLICIES_PATHS, ...GUARDRAIL_POLICIES_PATHS];

export function controlPlaneRoutes(deps: ControlPlaneDeps): ApiRoute[] {
  return [...ruleRoutes(deps), ...settingsRoutes(deps), ...keyRoutes(deps), ...utilityRoutes(deps), ...alertRuleRoutes(deps), ...deliveryRoutes(deps), ...failoverPolicyRoutes(deps), ...guardrailPolicyRoutes(deps)];
}
