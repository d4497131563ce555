/**
 * `/v1/workspaces/:id/policies` (the self-hosted contract): a workspace's guardrail policies,
 * stored as control-plane objects of kind `policy`. A body is the proxy receiver's `preflight:`
 * section (PII action per detector, input rules, model allow-list, max input size, spend budget)
 * with a name and a status; the proxy checks each call of the workspace against every active
 * policy besides its YAML preflight (which it declares here read-only).
 */
import type { ControlObject } from '../../core/control/objects';
import type { ApiRoute } from '../../core/http-api';
import { guardrailPolicySchema } from '../../core/llm/guardrail-policy';
import { maskedSpec } from './objects-http';
import { collectionPaths, contractMeta, workspaceCollectionRoutes } from './policies-crud';
import type { ControlPlaneDeps } from './routes';

export const GUARDRAIL_POLICIES_PATHS = collectionPaths('policies');

function answer(object: ControlObject): Record<string, unknown> {
  return { id: object.id, ...maskedSpec('policy', object.spec), status: object.spec.status ?? 'active', ...contractMeta(object) };
}

export function guardrailPolicyRoutes({ host }: ControlPlaneDeps): ApiRoute[] {
  return workspaceCollectionRoutes(host.objects, {
    kind: 'policy',
    collection: 'policies',
    noun: 'policy',
    idPrefix: 'policy',
    schema: guardrailPolicySchema,
    answer,
    listFields: (object) => ({ status: object.spec.status ?? 'active', name: object.spec.name }),
    list: { sortable: ['name', 'status'], filterable: ['status', 'name'] },
  });
}
