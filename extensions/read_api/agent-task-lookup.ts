/**
 * Which stored trace a task id names. A gateway task (X-Task-ID) has one deterministic trace per
 * workspace (receivers/proxy/span.ts traceOf): looked up by trace id, never by scanning. An OTLP
 * agent run is named by its trace id. A task id set as `tracehouse.task` by an OTLP client on
 * spans of another trace is found through the attribute-value bloom filter, in the last 93 days.
 */
import type { TraceStore } from '../../core/component';
import { traceIdFor } from '../../core/ingest/ids';
import { IngestError } from '../../core/ingest/problems';
import { AGENT_SPANS_TABLE, attr, IS_TASK_SPAN, sqlString, sqlTime, tableOf } from './agent-sql';
import { TRACE_ID, traceWhere, traceWindow } from './agent-stored-spans';
import type { TraceWindow } from './agent-stored-spans';
import { MAX_RANGE_MS } from './agent-time-range';

/** Printable, 1 to 256 characters (the gateway takes any X-Task-ID header value). */
const TASK_ID = /^[^\u0000-\u001f\u007f]{1,256}$/;

export function checkTaskId(id: string): void {
  if (!TASK_ID.test(id)) throw new IngestError(422, 'API_VALIDATION', 'invalid path: id: must be 1 to 256 printable characters', [{ path: ['id'], message: 'must be 1 to 256 printable characters', code: 'invalid_value' }]);
}

/** The trace of a gateway task: the same derivation as the proxy receiver's traceOf. */
export function gatewayTaskTrace(workspace: string, taskId: string): string {
  return traceIdFor(workspace, `proxy-task\u0000${taskId}`);
}

async function hasTaskSpans(store: TraceStore, workspace: string, window: TraceWindow, signal?: AbortSignal): Promise<boolean> {
  const [row] = await store.selectRows<{ n: string }>(`SELECT count() AS n FROM ${tableOf(store, AGENT_SPANS_TABLE)} WHERE ${traceWhere(workspace, window)} AND ${IS_TASK_SPAN}`, signal);
  return Number(row?.n ?? 0) > 0;
}

/** The task's trace window, undefined when the caller's workspace has no such task. */
export async function findTask(store: TraceStore, workspace: string, id: string, signal?: AbortSignal): Promise<TraceWindow | undefined> {
  const candidates = [gatewayTaskTrace(workspace, id)];
  if (TRACE_ID.test(id)) candidates.push(id);
  for (const traceId of candidates) {
    const window = await traceWindow(store, traceId, signal);
    if (window && (await hasTaskSpans(store, workspace, window, signal))) return window;
  }
  const [found] = await store.selectRows<{ TraceId: string }>(
    `SELECT TraceId FROM ${tableOf(store, AGENT_SPANS_TABLE)} WHERE Workspace = ${sqlString(workspace)} AND ${attr('tracehouse.task')} = ${sqlString(id)} AND Timestamp >= ${sqlTime(Date.now() - MAX_RANGE_MS)} ORDER BY Timestamp DESC LIMIT 1`,
    signal,
  );
  return found ? traceWindow(store, found.TraceId, signal) : undefined;
}
