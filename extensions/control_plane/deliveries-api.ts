/**
 * The self-hosted contract's delivery targets (`/v1/workspaces/:id/deliveries`): list, create,
 * get, replace, delete, and `POST …/:targetId/verify`, which sends a verification message. Stored
 * as kind `delivery_target`; the settings follow the alert processor's targets (Slack
 * `webhook_url`/`channel`, webhook `url`/`signing_secret`/`headers`, email `smtp`/`from`/`to`).
 * Secrets are sealed at rest by the catalog and masked in answers; a PUT that sends a masked
 * value back keeps the stored secret.
 */
import { deliveryTargetBodySchema } from '../../core/alerting/api-objects';
import type { DeliveryTargetBody } from '../../core/alerting/api-objects';
import { needsEmailTransport } from '../../core/alerting/target-configs';
import type { Host } from '../../core/component';
import type { ControlObjects } from '../../core/control/catalog';
import { restoreMaskedSecrets } from '../../core/control/masked-secrets';
import type { DeprecatedAlias } from '../../core/deprecation';
import type { ApiRoute } from '../../core/http-api';
import { IngestError, parseBody } from '../../core/ingest/problems';
import { findIn, resourceRoutes } from './alert-resource';
import type { WorkspaceResource } from './alert-resource';
import type { ControlPlaneDeps } from './routes';

const BASE = '/v1/workspaces/:id/deliveries';

export const DELIVERIES_PATHS = [BASE, `${BASE}/:targetId`, `${BASE}/:targetId/verify`] as const;

/**
 * `severity` for `default_severity`, in a body and as a list filter (the name alert rules and
 * incidents use): accepted for compatibility, answered with a Deprecation header.
 */
const SEVERITY_ALIAS: DeprecatedAlias = { alias: 'severity', use: 'default_severity', since: '2026-12-01', removedIn: 'v0.3.0' };
const DELIVERY_ALIASES = { body: [SEVERITY_ALIAS], query: [SEVERITY_ALIAS] };

const NO_TRANSPORT = "is required here: this daemon's alert processor has no email target whose SMTP server e-mail targets without their own can use (declare one under processors.alert.targets, or send smtp and from)";

/** An e-mail target without `smtp`/`from` needs the alert processor's configured transport: 422 naming each missing field otherwise. */
function checkEmailTransport(spec: DeliveryTargetBody, host: Host): void {
  if (spec.type !== 'email' || !needsEmailTransport(spec.config)) return;
  if (host.capability('alerting')?.hasEmailTransport()) return;
  const missing = (['smtp', 'from'] as const).filter((field) => spec.config[field] === undefined);
  throw new IngestError(
    422,
    'RCV_VALIDATION',
    `invalid request body: ${missing.map((f) => `config.${f}`).join(', ')} ${NO_TRANSPORT}`,
    missing.map((field) => ({ path: ['config', field], message: NO_TRANSPORT, code: 'no_email_transport' })),
  );
}

function deliveriesResource(objects: ControlObjects, host: Host): WorkspaceResource {
  return {
    kind: 'delivery_target',
    base: BASE,
    param: 'targetId',
    idPrefix: 'dlv',
    label: 'delivery target',
    list: {
      sortable: ['created_at', 'updated_at', 'name', 'type', 'default_severity'],
      // The contract's ?sort=severity:asc: a target's severity is its default_severity.
      sortAliases: { severity: 'default_severity' },
      defaultSort: { field: 'created_at', direction: 'desc' },
      filterable: ['type', 'default_severity', 'source', 'name'],
      clampLimit: true,
    },
    deprecated: DELIVERY_ALIASES,
    parse: (body, _workspace, current) => {
      const spec = parseBody(deliveryTargetBodySchema, restoreMaskedSecrets('delivery_target', body, current?.spec));
      checkEmailTransport(spec, host);
      return spec;
    },
    checkDelete: (object, workspace) => {
      const users = objects
        .list('alert_rule', workspace)
        .filter((rule) => rule.source === 'api' && rule.workspace === workspace && Array.isArray(rule.spec.delivery_targets) && rule.spec.delivery_targets.includes(object.id))
        .map((rule) => rule.id);
      if (users.length > 0) throw new IngestError(409, 'API_CONFLICT', `delivery target "${object.id}" is used by alert rules ${users.join(', ')}: remove it from them first`);
    },
  };
}

export function deliveryRoutes({ host }: ControlPlaneDeps): ApiRoute[] {
  const objects = host.objects;
  const resource = deliveriesResource(objects, host);
  return [
    ...resourceRoutes(objects, resource),
    {
      method: 'POST',
      path: `${BASE}/:targetId/verify`,
      role: 'admin',
      handle: async (request) => {
        const target = findIn(objects, resource, request);
        const alerting = host.capability('alerting');
        if (!alerting) throw new IngestError(503, 'API_NO_ALERTING', 'no alert processor runs in this daemon', undefined, 60);
        const report = await alerting.verifyTarget(request.workspace, target.id);
        if (!report) throw new IngestError(409, 'API_NOT_APPLIED', `delivery target "${target.id}" is stored but the alert processor has not applied it (see its log)`);
        const [attempt] = report.deliveries;
        return { status: 200, body: { target_id: target.id, verified: attempt?.delivered === true, ...(attempt?.error ? { error: attempt.error } : {}), sent: report.sent } };
      },
    },
  ];
}
