import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';
import { parseBody } from '../../core/ingest/problems';
import { isoToNanos } from '../../core/ingest/time';
import type { Attributes } from '../../core/span';
import { distinct } from './record';
import type { MappedDelivery, WebhookRecord } from './record';
import { headerValue } from './headers';

export const GITHUB_EVENT_HEADER = 'x-github-event';
export const GITHUB_DELIVERY_HEADER = 'x-github-delivery';

const packageSchema = z.looseObject({ ecosystem: z.string().nullish(), name: z.string().nullish() });

/** The parts of a `dependabot_alert` webhook (GitHub REST "Dependabot alert" object) read here. */
const dependabotAlertSchema = z.looseObject({
  action: z.string().min(1, 'must not be empty'),
  alert: z.looseObject({
    number: z.number().int(),
    state: z.string().nullish(),
    html_url: z.string().nullish(),
    created_at: z.string().nullish(),
    updated_at: z.string().nullish(),
    dependency: z
      .looseObject({ package: packageSchema.nullish(), manifest_path: z.string().nullish(), scope: z.string().nullish() })
      .nullish(),
    security_advisory: z.looseObject({
      ghsa_id: z.string().min(1, 'must not be empty'),
      cve_id: z.string().nullish(),
      summary: z.string().nullish(),
      severity: z.string().nullish(),
      identifiers: z.array(z.looseObject({ type: z.string(), value: z.string() })).nullish(),
      cvss: z.looseObject({ score: z.number().nullish() }).nullish(),
      cwes: z.array(z.looseObject({ cwe_id: z.string() })).nullish(),
    }),
    security_vulnerability: z
      .looseObject({
        package: packageSchema.nullish(),
        severity: z.string().nullish(),
        vulnerable_version_range: z.string().nullish(),
        first_patched_version: z.looseObject({ identifier: z.string().nullish() }).nullish(),
      })
      .nullish(),
  }),
  repository: z.looseObject({ full_name: z.string().min(1, 'must not be empty'), html_url: z.string().nullish() }),
});

/** Any other GitHub event: only what every repository event carries. */
const otherEventSchema = z.looseObject({
  action: z.string().nullish(),
  repository: z.looseObject({ full_name: z.string().nullish(), html_url: z.string().nullish() }).nullish(),
});

/** A GitHub webhook delivery: Dependabot alerts in full, `ping` as nothing, other events as bare records. */
export function mapGithub(body: unknown, headers: IncomingHttpHeaders): MappedDelivery {
  const event = headerValue(headers, GITHUB_EVENT_HEADER) ?? 'dependabot_alert';
  const deliveryId = headerValue(headers, GITHUB_DELIVERY_HEADER);
  if (event === 'ping') return { provider: 'github', deliveryId, records: [] };
  if (event === 'dependabot_alert') return { provider: 'github', deliveryId, records: [dependabotRecord(parseBody(dependabotAlertSchema, body))] };
  const other = parseBody(otherEventSchema, body);
  const action = other.action ?? undefined;
  const record: WebhookRecord = {
    key: '0',
    eventType: action ? `${event}.${action}` : event,
    action,
    advisoryIds: [],
    cveIds: [],
    repository: other.repository?.full_name ?? undefined,
    url: other.repository?.html_url ?? undefined,
    extra: {},
  };
  return { provider: 'github', deliveryId, records: [record] };
}

function dependabotRecord(body: z.output<typeof dependabotAlertSchema>): WebhookRecord {
  const { alert } = body;
  const advisory = alert.security_advisory;
  const vulnerability = alert.security_vulnerability;
  const pkg = vulnerability?.package ?? alert.dependency?.package;
  const identifiers = advisory.identifiers ?? [];
  const extra: Attributes = { 'webhook.alert.number': BigInt(alert.number) };
  if (alert.state) extra['webhook.alert.state'] = alert.state;
  if (alert.dependency?.scope) extra['webhook.dependency.scope'] = alert.dependency.scope;
  if (typeof advisory.cvss?.score === 'number') extra['webhook.advisory.cvss_score'] = advisory.cvss.score;
  const cwes = distinct((advisory.cwes ?? []).map((c) => c.cwe_id));
  if (cwes.length > 0) extra['webhook.advisory.cwe_ids'] = cwes;
  if (body.repository.html_url) extra['webhook.repository.url'] = body.repository.html_url;
  const changed = alert.updated_at ?? alert.created_at;
  return {
    key: String(alert.number),
    eventType: `dependabot_alert.${body.action}`,
    action: body.action,
    severity: vulnerability?.severity ?? advisory.severity ?? undefined,
    package: {
      name: pkg?.name ?? undefined,
      ecosystem: pkg?.ecosystem ?? undefined,
      vulnerableRange: vulnerability?.vulnerable_version_range ?? undefined,
      patchedVersion: vulnerability?.first_patched_version?.identifier ?? undefined,
      manifestPath: alert.dependency?.manifest_path ?? undefined,
    },
    advisoryIds: distinct([advisory.ghsa_id, ...identifiers.filter((i) => i.type.toUpperCase() !== 'CVE').map((i) => i.value)]),
    cveIds: distinct([advisory.cve_id, ...identifiers.filter((i) => i.type.toUpperCase() === 'CVE').map((i) => i.value)]),
    repository: body.repository.full_name,
    url: alert.html_url ?? undefined,
    summary: advisory.summary ?? undefined,
    occurredAtNanos: changed ? isoToNanos(changed) : undefined,
    extra,
  };
}
