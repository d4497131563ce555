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
import { spanOfRow, traceRows, traceWhere } from './agent-stored-spans';
import type { TraceWindow } from './agent-stored-spans';
import { callOfRow, detectionAnswer, detectionOfRecord } from './agent-task-answers';
import { checkTaskId, findTask } from './agent-task-lookup';
import { listTasks } from './agent-tasks-list';
import { TASK_SUMMARY_COLUMNS, taskOfRow } from './agent-tasks-sql';
import type { TaskSummaryRow } from './agent-tasks-sql';
import type { ReadApiDeps } from './routes';

export const AGENT_TASK_PATHS = ['/api/v1/tasks', '/api/v1/tasks/:id', '/api/v1/tasks/:id/detect', '/api/v1/tasks/:id/complete', '/api/v1/tasks/:id/fail'] as const;

const statusBodySchema = z.strictObject({ reason: z.string().min(1).max(2000).optional() });

export function storeOf(deps: ReadApiDeps): TraceStore {
  const store = deps.host.store();
  if (!store) throw new IngestError(503, 'API_NO_STORE', 'no clickhouse exporter stores spans in this daemon', undefined, 60);
  return store;
}

async function taskOrThrow(store: TraceStore, workspace: string, id: string): Promise<TraceWindow> {
  checkTaskId(id);
  const window = await findTask(store, workspace, id);
  if (!window) throw notFound(`task "${id.slice(0, 100)}"`);
  return window;
}

async function summaryOf(store: TraceStore, workspace: string, window: TraceWindow): Promise<Record<string, unknown>> {
  const [row] = await store.selectRows<TaskSummaryRow>(`SELECT\n  ${TASK_SUMMARY_COLUMNS}\nFROM ${tableOf(store, AGENT_SPANS_TABLE)}\nWHERE ${traceWhere(workspace, window)}\nGROUP BY TraceId`);
  return taskOfRow(row);
}

export async function taskDetail(store: TraceStore, workspace: string, window: TraceWindow): Promise<Record<string, unknown>> {
  const [summary, calls, records] = await Promise.all([
    summaryOf(store, workspace, window),
    traceRows(store, workspace, window, IS_CALL, MAX_CALLS + 1),
    traceRows(store, workspace, window, `${RECORD_TYPE} = ${sqlString(FINDING_RECORD)}`, MAX_RECORDS),
  ]);
  return {
    ...summary,
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
      const window = await taskOrThrow(store, workspace, params.id);
      const summary = await summaryOf(store, workspace, window);
      const atMs = Date.now();
      await storeRecords(store, workspace, [statusRecord({ workspace, traceId: window.traceId, taskId: String(summary.id), status, reason, changedBy: principal, atMs, serviceName: '' })]);
      return { status: 200, body: { id: summary.id, trace_id: window.traceId, status, status_reason: reason ?? null, status_updated_at: new Date(atMs).toISOString() } };
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
        const window = await taskOrThrow(store, workspace, params.id);
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
