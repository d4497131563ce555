/**
 * The stored spans of one trace of the caller's workspace, read back as spans (for detection and
 * verification) and as rows (for answers). A lookup goes through the exporter's trace-id table
 * (the trace's first and last second) and the TraceId bloom filter, so it never scans the spans
 * table; what is read per trace is bounded.
 */
import type { TraceStore } from '../../core/component';
import { makeSpan } from '../../core/span';
import type { Attributes, Span, SpanKind, StatusCode } from '../../core/span';
import { AGENT_SPANS_TABLE, AGENT_TRACE_TIMES_TABLE, sqlString, sqlTime, tableOf } from './agent-sql';

export const TRACE_ID = /^[0-9a-f]{32}$/;

/** One stored span as the agent routes read it. */
export interface StoredSpanRow {
  start_ns: string;
  TraceId: string;
  SpanId: string;
  ParentSpanId: string;
  SpanName: string;
  SpanKind: string;
  ServiceName: string;
  ResourceAttributes: Record<string, string>;
  ScopeName: string;
  SpanAttributes: Record<string, string>;
  Duration: string;
  StatusCode: string;
  StatusMessage: string;
  GenAIOperation: string;
  GenAIProvider: string;
  GenAIRequestModel: string;
  GenAIResponseModel: string;
  InputTokens: string;
  OutputTokens: string;
  CostUsd: number;
  Verdict: string;
}

export const SPAN_COLUMNS =
  'toString(toUnixTimestamp64Nano(Timestamp)) AS start_ns, TraceId, SpanId, ParentSpanId, SpanName, SpanKind, ServiceName, ResourceAttributes, ScopeName, SpanAttributes, toString(Duration) AS Duration, StatusCode, StatusMessage, GenAIOperation, GenAIProvider, GenAIRequestModel, GenAIResponseModel, InputTokens, OutputTokens, CostUsd, Verdict';

export interface TraceWindow {
  traceId: string;
  /** Epoch milliseconds of the trace's first and last stored second. */
  fromMs: number;
  toMs: number;
}

/** The time windows of those of `traceIds` stored (trace-id table), in the order asked. */
export async function traceWindows(store: TraceStore, traceIds: readonly string[], signal?: AbortSignal): Promise<TraceWindow[]> {
  if (traceIds.length === 0) return [];
  const rows = await store.selectRows<{ TraceId: string; first: string; last: string }>(
    `SELECT TraceId, toUnixTimestamp(min(Start)) AS first, toUnixTimestamp(max(End)) AS last FROM ${tableOf(store, AGENT_TRACE_TIMES_TABLE)} WHERE TraceId IN (${traceIds.map(sqlString).join(', ')}) GROUP BY TraceId`,
    signal,
  );
  return traceIds.flatMap((traceId) => {
    const row = rows.find((r) => r.TraceId === traceId);
    return row ? [{ traceId, fromMs: Number(row.first) * 1000, toMs: (Number(row.last) + 1) * 1000 }] : [];
  });
}

/** The trace's time window from the trace-id table, undefined when nothing of it is stored. */
export async function traceWindow(store: TraceStore, traceId: string, signal?: AbortSignal): Promise<TraceWindow | undefined> {
  return (await traceWindows(store, [traceId], signal))[0];
}

/** WHERE clause of one trace of one workspace, bounded to its stored window. */
export function traceWhere(workspace: string, window: TraceWindow): string {
  return `Workspace = ${sqlString(workspace)} AND TraceId = ${sqlString(window.traceId)} AND Timestamp >= ${sqlTime(window.fromMs)} AND Timestamp < ${sqlTime(window.toMs)}`;
}

/** Rows of the trace matching `filter` (SQL over the spans table), in time order, at most `limit`. */
export function traceRows(store: TraceStore, workspace: string, window: TraceWindow, filter: string, limit: number, signal?: AbortSignal): Promise<StoredSpanRow[]> {
  return store.selectRows<StoredSpanRow>(
    `SELECT ${SPAN_COLUMNS} FROM ${tableOf(store, AGENT_SPANS_TABLE)} WHERE ${traceWhere(workspace, window)} AND ${filter} ORDER BY Timestamp, SpanId LIMIT ${Math.trunc(limit)}`,
    signal,
  );
}

const KINDS: Record<string, SpanKind> = { Internal: 'internal', Server: 'server', Client: 'client', Producer: 'producer', Consumer: 'consumer' };
const STATUSES: Record<string, StatusCode> = { Ok: 'ok', Error: 'error' };
// Stored attributes are text: these are numbers again, as the checks that read them expect.
const NUMERIC = /^(gen_ai\.usage\.|tracehouse\.cost_usd$|tracehouse\.confidence$|tracehouse\.proxy\.ttft_ms$|tracehouse\.proxy\.attempts$|http\.response\.status_code$)/;
const LISTS = new Set(['gen_ai.response.finish_reasons']);

function typedAttributes(stored: Record<string, string>): Attributes {
  const out: Attributes = {};
  for (const [key, text] of Object.entries(stored)) {
    if (NUMERIC.test(key) && text.trim() !== '' && Number.isFinite(Number(text))) out[key] = Number(text);
    else if (LISTS.has(key) && text.startsWith('[')) out[key] = listOf(text) ?? text;
    else out[key] = text;
  }
  return out;
}

function listOf(text: string): string[] | undefined {
  try {
    const parsed = JSON.parse(text) as unknown;
    return Array.isArray(parsed) && parsed.every((v) => typeof v === 'string') ? (parsed as string[]) : undefined;
  } catch {
    return undefined;
  }
}

/** A stored row as a span again (attributes typed back where checks need numbers and lists). */
export function spanOfRow(row: StoredSpanRow): Span {
  const start = BigInt(row.start_ns);
  return makeSpan({
    traceId: row.TraceId,
    spanId: row.SpanId,
    parentSpanId: row.ParentSpanId,
    name: row.SpanName,
    kind: KINDS[row.SpanKind] ?? 'unspecified',
    startTimeUnixNano: start,
    endTimeUnixNano: start + BigInt(row.Duration),
    status: { code: STATUSES[row.StatusCode] ?? 'unset', message: row.StatusMessage },
    attributes: typedAttributes(row.SpanAttributes),
    resource: { attributes: { ...row.ResourceAttributes }, droppedAttributesCount: 0, schemaUrl: '' },
    scope: { name: row.ScopeName, version: '', attributes: {}, droppedAttributesCount: 0 },
  });
}

/** Epoch milliseconds of a row's start, as ISO 8601. */
export function isoOfNanos(nanos: string | bigint): string {
  return new Date(Number(BigInt(nanos) / 1_000_000n)).toISOString();
}
