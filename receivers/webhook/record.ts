import { spanIdFor } from '../../core/ingest/ids';
import { makeSpan } from '../../core/span';
import type { Attributes, Span } from '../../core/span';

export type WebhookProvider = 'github' | 'snyk' | 'generic';

/** The package an alert is about, as far as the provider says. */
export interface WebhookPackage {
  name?: string;
  ecosystem?: string;
  /** Installed or affected versions (Snyk's pkgVersions, a generic `version`). */
  versions?: string[];
  vulnerableRange?: string;
  patchedVersion?: string;
  manifestPath?: string;
}

/** One alert of a delivery, in provider-neutral terms; it becomes one record. */
export interface WebhookRecord {
  /** Tells the records of one delivery apart (stable across redeliveries): an issue id, "0". */
  key: string;
  eventType: string;
  action?: string;
  /** The severity as the provider spells it. */
  severity?: string | number;
  package?: WebhookPackage;
  advisoryIds: string[];
  cveIds: string[];
  repository?: string;
  url?: string;
  summary?: string;
  /** When the alert changed, in Unix nanoseconds; the arrival time otherwise. */
  occurredAtNanos?: bigint;
  /** Provider-specific details, already under the `webhook.` prefix. */
  extra: Attributes;
}

/** What a provider mapper makes of one delivery. */
export interface MappedDelivery {
  provider: WebhookProvider;
  /** The provider's id of this delivery (X-GitHub-Delivery, X-Snyk-Transport-ID, a body id). */
  deliveryId?: string;
  /** A trace the delivery names, to place its records in. */
  traceRef?: string;
  records: WebhookRecord[];
}

/** Titles and summaries are bounded: they are for reading and searching, not for the full advisory. */
export const SUMMARY_MAX_CHARS = 1024;

/** low | medium | high | critical from the spellings providers use, or undefined when unknown. */
export function normalizeSeverity(severity: string | number | undefined): string | undefined {
  if (typeof severity === 'number') {
    // A bare number is read as a CVSS base score, bucketed as CVSS v3 qualitative ratings are.
    if (!Number.isFinite(severity) || severity <= 0) return undefined;
    return severity >= 9 ? 'critical' : severity >= 7 ? 'high' : severity >= 4 ? 'medium' : 'low';
  }
  switch (severity?.trim().toLowerCase()) {
    case 'critical':
      return 'critical';
    case 'high':
      return 'high';
    case 'medium':
    case 'moderate':
      return 'medium';
    case 'low':
    case 'info':
    case 'informational':
      return 'low';
    default:
      return undefined;
  }
}

export function boundedText(text: string): string {
  const chars = Array.from(text);
  return chars.length <= SUMMARY_MAX_CHARS ? text : `${chars.slice(0, SUMMARY_MAX_CHARS - 1).join('')}…`;
}

/** Distinct non-empty values, in first-seen order. */
export function distinct(values: readonly (string | null | undefined)[]): string[] {
  const out: string[] = [];
  for (const v of values) {
    const t = v?.trim();
    if (t && !out.includes(t)) out.push(t);
  }
  return out;
}

export interface RecordPlacement {
  workspace: string;
  traceId: string;
  deliveryId: string;
  receivedAtNanos: bigint;
}

/** A zero-duration span carrying the record's correlation attributes. */
export function recordSpan(provider: WebhookProvider, record: WebhookRecord, at: RecordPlacement): Span {
  const attributes: Attributes = {
    'tracehouse.record_type': 'webhook',
    'tracehouse.webhook.provider': provider,
    'tracehouse.webhook.event_type': record.eventType,
    'tracehouse.webhook.delivery_id': at.deliveryId,
    'tracehouse.webhook.advisory_ids': record.advisoryIds,
    'tracehouse.webhook.cve_ids': record.cveIds,
  };
  const set = (key: string, value: string | undefined) => {
    if (value !== undefined && value !== '') attributes[key] = value;
  };
  set('tracehouse.webhook.action', record.action);
  if (record.severity !== undefined) {
    set('tracehouse.webhook.severity', normalizeSeverity(record.severity));
    set('tracehouse.webhook.severity.original', String(record.severity));
  }
  const pkg = record.package;
  if (pkg) {
    set('tracehouse.webhook.package', pkg.name);
    set('tracehouse.webhook.package.ecosystem', pkg.ecosystem);
    if (pkg.versions && pkg.versions.length > 0) attributes['tracehouse.webhook.package.versions'] = pkg.versions;
    set('tracehouse.webhook.package.vulnerable_range', pkg.vulnerableRange);
    set('tracehouse.webhook.package.patched_version', pkg.patchedVersion);
    set('tracehouse.webhook.package.manifest_path', pkg.manifestPath);
  }
  set('tracehouse.webhook.repository', record.repository);
  set('tracehouse.webhook.url', record.url);
  if (record.summary !== undefined) set('tracehouse.webhook.summary', boundedText(record.summary));
  Object.assign(attributes, record.extra);
  const time = record.occurredAtNanos ?? at.receivedAtNanos;
  return makeSpan({
    traceId: at.traceId,
    spanId: spanIdFor(at.workspace, at.traceId, `webhook:${provider}:${at.deliveryId}:${record.key}`),
    name: `${provider} ${record.eventType}`,
    startTimeUnixNano: time,
    endTimeUnixNano: time,
    attributes,
  });
}
