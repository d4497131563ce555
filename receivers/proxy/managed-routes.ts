/**
 * The control plane's failover policies (kind `failover_policy`) as the gateway's routes: a call
 * with `X-Route-ID` from a workspace takes that workspace's active policy for the route, else the
 * configured routes. A policy naming an upstream this gateway does not have is skipped (logged
 * once per version); the API still stores it.
 */
import type { ControlObject } from '../../core/control/objects';
import { routePlanOf } from '../../core/llm/failover';
import type { FailoverPolicy, RouteConditions, RouteQuery, RouteResolution } from '../../core/llm/failover';
import { conditionsOf, failoverPolicySchema } from '../../core/llm/failover-policy';
import type { Logger } from '../../core/logger';
import { ObjectWarnings } from '../../core/control/object-warnings';

type Family = 'openai' | 'anthropic';

interface ManagedRoute {
  policyId: string;
  primary: string;
  fallbacks: readonly string[];
  conditions: RouteConditions;
}

export class ManagedRoutes implements FailoverPolicy {
  /** workspace -> route id -> its active policy. */
  private byWorkspace = new Map<string, Map<string, ManagedRoute>>();

  private readonly warnings: ObjectWarnings;

  constructor(
    private readonly configured: FailoverPolicy,
    private readonly families: ReadonlyMap<string, Family>,
    logger: Logger,
    owner: string,
  ) {
    this.warnings = new ObjectWarnings(logger, { receiver: owner });
  }

  resolve(query: RouteQuery): RouteResolution {
    if (query.routeId !== undefined && query.workspace !== undefined) {
      const route = this.byWorkspace.get(query.workspace)?.get(query.routeId);
      if (route) return routePlanOf(query.routeId, route, query.family, this.families);
    }
    return this.configured.resolve(query);
  }

  /** Rebuilds the routes from every failover_policy object (the catalog's watch). */
  apply(objects: readonly ControlObject[]): void {
    const next = new Map<string, Map<string, ManagedRoute>>();
    // The latest change wins when a workspace has two active policies for one route.
    const ordered = objects.filter((o) => o.source === 'api').sort((a, b) => a.updatedAt - b.updatedAt || a.id.localeCompare(b.id));
    for (const object of ordered) {
      const parsed = failoverPolicySchema.safeParse(object.spec);
      if (!parsed.success) {
        this.warnings.warnOnce(object, 'a failover policy of the control plane cannot be read and is skipped');
        continue;
      }
      const policy = parsed.data;
      if (policy.status !== 'active') continue;
      const unknown = [policy.primary_endpoint, ...policy.fallback_endpoints].filter((id) => !this.families.has(id));
      if (unknown.length > 0) {
        this.warnings.warnOnce(object, 'a failover policy names upstreams this gateway does not have and is skipped', { unknownEndpoints: unknown, route: policy.route_id });
        continue;
      }
      let routes = next.get(object.workspace);
      if (!routes) next.set(object.workspace, (routes = new Map()));
      routes.set(policy.route_id, { policyId: object.id, primary: policy.primary_endpoint, fallbacks: policy.fallback_endpoints, conditions: conditionsOf(policy.conditions) });
    }
    this.byWorkspace = next;
  }

}
