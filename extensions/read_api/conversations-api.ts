/**
 * The proxy product's conversation API: conversations (`gen_ai.conversation.id`, the gateway's
 * X-Conversation-ID) with their tasks, and their context failures. `read` role; a key sees its
 * workspace only. Lists read the range `from`..`to` (default the last 7 days); a conversation's
 * detail looks back 93 days unless given a range, finding its spans through the attribute-value
 * bloom filter; its calls are bounded to 1,000.
 */
import type { TraceStore } from '../../core/component';
import type { ApiRoute } from '../../core/http-api';
import { notFound } from '../../core/http-api';
import { parseListQuery } from '../../core/http-list';
import { IngestError } from '../../core/ingest/problems';
import { groupedPage, pageAnswer, textFilter } from './agent-list-page';
import { AGENT_SPANS_TABLE, attr, IS_CALL, IS_TASK_SPAN, MAX_CALLS, sqlString, sqlTime, tableOf } from './agent-sql';
import { SPAN_COLUMNS } from './agent-stored-spans';
import type { StoredSpanRow } from './agent-stored-spans';
import { storeOf } from './agent-tasks-api';
import { taskListSql } from './agent-tasks-list';
import { taskOfRow } from './agent-tasks-sql';
import type { TaskSummaryRow } from './agent-tasks-sql';
import { MAX_RANGE_MS, parseTimeRange } from './agent-time-range';
import type { TimeRange } from './agent-time-range';
import { contextFailures } from './conversations-context';
import type { ReadApiDeps } from './routes';

export const CONVERSATION_PATHS = ['/api/v1/conversations', '/api/v1/conversations/:id', '/api/v1/conversations/:id/context-failures'] as const;

const CONVERSATION = attr('gen_ai.conversation.id');
const MAX_TASKS = 1000;
const SORTABLE = ['last_activity_at', 'started_at', 'cost_usd', 'total_tokens'] as const;
const SORT_COLUMN: Record<(typeof SORTABLE)[number], string> = { last_activity_at: 'last_ms', started_at: 'first_ms', cost_usd: 'cost_usd', total_tokens: '(input_tokens + output_tokens)' };

interface ConversationRow {
  conversation_id: string;
  tasks: string;
  calls: string;
  failed_calls: string;
  input_tokens: string;
  output_tokens: string;
  cost_usd: number;
  users: string[];
  first_ms: string;
  last_ms: string;
}

const COLUMNS = [
  `${CONVERSATION} AS conversation_id`,
  `uniqExactIf(if(${attr('tracehouse.task')} != '', ${attr('tracehouse.task')}, TraceId), ${IS_TASK_SPAN}) AS tasks`,
  `countIf(${IS_CALL}) AS calls`,
  `countIf(${IS_CALL} AND StatusCode = 'Error') AS failed_calls`,
  `sumIf(InputTokens, ${IS_CALL}) AS input_tokens`,
  `sumIf(OutputTokens, ${IS_CALL}) AS output_tokens`,
  `sumIf(CostUsd, ${IS_CALL}) AS cost_usd`,
  `arraySort(groupUniqArrayIf(10)(${attr('enduser.id')}, ${attr('enduser.id')} != '')) AS users`,
  'toUnixTimestamp64Milli(min(Timestamp)) AS first_ms',
  'toUnixTimestamp64Milli(max(Timestamp)) AS last_ms',
].join(', ');

function conversationOfRow(row: ConversationRow): Record<string, unknown> {
  const input = Number(row.input_tokens);
  const output = Number(row.output_tokens);
  return {
    id: row.conversation_id,
    task_count: Number(row.tasks),
    call_count: Number(row.calls),
    failed_calls: Number(row.failed_calls),
    input_tokens: input,
    output_tokens: output,
    total_tokens: input + output,
    cost_usd: Number(row.cost_usd),
    user_ids: row.users,
    started_at: new Date(Number(row.first_ms)).toISOString(),
    last_activity_at: new Date(Number(row.last_ms)).toISOString(),
  };
}

const inRange = (workspace: string, range: TimeRange) => `Workspace = ${sqlString(workspace)} AND Timestamp >= ${sqlTime(range.fromMs)} AND Timestamp < ${sqlTime(range.toMs)}`;

function checkId(id: string): void {
  if (id.length < 1 || id.length > 256 || /[\u0000-\u001f\u007f]/.test(id)) {
    throw new IngestError(422, 'API_VALIDATION', 'invalid path: id: must be 1 to 256 printable characters', [{ path: ['id'], message: 'must be 1 to 256 printable characters', code: 'invalid_value' }]);
  }
}

/** A detail's range: the one given (from/to only), else the last 93 days. */
function detailRange(query: Record<string, string>): TimeRange {
  const unknown = Object.keys(query).find((k) => k !== 'from' && k !== 'to');
  if (unknown !== undefined) throw new IngestError(422, 'API_VALIDATION', `invalid query: ${unknown}: is not a parameter here (from, to)`, [{ path: [unknown], message: 'is not a parameter here (from, to)', code: 'unknown_field' }]);
  const now = Date.now();
  return query.from === undefined && query.to === undefined ? { fromMs: now - MAX_RANGE_MS, toMs: now + 60_000 } : parseTimeRange(query, now);
}

async function conversationSummary(store: TraceStore, workspace: string, id: string, range: TimeRange): Promise<ConversationRow | undefined> {
  const rows = await store.selectRows<ConversationRow>(`SELECT ${COLUMNS} FROM ${tableOf(store, AGENT_SPANS_TABLE)} WHERE ${inRange(workspace, range)} AND ${CONVERSATION} = ${sqlString(id)} GROUP BY conversation_id`);
  return rows[0];
}

export function conversationRoutes(deps: ReadApiDeps): ApiRoute[] {
  return [
    {
      method: 'GET',
      path: '/api/v1/conversations',
      role: 'read',
      handle: async ({ workspace, query, path }) => {
        const store = storeOf(deps);
        const list = parseListQuery(query, { sortable: SORTABLE, defaultSort: { field: 'last_activity_at', direction: 'desc' }, filterable: ['user_id', 'from', 'to'] });
        const range = parseTimeRange(query);
        const user = textFilter('user_id', query.user_id);
        const where = [inRange(workspace, range), `${CONVERSATION} != ''`];
        if (user !== undefined) where.push(`${attr('enduser.id')} = ${sqlString(user)}`);
        const grouped = `SELECT ${COLUMNS} FROM ${tableOf(store, AGENT_SPANS_TABLE)} WHERE ${where.join(' AND ')} GROUP BY conversation_id`;
        const order = `${SORT_COLUMN[list.sort.field as (typeof SORTABLE)[number]]} ${list.sort.direction === 'asc' ? 'ASC' : 'DESC'}, conversation_id`;
        const { rows, total } = await groupedPage<ConversationRow>(store, grouped, order, list);
        return pageAnswer(rows.map(conversationOfRow), total, list, path, query);
      },
    },
    {
      method: 'GET',
      path: '/api/v1/conversations/:id',
      role: 'read',
      handle: async ({ workspace, params, query }) => {
        checkId(params.id);
        const store = storeOf(deps);
        const range = detailRange(query);
        const summary = await conversationSummary(store, workspace, params.id, range);
        if (!summary) throw notFound(`conversation "${params.id.slice(0, 100)}"`);
        const tasks = await store.selectRows<TaskSummaryRow>(`${taskListSql(store, workspace, range, { conversationId: params.id })}\nORDER BY started_ms, trace_id LIMIT ${MAX_TASKS}`);
        return { status: 200, body: { ...conversationOfRow(summary), tasks: tasks.map(taskOfRow) } };
      },
    },
    {
      method: 'GET',
      path: '/api/v1/conversations/:id/context-failures',
      role: 'read',
      handle: async ({ workspace, params, query }) => {
        checkId(params.id);
        const store = storeOf(deps);
        const range = detailRange(query);
        const calls = await store.selectRows<StoredSpanRow>(
          `SELECT ${SPAN_COLUMNS} FROM ${tableOf(store, AGENT_SPANS_TABLE)} WHERE ${inRange(workspace, range)} AND ${CONVERSATION} = ${sqlString(params.id)} AND ${IS_CALL} ORDER BY Timestamp, SpanId LIMIT ${MAX_CALLS + 1}`,
        );
        if (calls.length === 0) throw notFound(`conversation "${params.id.slice(0, 100)}"`);
        const analyzed = calls.slice(0, MAX_CALLS);
        const failures = contextFailures(analyzed);
        const summary: Record<string, number> = { truncated: 0, near_context_limit: 0, over_context_limit: 0, context_exceeded: 0, context_lost: 0 };
        for (const f of failures) summary[f.type]++;
        return { status: 200, body: { conversation_id: params.id, calls_analyzed: analyzed.length, calls_truncated: calls.length > MAX_CALLS, failures, summary } };
      },
    },
  ];
}
