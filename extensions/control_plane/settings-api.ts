/**
 * The log-evaluation API's workspace settings (`/api/settings`): one `settings` object per
 * workspace (id `workspace`, core/control/workspace-settings.ts) holding the document's fields.
 * GET answers the workspace, the caller's role, usage counted from the catalog, and every field
 * (secrets masked, unset fields null); PATCH validates every field (422 per field), merges, and
 * answers `{ok: true}` with the new ETag.
 */
import { z } from 'zod';
import type { Role } from '../../core/auth';
import type { ControlObjects } from '../../core/control/catalog';
import type { ControlObject, ObjectSpec } from '../../core/control/objects';
import { restoreMaskedSecrets } from '../../core/control/masked-secrets';
import { SECRET_FIELDS } from '../../core/control/secret-fields';
import { JUDGE_PROVIDERS, normalizeWebhookEvents, OUTBOUND_WEBHOOK_EVENT_NAMES, SETTINGS_OBJECT_ID, webhookEventsOf, WORKSPACE_SETTINGS_FIELDS } from '../../core/control/workspace-settings';
import type { ApiRoute } from '../../core/http-api';
import { IngestError, parseBody } from '../../core/ingest/problems';
import { managedKeyCounts, recentRotations } from './keys-api';
import { etagHeader, ifMatchOf, maskedSpec, writeObject } from './objects-http';
import type { ControlPlaneDeps } from './routes';

export const SETTINGS_PATHS = ['/api/settings'] as const;

const httpUrl = z
  .string()
  .max(2048)
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
    } catch {
      return false;
    }
  }, 'must be an http:// or https:// URL');

const text = (max: number) => z.string().trim().min(1, 'must not be empty').max(max);

/** Each field as PATCH accepts it; null removes the field. */
const fieldSchemas = {
  onboardingDismissed: z.boolean(),
  workspaceName: text(200),
  slackWebhookUrl: httpUrl,
  notifyOnFlag: z.boolean(),
  notifyOnFail: z.boolean(),
  slackChannelId: text(200),
  notificationEmail: z.email('must be an e-mail address').max(320),
  emailOnFlag: z.boolean(),
  emailOnFail: z.boolean(),
  slackNotificationsEnabled: z.boolean(),
  emailNotificationsEnabled: z.boolean(),
  webhookEnabled: z.boolean(),
  outboundWebhookUrl: httpUrl,
  outboundWebhookEvents: z
    .array(z.string().max(100).refine((name) => webhookEventsOf(name) !== undefined, `must be one of ${OUTBOUND_WEBHOOK_EVENT_NAMES.join(', ')} (the webhook is sent flagged and failed logs)`))
    .max(50)
    .transform(normalizeWebhookEvents),
  estimatedIncidentCostUsd: z.number().nonnegative().max(1e12),
  openaiApiKey: text(1000),
  anthropicApiKey: text(1000),
  openrouterApiKey: text(1000),
  openaiJudgeModel: text(200),
  anthropicJudgeModel: text(200),
  openrouterJudgeModel: text(200),
  defaultJudgeProvider: z.enum(JUDGE_PROVIDERS),
  color: z.string().regex(/^(?:#[0-9a-fA-F]{3}|#[0-9a-fA-F]{6}|[a-zA-Z]{1,30})$/, 'must be a colour: #rgb, #rrggbb or a name'),
} satisfies Record<(typeof WORKSPACE_SETTINGS_FIELDS)[number], z.ZodType>;

const patchSchema = z.strictObject(
  Object.fromEntries(Object.entries(fieldSchemas).map(([name, schema]) => [name, schema.nullable().optional()])) as {
    [K in keyof typeof fieldSchemas]: z.ZodOptional<z.ZodNullable<(typeof fieldSchemas)[K]>>;
  },
);

const SECRET_NAMES = new Set(SECRET_FIELDS.settings.filter((p) => p.length === 1).map((p) => p[0]));

/** The strongest role of a key, as the document's `currentUserRole`. */
function roleOf(roles: readonly Role[]): Role {
  return roles.includes('admin') ? 'admin' : roles.includes('read') ? 'read' : 'ingest';
}

/** The workspace's settings object, if it has one (never another workspace's). */
export function settingsOf(objects: ControlObjects, workspace: string): ControlObject | undefined {
  const object = objects.get('settings', workspace, SETTINGS_OBJECT_ID);
  return object?.workspace === workspace ? object : undefined;
}

function usageOf(objects: ControlObjects, workspace: string, maxRotations: number): Record<string, unknown> {
  return {
    rules: objects.list('rule', workspace).length,
    alertRules: objects.list('alert_rule', workspace).length,
    deliveryTargets: objects.list('delivery_target', workspace).length,
    policies: objects.list('policy', workspace).length,
    failoverPolicies: objects.list('failover_policy', workspace).length,
    apiKeys: managedKeyCounts(objects, workspace),
    rotations: { lastHour: recentRotations(objects, workspace).length, perHour: maxRotations },
  };
}

export function settingsRoutes({ host, config }: ControlPlaneDeps): ApiRoute[] {
  const objects = host.objects;
  return [
    {
      method: 'GET',
      path: '/api/settings',
      role: 'read',
      handle: ({ workspace, roles }) => {
        const object = settingsOf(objects, workspace);
        const spec = object ? maskedSpec('settings', object.spec) : {};
        const fields = Object.fromEntries(WORKSPACE_SETTINGS_FIELDS.map((name) => [name, spec[name] ?? null]));
        const workspaceName = typeof spec.workspaceName === 'string' ? spec.workspaceName : workspace;
        return {
          status: 200,
          body: {
            id: workspace,
            name: workspaceName,
            currentUserRole: roleOf(roles),
            canManageWorkspace: roles.includes('admin'),
            usage: usageOf(objects, workspace, config.max_rotations_per_hour),
            ...fields,
            workspaceName,
          },
          headers: object ? etagHeader(object) : undefined,
        };
      },
    },
    {
      method: 'PATCH',
      path: '/api/settings',
      role: 'admin',
      handle: async ({ workspace, principal, body, headers }) => {
        // A secret sent back masked, as GET showed it, keeps the stored one.
        const patch = parseBody(patchSchema, restoreMaskedSecrets('settings', body, settingsOf(objects, workspace)?.spec)) as Record<string, unknown>;
        const ifMatch = ifMatchOf(headers);
        // Without If-Match a concurrent change elsewhere is merged into, not overwritten: retry on 412.
        for (let attempt = 1; ; attempt++) {
          const current = settingsOf(objects, workspace);
          if (ifMatch !== undefined && !current) throw new IngestError(412, 'API_PRECONDITION_FAILED', `the settings have no version ${ifMatch} (If-Match): they were never written`);
          const next: ObjectSpec = { ...current?.spec };
          for (const [name, value] of Object.entries(patch)) {
            if (value === undefined) continue;
            if (value === null) delete next[name];
            else next[name] = value;
          }
          try {
            const written = await writeSettings(objects, { workspace, spec: next, principal, ifMatch: ifMatch ?? current?.version, patch });
            return { status: 200, body: { ok: true }, headers: etagHeader(written) };
          } catch (err) {
            const stale = err instanceof IngestError && err.status === 412;
            if (!stale || ifMatch !== undefined || attempt >= 3) throw err;
          }
        }
      },
    },
  ];
}

async function writeSettings(
  objects: ControlObjects,
  write: { workspace: string; spec: ObjectSpec; principal: string; ifMatch: number | undefined; patch: Record<string, unknown> },
): Promise<ControlObject> {
  try {
    const written = await writeObject(objects, { kind: 'settings', workspace: write.workspace, id: SETTINGS_OBJECT_ID, spec: write.spec, changedBy: write.principal, ifMatch: write.ifMatch });
    return written as ControlObject;
  } catch (err) {
    // The catalog refuses secrets it cannot seal: name the fields that carried them.
    const secrets = Object.keys(write.patch).filter((name) => SECRET_NAMES.has(name) && typeof write.patch[name] === 'string');
    if (err instanceof IngestError && err.status === 422 && secrets.length > 0) {
      const message = 'cannot be stored: this daemon has no service.control_plane.secrets_key to encrypt secrets with (set it, e.g. ${env:TRACEHOUSE_SECRETS_KEY})';
      throw new IngestError(
        422,
        'API_NO_SECRETS_KEY',
        `${secrets.join(', ')} ${message}`,
        secrets.map((name) => ({ path: [name], message, code: 'secrets_key_missing' })),
      );
    }
    throw err;
  }
}
