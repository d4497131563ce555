import { z } from 'zod';
import { flattenJson } from '../../core/ingest/attributes';
import { parseBody } from '../../core/ingest/problems';
import { isIsoTimestamp, isoToNanos } from '../../core/ingest/time';
import type { Attributes } from '../../core/span';
import { distinct } from './record';
import type { MappedDelivery, WebhookPackage, WebhookRecord } from './record';

/** Levels of nesting kept as dotted attributes under `webhook.`; deeper values become JSON text. */
const FLATTEN_DEPTH = 3;

const id = z.string().trim().min(1, 'must not be empty').max(256, 'must be at most 256 characters');
const text = z.string();
const ids = z.array(z.string());

const packageObject = z.looseObject({
  name: text.optional(),
  ecosystem: text.optional(),
  version: text.optional(),
  versions: ids.optional(),
});
const repositoryObject = z.looseObject({ full_name: text.optional(), name: text.optional(), url: text.optional(), html_url: text.optional() });

/** The fields of a generic alert that are read; each is optional, but must have its type when present. */
const genericSchema = z.looseObject({
  provider: text.optional(),
  source: text.optional(),
  event_type: text.optional(),
  type: text.optional(),
  event: text.optional(),
  action: text.optional(),
  severity: z.union([text, z.number()]).optional(),
  package: z.union([text, packageObject]).optional(),
  package_name: text.optional(),
  package_ecosystem: text.optional(),
  package_version: text.optional(),
  advisory_id: text.optional(),
  advisory_ids: ids.optional(),
  ghsa_id: text.optional(),
  cve: z.union([text, ids]).optional(),
  cve_id: text.optional(),
  cve_ids: ids.optional(),
  repository: z.union([text, repositoryObject]).optional(),
  repo: text.optional(),
  url: text.optional(),
  title: text.optional(),
  summary: text.optional(),
  trace_id: id.optional(),
  delivery_id: id.optional(),
  event_id: id.optional(),
  timestamp: text.refine(isIsoTimestamp, 'must be an ISO 8601 timestamp with a time zone, e.g. 2026-01-31T12:00:00Z').optional(),
});

const READ_FIELDS = new Set(Object.keys(genericSchema.shape));

/** Any JSON object: the well-known alert fields are read, every other field is kept under `webhook.`. */
export function mapGeneric(body: unknown): MappedDelivery {
  const alert = parseBody(genericSchema, body);
  const extra: Attributes = {};
  const vendor = alert.provider ?? alert.source;
  if (vendor !== undefined) extra['webhook.vendor'] = vendor;
  for (const [key, value] of Object.entries(alert)) {
    if (!READ_FIELDS.has(key)) flattenJson(extra, `webhook.${key}`, value, FLATTEN_DEPTH);
  }
  const record: WebhookRecord = {
    key: '0',
    eventType: alert.event_type ?? alert.type ?? alert.event ?? 'alert',
    action: alert.action,
    severity: alert.severity,
    package: packageOf(alert),
    advisoryIds: distinct([alert.advisory_id, ...(alert.advisory_ids ?? []), alert.ghsa_id]),
    cveIds: distinct([...(typeof alert.cve === 'string' ? [alert.cve] : (alert.cve ?? [])), alert.cve_id, ...(alert.cve_ids ?? [])]),
    repository: repositoryOf(alert.repository) ?? alert.repo,
    url: alert.url,
    summary: alert.title ?? alert.summary,
    occurredAtNanos: alert.timestamp !== undefined ? isoToNanos(alert.timestamp) : undefined,
    extra,
  };
  return { provider: 'generic', deliveryId: alert.delivery_id ?? alert.event_id, traceRef: alert.trace_id, records: [record] };
}

function packageOf(alert: z.output<typeof genericSchema>): WebhookPackage | undefined {
  const given = typeof alert.package === 'string' ? { name: alert.package } : alert.package;
  const name = given?.name ?? alert.package_name;
  const ecosystem = given?.ecosystem ?? alert.package_ecosystem;
  const versions = distinct([...(given?.versions ?? []), given?.version, alert.package_version]);
  if (name === undefined && ecosystem === undefined && versions.length === 0) return undefined;
  return { name, ecosystem, versions };
}

function repositoryOf(repository: z.output<typeof genericSchema>['repository']): string | undefined {
  if (repository === undefined || typeof repository === 'string') return repository;
  return repository.full_name ?? repository.name ?? repository.html_url ?? repository.url;
}
