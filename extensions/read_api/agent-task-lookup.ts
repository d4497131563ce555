/**
 * Which stored trace a task id names. A gateway task (X-Task-ID) has one deterministic trace per
 * workspace (receivers/proxy/span.ts traceOf): looked up by trace id, never by scanning. An OTLP
 * agent run is named by its trace id. A task id set as `tracehouse.task` by an OTLP client on
 * spans of another trace is found through the attribute-value bloom filter, in the last 93 days.
 * Both candidate traces are looked up at once, and the task's summary is read with the check
 * that its trace is a task: a found task costs two reads.
 */
import type { TraceStore } from '../../core/component';
import { traceIdFor } from '../../core/ingest/ids';
import { IngestError } from '../../core/ingest/problems';
import { AGENT_SPANS_TABLE, attr, sqlString, sqlTime, tableOf } from './agent-sql';
import { TRACE_ID, traceWhere, traceWindows } from './agent-stored-spans';
import type { TraceWindow } from './agent-stored-spans';
import { MAX_RANGE_MS } from './agent-time-range';
import { TASK_SUMMARY_COLUMNS } from './agent-tasks-sql';
import type { TaskSummaryRow } from './agent-tasks-sql';

/** Printable, 1 to 256 characters (the gateway takes any X-Task-ID header value). */
const TASK_ID = /^[^\u0000-\u001f\u007f]{1,256}$/;

export function checkTaskId(id: string): void {
  if (!TASK_ID.test(id)) throw new IngestError(422, 'API_VALIDATION', 'invalid path: id: must be 1 to 256 printable characters', [{ path: ['id'], message: 'must be 1 to 256 printable characters', code: 'invalid_value' }]);
}

/** The trace of a gateway task: the same derivation as the proxy receiver's traceOf. */
export function gatewayTaskTrace(workspace: string, taskId: string): string {
  return traceIdFor(workspace, `proxy-task\u0000${taskId}`);
}

/** The task among `windows` (the first whose trace has task spans) with its summary: one grouped read. */
async function taskIn(store: TraceStore, workspace: string, windows: TraceWindow[], signal?: AbortSignal): Promise<FoundTask | undefined> {
  if (windows.length === 0) return undefined;
  const rows = await store.selectRows<TaskSummaryRow>(
    `SELECT\n  ${TASK_SUMMARY_COLUMNS}\nFROM ${tableOf(store, AGENT_SPANS_TABLE)}\nWHERE ${windows.map((w) => `(${traceWhere(workspace, w)})`).join(' OR ')}\nGROUP BY TraceId`,
    signal,
  );
  for (const window of windows) {
    const summary = rows.find((row) => row.trace_id === window.traceId && Number(row.task_spans) > 0);
    if (summary) return { window, summary };
  }
  return undefined;
}

/** A task: its trace's window and its summary row. */
export interface FoundTask {
  window: TraceWindow;
  summary: TaskSummaryRow;
}

/** The task the id names in the caller's workspace, undefined when there is none. */
export async function findTask(store: TraceStore, workspace: string, id: string, signal?: AbortSignal): Promise<FoundTask | undefined> {
  const candidates = [gatewayTaskTrace(workspace, id)];
  if (TRACE_ID.test(id)) candidates.push(id);
  const found = await taskIn(store, workspace, await traceWindows(store, candidates, signal), signal);
  if (found) return found;
  const [named] = await store.selectRows<{ TraceId: string }>(
    `SELECT TraceId FROM ${tableOf(store, AGENT_SPANS_TABLE)} WHERE Workspace = ${sqlString(workspace)} AND ${attr('tracehouse.task')} = ${sqlString(id)} AND Timestamp >= ${sqlTime(Date.now() - MAX_RANGE_MS)} ORDER BY Timestamp DESC LIMIT 1`,
    signal,
  );
  return named ? taskIn(store, workspace, await traceWindows(store, [named.TraceId], signal), signal) : undefined;
}
