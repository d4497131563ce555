import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';
import { parseBody } from '../../core/ingest/problems';
import { isoToNanos } from '../../core/ingest/time';
import type { Attributes } from '../../core/span';
import { headerValue } from './headers';
import { distinct } from './record';
import type { MappedDelivery, WebhookRecord } from './record';

export const SNYK_EVENT_HEADER = 'x-snyk-event';
const SNYK_TRANSPORT_HEADER = 'x-snyk-transport-id';
const SNYK_TIMESTAMP_HEADER = 'x-snyk-timestamp';

const issueSchema = z.looseObject({
  id: z.string().min(1, 'must not be empty'),
  issueType: z.string().nullish(),
  pkgName: z.string().nullish(),
  pkgVersions: z.array(z.string()).nullish(),
  issueData: z
    .looseObject({
      id: z.string().nullish(),
      title: z.string().nullish(),
      severity: z.string().nullish(),
      url: z.string().nullish(),
      /** e.g. { CVE: ["CVE-2021-23337"], CWE: ["CWE-94"], GHSA: ["GHSA-35jh-r3h4-6jhm"] } */
      identifiers: z.record(z.string(), z.array(z.string())).nullish(),
      cvssScore: z.number().nullish(),
    })
    .nullish(),
});

/** The parts of a Snyk `project_snapshot` webhook read here (project, org and issues as in Snyk's v1 API). */
const snapshotSchema = z.looseObject({
  project: z
    .looseObject({
      id: z.string().nullish(),
      name: z.string().nullish(),
      type: z.string().nullish(),
      browseUrl: z.string().nullish(),
      remoteRepoUrl: z.string().nullish(),
    })
    .nullish(),
  org: z.looseObject({ id: z.string().nullish(), name: z.string().nullish() }).nullish(),
  newIssues: z.array(issueSchema),
});

/** A Snyk webhook delivery: one record per new issue of a project snapshot; `ping` is nothing to store. */
export function mapSnyk(body: unknown, headers: IncomingHttpHeaders): MappedDelivery {
  const event = headerValue(headers, SNYK_EVENT_HEADER) ?? 'project_snapshot/v0';
  const deliveryId = headerValue(headers, SNYK_TRANSPORT_HEADER);
  if (event.split('/')[0] === 'ping') return { provider: 'snyk', deliveryId, records: [] };
  const snapshot = parseBody(snapshotSchema, body);
  const sentAt = headerValue(headers, SNYK_TIMESTAMP_HEADER);
  const occurredAtNanos = sentAt !== undefined ? isoToNanos(sentAt) : undefined;
  const project = snapshot.project;
  const shared: Attributes = {};
  if (project?.name) shared['webhook.project.name'] = project.name;
  if (project?.id) shared['webhook.project.id'] = project.id;
  if (project?.browseUrl) shared['webhook.project.url'] = project.browseUrl;
  if (snapshot.org?.name) shared['webhook.org.name'] = snapshot.org.name;
  if (snapshot.org?.id) shared['webhook.org.id'] = snapshot.org.id;
  const records = snapshot.newIssues.map((issue): WebhookRecord => {
    const data = issue.issueData;
    const ids = data?.identifiers ?? {};
    const extra: Attributes = { ...shared, 'webhook.issue.id': issue.id };
    if (issue.issueType) extra['webhook.issue.type'] = issue.issueType;
    if (ids.CWE && ids.CWE.length > 0) extra['webhook.issue.cwe_ids'] = distinct(ids.CWE);
    if (typeof data?.cvssScore === 'number') extra['webhook.issue.cvss_score'] = data.cvssScore;
    return {
      key: issue.id,
      eventType: event,
      severity: data?.severity ?? undefined,
      // A Snyk project's type is its package manager (npm, maven, pip, ...), i.e. the ecosystem.
      package: { name: issue.pkgName ?? undefined, ecosystem: project?.type ?? undefined, versions: issue.pkgVersions ?? undefined },
      advisoryIds: distinct([data?.id ?? issue.id, ...(ids.GHSA ?? [])]),
      cveIds: distinct(ids.CVE ?? []),
      repository: project?.remoteRepoUrl ?? project?.name ?? undefined,
      url: data?.url ?? undefined,
      summary: data?.title ?? undefined,
      occurredAtNanos,
      extra,
    };
  });
  return { provider: 'snyk', deliveryId, records };
}
