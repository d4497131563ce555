/**
 * The self-hosted contract's alert rules (`/v1/workspaces/:id/alert-rules`): list, create, get,
 * replace, delete, and `POST …/:ruleId/test`, which sends a test alert to the rule's delivery
 * targets and answers each target's outcome. Stored as kind `alert_rule` in the API's shape
 * (core/alerting/api-objects.ts); the alert processor applies them to the workspace's spans.
 */
import { alertRuleBodySchema } from '../../core/alerting/api-objects';
import { resolveTargetRef } from '../../core/alerting/target-refs';
import type { ControlObjects } from '../../core/control/catalog';
import type { DeprecatedAlias } from '../../core/deprecation';
import type { ApiRoute } from '../../core/http-api';
import { IngestError, parseBody } from '../../core/ingest/problems';
import type { FieldProblem } from '../../core/ingest/problems';
import { findIn, resourceRoutes } from './alert-resource';
import type { WorkspaceResource } from './alert-resource';
import type { ControlPlaneDeps } from './routes';

const BASE = '/v1/workspaces/:id/alert-rules';

export const ALERT_RULES_PATHS = [BASE, `${BASE}/:ruleId`, `${BASE}/:ruleId/test`] as const;

/** `targets` (the alert processor's name in pipelines.yaml) for `delivery_targets`: accepted, answered with a Deprecation header. */
const TARGETS_ALIAS: DeprecatedAlias = { alias: 'targets', use: 'delivery_targets', since: '2026-12-01', removedIn: 'v0.3.0' };

function alertRulesResource(objects: ControlObjects): WorkspaceResource {
  return {
    kind: 'alert_rule',
    base: BASE,
    param: 'ruleId',
    idPrefix: 'alr',
    label: 'alert rule',
    list: { sortable: ['created_at', 'updated_at', 'name', 'severity', 'status'], defaultSort: { field: 'created_at', direction: 'desc' }, filterable: ['status', 'severity', 'source', 'name'], clampLimit: true },
    deprecated: { body: [TARGETS_ALIAS] },
    parse: (body, workspace) => {
      const rule = parseBody(alertRuleBodySchema, body);
      const problems: FieldProblem[] = [];
      // Names are resolved once, here: the rule keeps pointing at its targets when they are renamed.
      const ids = rule.delivery_targets.map((ref, i) => {
        const found = resolveTargetRef(objects, workspace, ref);
        if ('problem' in found) problems.push({ path: ['delivery_targets', i], message: found.problem, code: 'unknown_target' });
        return 'id' in found ? found.id : ref;
      });
      if (problems.length > 0) throw new IngestError(422, 'RCV_VALIDATION', `invalid request body: ${problems.map((p) => `delivery_targets[${p.path[1]}]: ${p.message}`).join('; ')}`, problems);
      const firstDefault = ids.length > 0 ? objects.get('delivery_target', workspace, ids[0])?.spec.default_severity : undefined;
      const severity = rule.severity ?? (typeof firstDefault === 'string' ? firstDefault : 'medium');
      return { ...rule, delivery_targets: [...new Set(ids)], severity };
    },
  };
}

export function alertRuleRoutes({ host }: ControlPlaneDeps): ApiRoute[] {
  const objects = host.objects;
  const resource = alertRulesResource(objects);
  return [
    ...resourceRoutes(objects, resource),
    {
      method: 'POST',
      path: `${BASE}/:ruleId/test`,
      role: 'admin',
      handle: async (request) => {
        const rule = findIn(objects, resource, request);
        const alerting = host.capability('alerting');
        if (!alerting) throw new IngestError(503, 'API_NO_ALERTING', 'no alert processor runs in this daemon', undefined, 60);
        const report = await alerting.testRule(request.workspace, rule.id);
        if (!report) throw new IngestError(409, 'API_NOT_APPLIED', `alert rule "${rule.id}" is stored but the alert processor has not applied it (see its log)`);
        return { status: 200, body: { rule_id: rule.id, delivered: report.deliveries.every((d) => d.delivered), ...report } };
      },
    },
  ];
}
