/**
 * The self-hosted contract's Incidents API over the alert processor's incidents:
 *   GET  /v1/workspaces/:id/incidents                       (read)  ?status=active|resolved&severity=&sort=&page=&limit=
 *   GET  /v1/workspaces/:id/incidents/:incidentId           (read)  with related events, violations, failovers, notes, timeline
 *   POST /v1/workspaces/:id/incidents/:incidentId/notes     (admin) {text, author?}
 * `:id` must be the key's workspace (403). An incident belongs to the workspace its rule or group
 * names (processors/alert/README.md); global incidents are listed by no workspace.
 */
import { ALERT_SEVERITIES } from '../../core/alerting/api-objects';
import type { ApiRoute } from '../../core/http-api';
import { notFound } from '../../core/http-api';
import { pageHeaders, parseListQuery } from '../../core/http-list';
import { IngestError } from '../../core/ingest/problems';
import type { FieldProblem } from '../../core/ingest/problems';
import { ownWorkspace } from '../../core/own-workspace';
import { failoverActions, policyViolations, relatedEvents, windowOf } from './incidents-context';
import { addNote, notesOf } from './incidents-notes';
import type { NoteAnswer } from './incidents-notes';
import { findIncident, incidentPage, incidentTablesOf, SORT_COLUMNS, STATUS_OF } from './incidents-table';
import type { IncidentAnswer } from './incidents-table';
import type { ReadApiDeps } from './routes';

const LIST = '/v1/workspaces/:id/incidents';
const ONE = `${LIST}/:incidentId`;
const NOTES = `${ONE}/notes`;

export const INCIDENT_PATHS: readonly string[] = [LIST, ONE, NOTES];

const LIST_OPTIONS = {
  sortable: Object.keys(SORT_COLUMNS),
  defaultSort: { field: 'created_at', direction: 'desc' as const },
  filterable: ['status', 'severity'],
  // The contract's lists: limit defaults to 25 and is at most 100 (a larger one is served as 100).
  clampLimit: true,
};

/** The filters' values, checked: 422 naming the parameter. */
function checkFilters(filters: Record<string, string>): void {
  const problems: FieldProblem[] = [];
  if (filters.status !== undefined && !(filters.status in STATUS_OF)) {
    problems.push({ path: ['status'], message: `must be one of ${Object.keys(STATUS_OF).join(', ')}`, code: 'invalid_value' });
  }
  if (filters.severity !== undefined && !(ALERT_SEVERITIES as readonly string[]).includes(filters.severity)) {
    problems.push({ path: ['severity'], message: `must be one of ${ALERT_SEVERITIES.join(', ')}`, code: 'invalid_value' });
  }
  if (problems.length > 0) {
    throw new IngestError(422, 'API_VALIDATION', `invalid query: ${problems.map((p) => `${p.path[0]}: ${p.message}`).join('; ')}`, problems);
  }
}

type TimelineEntry = { at: string; type: 'firing' | 'resolved' } | ({ at: string; type: 'note' } & NoteAnswer);

/** Firing, notes and resolution in time order (a note written after the resolution comes after it). */
function timelineOf(incident: IncidentAnswer, notes: readonly NoteAnswer[]): TimelineEntry[] {
  const entries: TimelineEntry[] = [{ at: incident.created_at, type: 'firing' }];
  for (const note of notes) entries.push({ at: note.created_at, type: 'note', ...note });
  if (incident.resolved_at !== null) entries.push({ at: incident.resolved_at, type: 'resolved' });
  const rank = { firing: 0, note: 1, resolved: 2 };
  return entries.sort((a, b) => a.at.localeCompare(b.at) || rank[a.type] - rank[b.type]);
}

export function incidentRoutes({ host }: ReadApiDeps): ApiRoute[] {
  const incidentOf = async (params: Record<string, string>, workspace: string) => {
    const ws = ownWorkspace(params, workspace);
    const tables = await incidentTablesOf(host);
    const incident = await findIncident(tables, ws, params.incidentId);
    if (!incident) throw notFound(`incident "${params.incidentId.slice(0, 100)}"`);
    return { ws, tables, incident };
  };
  return [
    {
      method: 'GET',
      path: LIST,
      role: 'read',
      handle: async ({ params, workspace, query, path }) => {
        const ws = ownWorkspace(params, workspace);
        const list = parseListQuery(query, LIST_OPTIONS);
        checkFilters(list.filters);
        const tables = await incidentTablesOf(host);
        const { data, total } = await incidentPage(tables, { workspace: ws, ...list.filters, sort: list.sort, page: list.page, limit: list.limit });
        return { status: 200, body: { data, total, page: list.page, limit: list.limit }, headers: pageHeaders(total, list, path, query) };
      },
    },
    {
      method: 'GET',
      path: ONE,
      role: 'read',
      handle: async ({ params, workspace }) => {
        const { ws, tables, incident } = await incidentOf(params, workspace);
        const window = windowOf(incident, Date.now());
        const [related, violations, failovers] = await Promise.all([
          relatedEvents(tables, ws, incident.example_trace_ids),
          policyViolations(tables, ws, window),
          failoverActions(tables, ws, window),
        ]);
        const notes = notesOf(host.objects, ws, incident.incident_id);
        return {
          status: 200,
          body: {
            ...incident,
            window: { from: new Date(window.from).toISOString(), to: new Date(window.to).toISOString() },
            related_events: related,
            policy_violations: violations,
            failover_actions: failovers,
            notes,
            timeline: timelineOf(incident, notes),
          },
        };
      },
    },
    {
      method: 'POST',
      path: NOTES,
      // A note is a write kept in the object store: read keys (dashboards) stay unable to change anything.
      role: 'admin',
      handle: async ({ params, workspace, body, principal }) => {
        const { ws, incident } = await incidentOf(params, workspace);
        return { status: 201, body: await addNote(host.objects, ws, incident.incident_id, body, principal) };
      },
    },
  ];
}
