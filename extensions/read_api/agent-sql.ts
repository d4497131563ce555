/**
 * SQL text of the agent task, conversation and verification routes: every value is a quoted
 * literal (never spliced unquoted), every table is named in the store's database.
 */
import type { TraceStore } from '../../core/component';

/** The spans table the clickhouse exporter writes (its default `table`). */
export const AGENT_SPANS_TABLE = 'otel_traces';
/** The exporter's trace-id lookup (first and last second of each trace), kept by a materialized view. */
export const AGENT_TRACE_TIMES_TABLE = `${AGENT_SPANS_TABLE}_trace_id_ts`;

/** Calls returned per task or conversation at most (per-request cost stays bounded). */
export const MAX_CALLS = 1000;
/** Detection records and status marks read per task at most. */
export const MAX_RECORDS = 1000;

export function sqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function sqlIdent(name: string): string {
  return '`' + name.replace(/\\/g, '\\\\').replace(/`/g, '\\`') + '`';
}

export function tableOf(store: TraceStore, table: string): string {
  return `${sqlIdent(store.database)}.${sqlIdent(table)}`;
}

/** A DateTime64(9) literal of epoch milliseconds (UTC, whatever the server's time zone). */
export function sqlTime(ms: number): string {
  return `fromUnixTimestamp64Milli(toInt64(${Math.trunc(ms)}), 'UTC')`;
}

/** Attribute `key` of SpanAttributes (key is a constant of this code, quoted anyway). */
export function attr(key: string): string {
  return `SpanAttributes[${sqlString(key)}]`;
}

// What each stored span is to the agent routes.
export const RECORD_TYPE = attr('tracehouse.record_type');
export const FINDING_RECORD = 'agent_finding';
export const STATUS_RECORD = 'task_status';
/** A model or tool call (never an attempt child span, an agent wrapper or a record). */
export const IS_CALL = `(GenAIOperation IN ('chat', 'text_completion', 'generate_content', 'embeddings', 'execute_tool') AND ${RECORD_TYPE} = '')`;
export const IS_TOOL = `GenAIOperation = 'execute_tool'`;
/** Spans that make their trace an agent task: a gateway task id, or an agent's OTLP spans. */
export const IS_TASK_SPAN = `(${attr('tracehouse.task')} != '' OR GenAIOperation IN ('invoke_agent', 'create_agent') OR ${attr('gen_ai.agent.name')} != '' OR ${attr('gen_ai.agent.id')} != '')`;
