/**
 * The proxy product's agent task API: list, detail (calls in order with tokens, cost and latency,
 * and detections), detection on demand, and the task's status. Reads need the `read` role;
 * detect, complete and fail need `ingest`: they are what an agent (or its SDK) sends with the key
 * it sends its traffic with, and they write data (records beside the trace), never configuration.
 */
import { z } from 'zod';
import type { TraceStore } from '../../core/component';
import type { Finding } from '../../core/evaluation';
import type { ApiRoute } from '../../core/http-api';
import { notFound } from '../../core/http-api';
import { IngestError, parseBody } from '../../core/ingest/problems';
import { detectAgentRuns } from './agent-detection';
import { statusRecord, storeRecords } from './agent-records';
import type { TaskStatus } from './agent-records';
import { AGENT_SPANS_TABLE, FINDING_RECORD, IS_CALL, MAX_CALLS, MAX_RECORDS, RECORD_TYPE, sqlString, tableOf } from './agent-sql';
import { SPAN_COLUMNS, spanOfRow, traceRows, traceWhere } from './agent-stored-spans';
import type { StoredSpanRow } from './agent-stored-spans';
import { callOfRow, detectionAnswer, detectionOfRecord } from './agent-task-answers';
import { checkTaskId, findTask } from './agent-task-lookup';
import type { FoundTask } from './agent-task-lookup';
import { listTasks } from './agent-tasks-list';
import { taskOfRow } from './agent-tasks-sql';
import type { ReadApiDeps } from './routes';

export const AGENT_TASK_PATHS = ['/api/v1/tasks', '/api/v1/tasks/:id', '/api/v1/tasks/:id/detect', '/api/v1/tasks/:id/complete', '/api/v1/tasks/:id/fail'] as const;

const statusBodySchema = z.strictObject({ reason: z.string().min(1).max(2000).optional() });

export function storeOf(deps: ReadApiDeps): TraceStore {
  const store = deps.host.store();
  if (!store) throw new IngestError(503, 'API_NO_STORE', 'no clickhouse exporter stores spans in this daemon', undefined, 60);
  return store;
}

async function taskOrThrow(store: TraceStore, workspace: string, id: string): Promise<FoundTask> {
  checkTaskId(id);
  const found = await findTask(store, workspace, id);
  if (!found) throw notFound(`task "${id.slice(0, 100)}"`);
  return found;
}

/**
 * A task with its calls in order and its detections: the summary came with the lookup, the calls
 * and the detection records are one read (each kind limited on its own).
 */
export async function taskDetail(store: TraceStore, workspace: string, { window, summary }: FoundTask): Promise<Record<string, unknown>> {
  const rows = await store.selectRows<StoredSpanRow & { is_call: number }>(
    `SELECT ${SPAN_COLUMNS}, ${IS_CALL} AS is_call FROM ${tableOf(store, AGENT_SPANS_TABLE)} WHERE ${traceWhere(workspace, window)} AND (${IS_CALL} OR ${RECORD_TYPE} = ${sqlString(FINDING_RECORD)}) ORDER BY Timestamp, SpanId LIMIT ${MAX_CALLS + 1} BY is_call`,
  );
  const calls = rows.filter((row) => Number(row.is_call) === 1);
  const records = rows.filter((row) => Number(row.is_call) !== 1).slice(0, MAX_RECORDS);
  return {
    ...taskOfRow(summary),
    calls: calls.slice(0, MAX_CALLS).map(callOfRow),
    calls_truncated: calls.length > MAX_CALLS,
    detections: records.map(detectionOfRecord).filter((d) => d !== undefined),
  };
}

export function agentTaskRoutes(deps: ReadApiDeps): ApiRoute[] {
  const mark = (status: TaskStatus): ApiRoute => ({
    method: 'PUT',
    path: `/api/v1/tasks/:id/${status === 'completed' ? 'complete' : 'fail'}`,
    role: 'ingest',
    handle: async ({ workspace, params, body, principal }) => {
      const { reason } = parseBody(statusBodySchema, body);
      const store = storeOf(deps);
      const { window, summary } = await taskOrThrow(store, workspace, params.id);
      const task = taskOfRow(summary);
      const atMs = Date.now();
      await storeRecords(store, workspace, [statusRecord({ workspace, traceId: window.traceId, taskId: String(task.id), status, reason, changedBy: principal, atMs, serviceName: '' })]);
      return { status: 200, body: { id: task.id, trace_id: window.traceId, status, status_reason: reason ?? null, status_updated_at: new Date(atMs).toISOString() } };
    },
  });
  return [
    {
      method: 'GET',
      path: '/api/v1/tasks',
      role: 'read',
      handle: ({ workspace, query, path }) => listTasks(storeOf(deps), workspace, query, path),
    },
    {
      method: 'GET',
      path: '/api/v1/tasks/:id',
      role: 'read',
      handle: async ({ workspace, params }) => {
        const store = storeOf(deps);
        return { status: 200, body: await taskDetail(store, workspace, await taskOrThrow(store, workspace, params.id)) };
      },
    },
    {
      method: 'POST',
      path: '/api/v1/tasks/:id/detect',
      role: 'ingest',
      handle: async ({ workspace, params }) => {
        const store = storeOf(deps);
        const { window } = await taskOrThrow(store, workspace, params.id);
        const calls = await traceRows(store, workspace, window, IS_CALL, MAX_CALLS);
        const records = await detectAgentRuns(deps.host, calls.map(spanOfRow), workspace);
        // The same deterministic records evaluate_rules writes: a second run rewrites them.
        await storeRecords(store, workspace, records);
        const detections = records.map((r) => detectionAnswer(JSON.parse(String(r.attributes['tracehouse.finding'])) as Finding, r.parentSpanId, r.startTimeUnixNano));
        return { status: 200, body: { id: params.id, trace_id: window.traceId, calls_analyzed: calls.length, detections, detected_at: new Date().toISOString() } };
      },
    },
    mark('completed'),
    mark('failed'),
  ];
}
