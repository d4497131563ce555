/**
 * The log-evaluation API's reviews: `PATCH /api/logs/:id/decision`, `PATCH /api/logs/bulk` and
 * `DELETE /api/logs/:id`. A decision is a `decision` object (id = the log id; every change a new
 * version, the latest wins, with who and when, audited), and goes to the log's callback when its
 * callbackEvents asks for decisions. A delete writes a `deleted_log` tombstone (audited; the logs
 * receiver refuses a replay of the id) and then deletes the rows and files (log-store.ts).
 */
import { z } from 'zod';
import type { DecisionCallback } from '../../core/callbacks/payload';
import type { Host, TraceStore } from '../../core/component';
import { ObjectWriteError } from '../../core/control/catalog';
import type { ApiRoute } from '../../core/http-api';
import { IngestError, parseBody } from '../../core/ingest/problems';
import type { IndexRow } from './log-index';
import { isoOfNanos, rowsByIds } from './log-index';
import { deleteLogIds, MAX_DELETE_IDS } from './log-store';
import { findLog, logStore, MAX_LOG_ID } from './logs-read-api';
import type { HumanDecision } from './logs-shape';
import type { ReadApiDeps } from './routes';

export const LOGS_REVIEW_PATHS = ['/api/logs/bulk', '/api/logs/:id/decision'] as const;

/** Longest `note` a decision keeps. */
export const MAX_DECISION_NOTE = 2_000;

/**
 * The document's body is `{decision}`. A reviewer's `note` is kept with the decision; `decidedBy`
 * is accepted and ignored (the document has it only in the answer: who decided is the key).
 */
const decisionSchema = z.strictObject({
  decision: z.enum(['approved', 'rejected'], { error: 'must be one of approved, rejected' }),
  note: z.string({ error: 'must be a string' }).max(MAX_DECISION_NOTE, `must be at most ${MAX_DECISION_NOTE} characters`).optional(),
  decidedBy: z.unknown().optional(),
});

const bulkSchema = z.strictObject({
  ids: z
    .array(z.string().min(1, 'must not be empty').max(MAX_LOG_ID, `must be at most ${MAX_LOG_ID} characters`), { error: 'must be an array of log ids' })
    .min(1, 'must hold at least one id')
    .max(MAX_DELETE_IDS, `must hold at most ${MAX_DELETE_IDS} ids`),
  action: z.enum(['approve', 'reject', 'delete'], { error: 'must be one of approve, reject, delete' }),
});

/** A control-plane write refused (no store, ...) as the API's answer. */
async function writing<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (err instanceof ObjectWriteError) throw new IngestError(err.status, 'API_WRITE_REFUSED', err.message);
    throw err;
  }
}

export function logReviewRoutes(deps: ReadApiDeps): ApiRoute[] {
  const { host, config } = deps;
  const objects = host.objects;

  /**
   * Records `decision` on logs that exist in the workspace (one store write), then their callbacks.
   * A log whose latest decision is already this one (same note) is left as it is: a retried bulk
   * action without Idempotency-Key writes no second version and sends no second callback.
   */
  const decide = async (workspace: string, principal: string, rows: readonly IndexRow[], decision: HumanDecision, note?: string): Promise<number> => {
    if (rows.length === 0) return 0;
    const decidedAt = Date.now();
    const kept = note !== undefined && note.trim() !== '' ? note.trim() : undefined;
    const spec = kept !== undefined ? { decision, decidedAt, note: kept } : { decision, decidedAt };
    // The latest decisions from the store (decisions are not held in memory), in one read.
    const current = await objects.fetch('decision', workspace, rows.map((row) => row.log_id));
    const changed = rows.filter((row) => {
      const latest = current.get(row.log_id)?.spec;
      return latest?.decision !== decision || latest?.note !== kept;
    });
    if (changed.length > 0) {
      await writing(() => objects.writeMany('decision', workspace, changed.map((row) => ({ id: row.log_id, spec })), principal));
      sendCallbacks(host, changed, decision, principal, decidedAt);
    }
    return rows.length;
  };

  /** Tombstones first (a replay racing the delete is refused), then the rows and files. */
  const remove = async (store: TraceStore, workspace: string, principal: string, rows: readonly IndexRow[]): Promise<number> => {
    if (rows.length === 0) return 0;
    const deletedAt = Date.now();
    await writing(() => objects.writeMany('deleted_log', workspace, rows.map((row) => ({ id: row.log_id, spec: { deletedAt, project: row.project, task: row.task } })), principal));
    const deleted = await deleteLogIds(store, workspace, { ids: rows.map((row) => row.log_id) }, config.attachments_dir);
    // A deleted log's decision goes with it (its tombstone and the audit table keep the record).
    await writing(() => objects.writeMany('decision', workspace, deleted.map((id) => ({ id, spec: null })), principal));
    return deleted.length;
  };

  return [
    {
      method: 'PATCH',
      path: '/api/logs/bulk',
      role: 'admin',
      handle: async ({ workspace, principal, body }) => {
        const request = parseBody(bulkSchema, body);
        const store = await logStore(host, deps);
        // Ids of other workspaces or unknown ones are not found here, and not counted.
        const rows = await rowsByIds(store, workspace, [...new Set(request.ids)]);
        const count = request.action === 'delete' ? await remove(store, workspace, principal, rows) : await decide(workspace, principal, rows, request.action === 'approve' ? 'approved' : 'rejected');
        return { status: 200, body: { ok: true, count } };
      },
    },
    {
      method: 'PATCH',
      path: '/api/logs/:id/decision',
      role: 'admin',
      handle: async ({ workspace, principal, params, body }) => {
        const { decision, note } = parseBody(decisionSchema, body);
        const store = await logStore(host, deps);
        const row = await findLog(store, workspace, params.id);
        await decide(workspace, principal, [row], decision, note);
        return { status: 200, body: { ok: true, decidedBy: principal } };
      },
    },
    {
      method: 'DELETE',
      path: '/api/logs/:id',
      role: 'admin',
      handle: async ({ workspace, principal, params }) => {
        const store = await logStore(host, deps);
        const row = await findLog(store, workspace, params.id);
        await remove(store, workspace, principal, [row]);
        return { status: 200, body: { ok: true } };
      },
    },
  ];
}

/** Queues each decided log's callback (when its callbackEvents asks for decisions); never throws. */
function sendCallbacks(host: Host, rows: readonly IndexRow[], decision: HumanDecision, decidedBy: string, decidedAt: number): void {
  const sender = host.capability('decisionCallbacks');
  if (!sender) return;
  for (const row of rows) {
    if (row.callback_url === '') continue;
    const payload: DecisionCallback = {
      event: 'decision.recorded',
      id: row.log_id,
      traceId: row.trace_id,
      spanId: row.span_id,
      project: row.project === '' ? null : row.project,
      task: row.task === '' ? null : row.task,
      status: row.status,
      verdict: row.status,
      humanDecision: decision,
      decidedBy,
      decidedAt: new Date(decidedAt).toISOString(),
      timestamp: isoOfNanos(row.ts_ns),
    };
    sender.sendDecision({ url: row.callback_url, events: row.callback_events }, payload);
  }
}
