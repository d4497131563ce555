/**
 * The proxy product's verification API: re-evaluate a stored trace of the caller's workspace
 * against the workspace's current rules (pipelines.yaml and HTTP-managed, llm_judge included,
 * through the evaluate_rules processor's RuleEvaluator) and the agent-run detections, store the
 * result as a new version of the control-plane object `verification` (id: the trace id), and
 * answer it. Verifying needs `ingest` (it writes a result and may spend judge calls on the
 * workspace's provider key, which a read-only key must not); reading results needs `read`.
 */
import type { ApiRoute } from '../../core/http-api';
import { notFound } from '../../core/http-api';
import { ObjectWriteError } from '../../core/control/catalog';
import type { ControlObject } from '../../core/control/objects';
import { IngestError } from '../../core/ingest/problems';
import { MAX_CALLS, RECORD_TYPE } from './agent-sql';
import { spanOfRow, TRACE_ID, traceRows, traceWindow } from './agent-stored-spans';
import { storeOf } from './agent-tasks-api';
import { verificationSpec } from './verification-result';
import type { ReadApiDeps } from './routes';

export const VERIFICATION_PATHS = ['/api/v1/verification/verify/:trace_id', '/api/v1/verification/results/:trace_id'] as const;

function traceIdOf(raw: string): string {
  const id = raw.toLowerCase();
  if (!TRACE_ID.test(id) || /^0+$/.test(id)) {
    throw new IngestError(422, 'API_VALIDATION', 'invalid path: trace_id: must be 32 hexadecimal digits, not all zero', [{ path: ['trace_id'], message: 'must be 32 hexadecimal digits, not all zero', code: 'invalid_value' }]);
  }
  return id;
}

function answerOf(object: ControlObject): Record<string, unknown> {
  return { ...object.spec, version: object.version, verified_by: object.changedBy };
}

export function verificationRoutes(deps: ReadApiDeps): ApiRoute[] {
  const objects = deps.host.objects;
  return [
    {
      method: 'POST',
      path: '/api/v1/verification/verify/:trace_id',
      role: 'ingest',
      handle: async ({ workspace, params, principal }) => {
        const traceId = traceIdOf(params.trace_id);
        const store = storeOf(deps);
        const evaluator = deps.host.capability('ruleEvaluator');
        if (!evaluator) throw new IngestError(503, 'API_NO_RULE_ENGINE', 'no evaluate_rules processor runs in this daemon', undefined, 60);
        const window = await traceWindow(store, traceId);
        const rows = window ? await traceRows(store, workspace, window, `${RECORD_TYPE} = ''`, MAX_CALLS + 1) : [];
        if (rows.length === 0) throw notFound(`trace "${traceId}"`);
        const spans = rows.slice(0, MAX_CALLS).map(spanOfRow);
        const atMs = Date.now();
        const result = await evaluator.evaluateSpans(spans, { workspace, rules: true });
        const spec = verificationSpec(traceId, spans, rows.length > MAX_CALLS, result, atMs);
        let stored: ControlObject | undefined;
        try {
          stored = await objects.write({ kind: 'verification', workspace, id: traceId, spec, changedBy: principal });
        } catch (err) {
          if (err instanceof ObjectWriteError) throw new IngestError(err.status, err.status === 503 ? 'API_NO_STORE' : 'API_CONFLICT', err.message, undefined, err.status === 503 ? 5 : undefined);
          throw err;
        }
        return { status: 200, body: answerOf(stored as ControlObject) };
      },
    },
    {
      method: 'GET',
      path: '/api/v1/verification/results/:trace_id',
      role: 'read',
      handle: async ({ workspace, params }) => {
        const traceId = traceIdOf(params.trace_id);
        // Read from the store by key: results are not held in memory (STORED_ONLY_KINDS).
        const object = (await objects.fetch('verification', workspace, [traceId])).get(traceId);
        // Only the caller's own results (never another workspace's, never a global object).
        if (!object || object.workspace !== workspace) throw notFound(`verification results of trace "${traceId}"`);
        return { status: 200, body: answerOf(object) };
      },
    },
  ];
}
