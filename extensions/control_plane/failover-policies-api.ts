/**
 * `/v1/workspaces/:id/failover-policies` (the self-hosted contract): a workspace's failover
 * policies, stored as control-plane objects of kind `failover_policy`. The proxy receiver applies
 * the active ones live (a call with `X-Route-ID: <route_id>` from the workspace takes its policy
 * before the YAML routes) and declares its YAML routes as read-only policies. Answers carry each
 * fallback's live health from the gateway (the `upstreamHealth` capability), `unknown` when no
 * gateway of this daemon has that upstream.
 */
import type { ControlObject } from '../../core/control/objects';
import type { ApiRoute } from '../../core/http-api';
import { failoverPolicySchema } from '../../core/llm/failover-policy';
import type { FailoverPolicySpec } from '../../core/llm/failover-policy';
import { IngestError } from '../../core/ingest/problems';
import { collectionPaths, contractMeta, workspaceCollectionRoutes } from './policies-crud';
import type { ControlPlaneDeps } from './routes';

export const FAILOVER_POLICIES_PATHS = collectionPaths('failover-policies');

export function failoverPolicyRoutes({ host }: ControlPlaneDeps): ApiRoute[] {
  const healthOf = (upstream: string) => host.capability('upstreamHealth')?.stateOf(upstream) ?? 'unknown';
  const answer = (object: ControlObject): Record<string, unknown> => {
    const spec = object.spec as Partial<FailoverPolicySpec> & { models?: string[] };
    const fallbacks = Array.isArray(spec.fallback_endpoints) ? spec.fallback_endpoints : [];
    return {
      id: object.id,
      status: spec.status ?? 'active',
      route_id: spec.route_id,
      primary_endpoint: spec.primary_endpoint,
      fallback_endpoints: fallbacks.map((id) => ({ id, status: healthOf(id) })),
      conditions: spec.conditions ?? {},
      ...(spec.models ? { models: spec.models } : {}),
      ...contractMeta(object),
    };
  };
  return workspaceCollectionRoutes(host.objects, {
    kind: 'failover_policy',
    collection: 'failover-policies',
    noun: 'failover policy',
    idPrefix: 'failover',
    schema: failoverPolicySchema,
    answer,
    listFields: (object) => ({ status: object.spec.status ?? 'active', route_id: object.spec.route_id, primary_endpoint: object.spec.primary_endpoint }),
    list: { sortable: ['route_id', 'status', 'primary_endpoint'], filterable: ['status', 'route_id', 'primary_endpoint'] },
    checkWrite: (spec, { objects, workspace, id }) => {
      if (spec.status !== 'active') return;
      const other = objects
        .list('failover_policy', workspace)
        .find((o) => o.workspace === workspace && o.source === 'api' && o.id !== id && o.spec.route_id === spec.route_id && (o.spec.status ?? 'active') === 'active');
      if (other) {
        throw new IngestError(409, 'API_CONFLICT', `failover policy "${other.id}" is already active for route "${spec.route_id}" in this workspace; disable or delete it first`);
      }
    },
  });
}
