/**
 * The incidents table: every state change of an incident is one row version, and the
 * ReplacingMergeTree keeps the latest per incident_id (reads through the admin endpoint run with
 * final = 1, so they see it before any merge). It is also what makes incidents survive a restart.
 * The `workspace` column (incidentWorkspace; '' for a global incident) is what the read API's
 * /v1/workspaces/:id/incidents lists by; tables made before it get it through ALTER TABLE, its
 * default taking the workspace of older rows from their group.
 */
import type { Severity } from '../../core/evaluation';
import type { TraceStore } from '../../core/component';
import type { Incident, IncidentStatus } from './incidents';

function ident(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

/** Older rows (written before the column existed) belong to the workspace their group names, if any. */
const WORKSPACE_COLUMN = "workspace String DEFAULT `group`['workspace']";

/** Adds the workspace column to a table made before it existed (a no-op once it is there). */
export function incidentsWorkspaceColumnDdl(database: string, table: string): string {
  return `ALTER TABLE ${ident(database)}.${ident(table)} ADD COLUMN IF NOT EXISTS ${WORKSPACE_COLUMN}`;
}

export function incidentsTableDdl(database: string, table: string): string {
  return `CREATE TABLE IF NOT EXISTS ${ident(database)}.${ident(table)} (
    incident_id String,
    rule_id String,
    rule_name String,
    severity LowCardinality(String),
    status LowCardinality(String),
    group_key String,
    \`group\` Map(String, String),
    condition String,
    value Float64,
    threshold Float64,
    first_seen DateTime64(3),
    last_seen DateTime64(3),
    resolved_at Nullable(DateTime64(3)),
    example_trace_ids Array(String),
    updated_at DateTime64(3),
    ${WORKSPACE_COLUMN}
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY incident_id`;
}

/** One row as JSONEachRow takes it: DateTime64(3) as integer milliseconds. */
function toRow(incident: Incident): Record<string, unknown> {
  return {
    incident_id: incident.id,
    rule_id: incident.ruleId,
    rule_name: incident.ruleName,
    severity: incident.severity,
    status: incident.status,
    group_key: incident.groupKey,
    group: incident.group,
    condition: incident.condition,
    // JSON has no NaN or Infinity; an aggregate over nothing is not a value to store.
    value: Number.isFinite(incident.value) ? incident.value : 0,
    threshold: incident.threshold,
    first_seen: incident.firstSeen,
    last_seen: incident.lastSeen,
    resolved_at: incident.resolvedAt ?? null,
    example_trace_ids: incident.exampleTraceIds,
    updated_at: incident.updatedAt,
    workspace: incident.workspace ?? '',
  };
}

interface StoredRow {
  incident_id: string;
  rule_id: string;
  rule_name: string;
  severity: string;
  status: string;
  group_key: string;
  group: Record<string, string>;
  condition: string;
  value: number;
  threshold: number;
  first_seen_ms: number | string;
  last_seen_ms: number | string;
  updated_at_ms: number | string;
  example_trace_ids: string[];
  workspace: string;
}

export class IncidentStore {
  constructor(
    private readonly store: TraceStore,
    private readonly table: string,
  ) {}

  async ensureTable(): Promise<void> {
    await this.store.command(incidentsTableDdl(this.store.database, this.table));
    await this.store.command(incidentsWorkspaceColumnDdl(this.store.database, this.table));
  }

  write(incidents: readonly Incident[]): Promise<void> {
    return this.store.insertRows(this.table, incidents.map(toRow));
  }

  /** The incidents whose latest version is firing. */
  async loadFiring(signal?: AbortSignal): Promise<Incident[]> {
    const rows = await this.store.selectRows<StoredRow>(
      `SELECT incident_id, rule_id, rule_name, severity, status, group_key, \`group\`, condition, value, threshold,
        toUnixTimestamp64Milli(first_seen) AS first_seen_ms, toUnixTimestamp64Milli(last_seen) AS last_seen_ms,
        toUnixTimestamp64Milli(updated_at) AS updated_at_ms, example_trace_ids, workspace
      FROM ${ident(this.store.database)}.${ident(this.table)}
      WHERE status = 'firing'`,
      signal,
    );
    return rows.map((row) => ({
      id: row.incident_id,
      ruleId: row.rule_id,
      ruleName: row.rule_name,
      severity: row.severity as Severity,
      status: row.status as IncidentStatus,
      groupKey: row.group_key,
      group: row.group,
      condition: row.condition,
      value: Number(row.value),
      threshold: Number(row.threshold),
      firstSeen: Number(row.first_seen_ms),
      lastSeen: Number(row.last_seen_ms),
      exampleTraceIds: row.example_trace_ids,
      updatedAt: Number(row.updated_at_ms),
      workspace: row.workspace,
    }));
  }
}
