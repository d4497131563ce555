import type { Host } from '../../core/component';
import type { ApiRoute } from '../../core/http-api';
import type { Logger } from '../../core/logger';
import type { ControlPlaneExtensionConfig } from './config';
import { RULES_PATHS, ruleRoutes } from './rules-api';

/** What every route module of the control plane gets. */
export interface ControlPlaneDeps {
  host: Host;
  config: ControlPlaneExtensionConfig;
  logger: Logger;
}

/** Every path the control plane serves (for the config's route-conflict checks). */
export const CONTROL_PLANE_PATHS: readonly string[] = [...RULES_PATHS];

export function controlPlaneRoutes(deps: ControlPlaneDeps): ApiRoute[] {
  return [...ruleRoutes(deps)];
}
