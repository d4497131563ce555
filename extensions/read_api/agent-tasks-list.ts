/**
 * GET /api/v1/tasks: the caller's tasks in a time range (default the last 7 days), filtered by
 * status, conversation, user and whether failures were detected, paged in SQL. The query reads
 * the workspace's spans of that range only (partitions by day); conversation and user filters
 * first find their traces through the attribute-value bloom filter.
 */
import type { TraceStore } from '../../core/component';
import { parseListQuery } from '../../core/http-list';
import { IngestError } from '../../core/ingest/problems';
import { AGENT_SPANS_TABLE, attr, sqlString, sqlTime, tableOf } from './agent-sql';
import { groupedPage, oneOf, pageAnswer, textFilter } from './agent-list-page';
import { HAS_FAILURES_OF_ROW, STATUS_OF_ROW, TASK_SUMMARY_COLUMNS, taskOfRow, taskSummaryColumns } from './agent-tasks-sql';
import type { TaskSummaryRow } from './agent-tasks-sql';
import { parseTimeRange } from './agent-time-range';

export const TASK_FILTERS = ['status', 'conversation_id', 'user_id', 'has_failures', 'from', 'to'] as const;
/**
 * The TraceLM document names no filter parameters: these are snake_case like the answers' fields,
 * and their camelCase spellings are accepted too.
 */
const FILTER_ALIASES: Readonly<Record<string, (typeof TASK_FILTERS)[number]>> = { conversationId: 'conversation_id', userId: 'user_id', hasFailures: 'has_failures' };

/** The query with camelCase filter names as their snake_case ones; 422 when both spellings are sent. */
export function canonicalTaskQuery(query: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(query)) {
    const name = FILTER_ALIASES[key] ?? key;
    if (name in out) {
      throw new IngestError(422, 'API_VALIDATION', `invalid query: ${name}: sent twice (as ${name} and ${key})`, [{ path: [name], message: `sent twice (as ${name} and ${key})`, code: 'invalid_value' }]);
    }
    out[name] = value;
  }
  return out;
}
const SORTABLE = ['started_at', 'ended_at', 'cost_usd', 'total_tokens', 'llm_calls'] as const;
/** Each sort field: what it orders by, and the summary columns that reads. */
const SORTS: Record<(typeof SORTABLE)[number], { by: string; needs: (keyof TaskSummaryRow)[] }> = {
  started_at: { by: 'started_ms', needs: ['started_ms'] },
  ended_at: { by: 'ended_ms', needs: ['ended_ms'] },
  cost_usd: { by: 'cost_usd', needs: ['cost_usd'] },
  total_tokens: { by: '(input_tokens + output_tokens)', needs: ['input_tokens', 'output_tokens'] },
  llm_calls: { by: 'llm_calls', needs: ['llm_calls'] },
};

export interface TaskListFilters {
  status?: 'running' | 'completed' | 'failed';
  conversationId?: string;
  userId?: string;
  hasFailures?: boolean;
}

export function parseTaskFilters(query: Record<string, string>): TaskListFilters {
  const hasFailures = oneOf('has_failures', query.has_failures, ['true', 'false'] as const);
  return {
    status: oneOf('status', query.status, ['running', 'completed', 'failed'] as const),
    conversationId: textFilter('conversation_id', query.conversation_id),
    userId: textFilter('user_id', query.user_id),
    hasFailures: hasFailures === undefined ? undefined : hasFailures === 'true',
  };
}

/** The workspace's spans in [fromMs, toMs). */
function workspaceSpansIn(workspace: string, range: { fromMs: number; toMs: number }): string {
  return `Workspace = ${sqlString(workspace)} AND Timestamp >= ${sqlTime(range.fromMs)} AND Timestamp < ${sqlTime(range.toMs)}`;
}

/**
 * The grouped query of the workspace's tasks in [fromMs, toMs) matching the filters (no
 * ORDER/LIMIT), with `columns` of the summary (all by default; the filters' own are added).
 */
export function taskListSql(store: TraceStore, workspace: string, range: { fromMs: number; toMs: number }, filters: TaskListFilters, columns?: readonly (keyof TaskSummaryRow)[]): string {
  const spans = tableOf(store, AGENT_SPANS_TABLE);
  const inRange = workspaceSpansIn(workspace, range);
  const where = [inRange];
  const narrow = (key: string, value: string) => where.push(`TraceId IN (SELECT DISTINCT TraceId FROM ${spans} WHERE ${inRange} AND ${attr(key)} = ${sqlString(value)})`);
  if (filters.conversationId !== undefined) narrow('gen_ai.conversation.id', filters.conversationId);
  if (filters.userId !== undefined) narrow('enduser.id', filters.userId);
  const having = ['task_spans > 0'];
  const needed = new Set<keyof TaskSummaryRow>(columns ?? []);
  if (filters.status !== undefined) {
    having.push(`${STATUS_OF_ROW} = ${sqlString(filters.status)}`);
    needed.add('status_mark');
  }
  if (filters.hasFailures !== undefined) {
    having.push(filters.hasFailures ? HAS_FAILURES_OF_ROW : `NOT ${HAS_FAILURES_OF_ROW}`);
    needed.add('detections').add('failed_calls');
  }
  const select = columns === undefined ? TASK_SUMMARY_COLUMNS : taskSummaryColumns([...needed, 'trace_id', 'task_spans']);
  return `SELECT\n  ${select}\nFROM ${spans}\nWHERE ${where.join(' AND ')}\nGROUP BY TraceId\nHAVING ${having.join(' AND ')}`;
}

/**
 * A page of tasks, in two reads: the page's traces and the count from the few aggregates the
 * sort and filters need (most of a task's summary reads attribute maps), then the whole summary
 * of those traces only.
 */
export async function listTasks(store: TraceStore, workspace: string, sent: Record<string, string>, path: string, signal?: AbortSignal) {
  const query = canonicalTaskQuery(sent);
  const list = parseListQuery(query, { sortable: SORTABLE, defaultSort: { field: 'started_at', direction: 'desc' }, filterable: TASK_FILTERS });
  const range = parseTimeRange(query);
  const field = list.sort.field as (typeof SORTABLE)[number];
  const keys = taskListSql(store, workspace, range, parseTaskFilters(query), [...SORTS[field].needs, 'first_ms', 'last_ms']);
  const order = `${SORTS[field].by} ${list.sort.direction === 'asc' ? 'ASC' : 'DESC'}, trace_id`;
  const { rows: page, total } = await groupedPage<Pick<TaskSummaryRow, 'trace_id' | 'first_ms' | 'last_ms'>>(store, keys, order, list, signal);
  if (page.length === 0) return pageAnswer([], total, list, path, query);
  // The page's traces lie within their first and last spans: the newest tasks read today's partition only.
  const within = {
    fromMs: Math.max(range.fromMs, Math.min(...page.map((row) => Number(row.first_ms)))),
    toMs: Math.min(range.toMs, Math.max(...page.map((row) => Number(row.last_ms))) + 1),
  };
  const summaries = await store.selectRows<TaskSummaryRow>(
    `SELECT\n  ${TASK_SUMMARY_COLUMNS}\nFROM ${tableOf(store, AGENT_SPANS_TABLE)}\nWHERE ${workspaceSpansIn(workspace, within)} AND TraceId IN (${page.map((row) => sqlString(row.trace_id)).join(', ')})\nGROUP BY TraceId`,
    signal,
  );
  const byTrace = new Map(summaries.map((row) => [row.trace_id, row]));
  const tasks = page.flatMap((row) => {
    const summary = byTrace.get(row.trace_id);
    return summary ? [taskOfRow(summary)] : [];
  });
  return pageAnswer(tasks, total, list, path, query);
}
