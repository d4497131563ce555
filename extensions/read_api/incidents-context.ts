/**
 * What an incident's detail shows around it, read from the spans table of its workspace, every
 * list bounded:
 * - related events: the spans of its example traces (name, time, status, model, verdict);
 * - policy violations: spans of its time window that the gateway's preflight blocked or that
 *   evaluate_rules flagged;
 * - failover actions: gateway calls of its window whose attempts went to more than one upstream.
 * The window runs from WINDOW_BEFORE_MS before the incident opened (a windowed condition looks
 * back before it fires) to when it resolved, or now while it fires.
 */
import type { IncidentTables } from '../../core/alerting/capability';
import type { IncidentAnswer } from './incidents-table';
import { isoOf, msTime, str, strList, tableOf } from './incidents-sql';

export const WINDOW_BEFORE_MS = 60 * 60 * 1000;
export const MAX_SPANS_PER_TRACE = 20;
export const MAX_VIOLATIONS = 50;
export const MAX_FAILOVERS = 50;
const MAX_FINDINGS = 10;

export interface IncidentWindow {
  from: number;
  to: number;
}

export function windowOf(incident: IncidentAnswer, now: number): IncidentWindow {
  const opened = Date.parse(incident.created_at);
  const closed = incident.resolved_at !== null ? Date.parse(incident.resolved_at) : now;
  return { from: opened - WINDOW_BEFORE_MS, to: Math.max(closed, opened) };
}

interface SpanRow {
  TraceId: string;
  SpanId: string;
  ParentSpanId: string;
  SpanName: string;
  time_ms: number | string;
  duration_ns: number | string;
  StatusCode: string;
  GenAIRequestModel: string;
  Verdict: string;
  Project: string;
}

const SPAN_COLUMNS = `TraceId, SpanId, ParentSpanId, SpanName, toUnixTimestamp64Milli(Timestamp) AS time_ms, Duration AS duration_ns,
  StatusCode, GenAIRequestModel, Verdict, Project`;

function spanFields(row: SpanRow) {
  return {
    span_id: row.SpanId,
    parent_span_id: row.ParentSpanId || null,
    name: row.SpanName,
    time: isoOf(row.time_ms),
    duration_ms: Number(row.duration_ns) / 1e6,
    status: row.StatusCode,
    model: row.GenAIRequestModel || null,
    verdict: row.Verdict || null,
    project: row.Project || null,
  };
}

/** The example traces, each with its first spans (a trace whose spans expired is listed empty). */
export async function relatedEvents(tables: IncidentTables, workspace: string, traceIds: readonly string[]) {
  if (traceIds.length === 0) return [];
  const rows = await tables.store.selectRows<SpanRow>(
    `SELECT ${SPAN_COLUMNS} FROM ${tableOf(tables.store.database, tables.spans)}
     WHERE Workspace = ${str(workspace)} AND TraceId IN ${strList(traceIds)}
     ORDER BY Timestamp, SpanId LIMIT ${MAX_SPANS_PER_TRACE} BY TraceId`,
  );
  return traceIds.map((traceId) => ({ trace_id: traceId, spans: rows.filter((r) => r.TraceId === traceId).map(spanFields) }));
}

interface ViolationRow extends SpanRow {
  blocked: number | string;
  reason: string;
  severity: string;
  preflight_findings: string;
  findings: string;
}

/** A findings attribute (JSON array) as a bounded list; anything unreadable is left out. */
function findingsOf(text: string): unknown[] {
  if (text === '') return [];
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed.slice(0, MAX_FINDINGS) : [];
  } catch {
    return [];
  }
}

export async function policyViolations(tables: IncidentTables, workspace: string, window: IncidentWindow) {
  const rows = await tables.store.selectRows<ViolationRow>(
    `SELECT ${SPAN_COLUMNS},
       SpanAttributes['tracehouse.proxy.preflight.blocked'] = 'true' AS blocked,
       SpanAttributes['tracehouse.proxy.preflight.reason'] AS reason,
       SpanAttributes['tracehouse.verdict.severity'] AS severity,
       SpanAttributes['tracehouse.proxy.preflight.findings'] AS preflight_findings,
       SpanAttributes['tracehouse.findings'] AS findings
     FROM ${tableOf(tables.store.database, tables.spans)}
     WHERE Workspace = ${str(workspace)} AND Timestamp >= ${msTime(window.from)} AND Timestamp <= ${msTime(window.to)}
       AND (Verdict = 'flagged' OR SpanAttributes['tracehouse.proxy.preflight.blocked'] = 'true')
     ORDER BY Timestamp DESC, SpanId LIMIT ${MAX_VIOLATIONS}`,
  );
  return rows.map((row) => {
    const blocked = Number(row.blocked) === 1 || String(row.blocked) === 'true';
    return {
      kind: blocked ? 'preflight_blocked' : 'flagged',
      trace_id: row.TraceId,
      ...spanFields(row),
      severity: row.severity || null,
      ...(blocked ? { reason: row.reason || null } : {}),
      findings: findingsOf(blocked ? row.preflight_findings : row.findings),
    };
  });
}

interface AttemptGroupRow {
  TraceId: string;
  ParentSpanId: string;
  attempts: [number | string, string, string, string][];
}

interface CallRow extends SpanRow {
  upstream: string;
  route: string;
  http_status: string;
}

export async function failoverActions(tables: IncidentTables, workspace: string, window: IncidentWindow) {
  const spans = tableOf(tables.store.database, tables.spans);
  const inWindow = `Workspace = ${str(workspace)} AND Timestamp >= ${msTime(window.from)} AND Timestamp <= ${msTime(window.to)}`;
  // The gateway's attempt spans (children of a call), grouped by call: more than one upstream is a failover.
  const groups = await tables.store.selectRows<AttemptGroupRow>(
    `SELECT TraceId, ParentSpanId,
       arraySort(x -> x.1, groupArray((toUInt32OrZero(SpanAttributes['tracehouse.proxy.attempt']), SpanAttributes['tracehouse.proxy.upstream'],
         SpanAttributes['http.response.status_code'], SpanAttributes['error.type']))) AS attempts
     FROM ${spans}
     WHERE ${inWindow} AND ParentSpanId != '' AND SpanAttributes['tracehouse.proxy.attempt'] != ''
     GROUP BY TraceId, ParentSpanId
     HAVING uniqExact(SpanAttributes['tracehouse.proxy.upstream']) > 1
     ORDER BY min(Timestamp) DESC, ParentSpanId LIMIT ${MAX_FAILOVERS}`,
  );
  if (groups.length === 0) return [];
  const calls = await tables.store.selectRows<CallRow>(
    `SELECT ${SPAN_COLUMNS}, SpanAttributes['tracehouse.proxy.upstream'] AS upstream, SpanAttributes['tracehouse.proxy.route'] AS route,
       SpanAttributes['http.response.status_code'] AS http_status
     FROM ${spans}
     WHERE Workspace = ${str(workspace)} AND TraceId IN ${strList([...new Set(groups.map((g) => g.TraceId))])} AND SpanId IN ${strList(groups.map((g) => g.ParentSpanId))}`,
  );
  const callOf = new Map(calls.map((c) => [`${c.TraceId}/${c.SpanId}`, c]));
  return groups.map((group) => {
    const call = callOf.get(`${group.TraceId}/${group.ParentSpanId}`);
    const attempts = group.attempts.map(([n, upstream, status, error]) => ({
      attempt: Number(n),
      upstream,
      status: status === '' ? null : Number(status),
      error: error || null,
    }));
    return {
      trace_id: group.TraceId,
      span_id: group.ParentSpanId,
      time: call ? isoOf(call.time_ms) : null,
      name: call?.SpanName ?? null,
      model: call?.GenAIRequestModel || null,
      route: call?.route || null,
      upstreams_tried: [...new Set(attempts.map((a) => a.upstream))],
      final_upstream: call?.upstream || attempts[attempts.length - 1]?.upstream || null,
      status: call?.StatusCode ?? null,
      http_status: call?.http_status ? Number(call.http_status) : null,
      attempts,
    };
  });
}
