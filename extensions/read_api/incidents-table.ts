/**
 * Reads the alert processor's incidents table (found through the host's `alerting` capability,
 * never by importing the processor): one page of a workspace's incidents with the filter, sort and
 * limit done in ClickHouse, their total, and one incident by id. FINAL makes every read see the
 * latest version of each incident, before any merge.
 */
import type { IncidentTables } from '../../core/alerting/capability';
import type { Host } from '../../core/component';
import { IngestError } from '../../core/ingest/problems';
import { isoOf, str, tableOf } from './incidents-sql';

/** `?status=` as the contract says it, and the stored status it means. */
export const STATUS_OF: Readonly<Record<string, string>> = { active: 'firing', resolved: 'resolved' };

/** The sort fields of the list and the column (or expression) each sorts by. */
export const SORT_COLUMNS: Readonly<Record<string, string>> = {
  created_at: 'first_seen',
  updated_at: 'updated_at',
  // By gravity, not alphabetically.
  severity: "multiIf(severity = 'critical', 4, severity = 'high', 3, severity = 'medium', 2, severity = 'low', 1, 0)",
};

/** An incident as the API answers it (list items and the head of the detail). */
export interface IncidentAnswer {
  incident_id: string;
  status: 'active' | 'resolved';
  severity: string;
  created_at: string;
  updated_at: string;
  last_seen: string;
  resolved_at: string | null;
  rule: { id: string; name: string };
  condition: string;
  value: number;
  threshold: number;
  group: Record<string, string>;
  example_trace_ids: string[];
}

interface IncidentRow {
  incident_id: string;
  rule_id: string;
  rule_name: string;
  severity: string;
  status: string;
  group: Record<string, string>;
  condition: string;
  value: number | string;
  threshold: number | string;
  first_seen_ms: number | string;
  last_seen_ms: number | string;
  resolved_at_ms: number | string | null;
  updated_at_ms: number | string;
  example_trace_ids: string[];
}

const COLUMNS = `incident_id, rule_id, rule_name, severity, status, \`group\`, condition, value, threshold,
  toUnixTimestamp64Milli(first_seen) AS first_seen_ms, toUnixTimestamp64Milli(last_seen) AS last_seen_ms,
  toUnixTimestamp64Milli(resolved_at) AS resolved_at_ms, toUnixTimestamp64Milli(updated_at) AS updated_at_ms, example_trace_ids`;

function answerOf(row: IncidentRow): IncidentAnswer {
  return {
    incident_id: row.incident_id,
    status: row.status === 'firing' ? 'active' : 'resolved',
    severity: row.severity,
    created_at: isoOf(row.first_seen_ms) as string,
    updated_at: isoOf(row.updated_at_ms) as string,
    last_seen: isoOf(row.last_seen_ms) as string,
    resolved_at: isoOf(row.resolved_at_ms),
    rule: { id: row.rule_id, name: row.rule_name },
    condition: row.condition,
    value: Number(row.value),
    threshold: Number(row.threshold),
    group: row.group,
    example_trace_ids: row.example_trace_ids,
  };
}

/** The tables, or 503 when no alert processor with a store runs here. */
export async function incidentTablesOf(host: Host): Promise<IncidentTables> {
  const tables = await host.capability('alerting')?.incidentTables();
  if (!tables) {
    throw new IngestError(503, 'API_NO_INCIDENTS', 'incidents need the alert processor with a clickhouse exporter in a pipeline of this daemon', undefined, 5);
  }
  return tables;
}

export interface IncidentPageQuery {
  workspace: string;
  status?: string;
  severity?: string;
  sort: { field: string; direction: 'asc' | 'desc' };
  page: number;
  limit: number;
}

export async function incidentPage(tables: IncidentTables, query: IncidentPageQuery): Promise<{ data: IncidentAnswer[]; total: number }> {
  const table = tableOf(tables.store.database, tables.incidents);
  const where = [`workspace = ${str(query.workspace)}`];
  if (query.status !== undefined) where.push(`status = ${str(STATUS_OF[query.status])}`);
  if (query.severity !== undefined) where.push(`severity = ${str(query.severity)}`);
  const filter = where.join(' AND ');
  const direction = query.sort.direction === 'asc' ? 'ASC' : 'DESC';
  // Ties (same severity, same millisecond) keep a stable order across pages.
  const order = `${SORT_COLUMNS[query.sort.field]} ${direction}, first_seen ${direction}, incident_id ${direction}`;
  const offset = (query.page - 1) * query.limit;
  const [rows, counted] = await Promise.all([
    tables.store.selectRows<IncidentRow>(`SELECT ${COLUMNS} FROM ${table} FINAL WHERE ${filter} ORDER BY ${order} LIMIT ${query.limit} OFFSET ${offset}`),
    tables.store.selectRows<{ total: number | string }>(`SELECT count() AS total FROM ${table} FINAL WHERE ${filter}`),
  ]);
  return { data: rows.map(answerOf), total: Number(counted[0]?.total ?? 0) };
}

/** Incident ids are 32 hex digits (a hash); anything else names no incident. */
const INCIDENT_ID = /^[0-9a-f]{32}$/;

/** The workspace's incident, or undefined (also for another workspace's id). */
export async function findIncident(tables: IncidentTables, workspace: string, id: string): Promise<IncidentAnswer | undefined> {
  if (!INCIDENT_ID.test(id)) return undefined;
  const table = tableOf(tables.store.database, tables.incidents);
  const rows = await tables.store.selectRows<IncidentRow>(`SELECT ${COLUMNS} FROM ${table} FINAL WHERE incident_id = ${str(id)} AND workspace = ${str(workspace)} LIMIT 1`);
  return rows[0] ? answerOf(rows[0]) : undefined;
}
