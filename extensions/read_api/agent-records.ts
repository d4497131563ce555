/**
 * Records the agent routes write into the spans table beside the trace they are about: a task's
 * status marks (`tracehouse.record_type` task_status) and the findings of a detection run
 * (agent_finding, the same records evaluate_rules writes, with the same deterministic ids, so a
 * re-run rewrites rather than duplicates them).
 */
import { randomBytes } from 'node:crypto';
import type { TraceStore } from '../../core/component';
import { attributeToString } from '../../core/span';
import type { Attributes, Span } from '../../core/span';
import { AGENT_SPANS_TABLE, STATUS_RECORD } from './agent-sql';

const KIND: Record<Span['kind'], string> = { unspecified: 'Unspecified', internal: 'Internal', server: 'Server', client: 'Client', producer: 'Producer', consumer: 'Consumer' };
const STATUS: Record<Span['status']['code'], string> = { unset: 'Unset', ok: 'Ok', error: 'Error' };

function textMap(attributes: Attributes): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(attributes)) out[key] = attributeToString(value);
  return out;
}

function secondsText(nanos: bigint): string {
  const whole = nanos / 1_000_000_000n;
  return `${whole}.${String(nanos - whole * 1_000_000_000n).padStart(9, '0')}`;
}

/** A record span as a row of the spans table (the columns a record has; the rest keep their defaults). */
function rowOf(span: Span, workspace: string): Record<string, unknown> {
  const attributes = textMap(span.attributes);
  const resource = textMap(span.resource.attributes);
  return {
    // Seconds with nine decimals, as text: exact (a JSON number would round past 2^53).
    Timestamp: secondsText(span.startTimeUnixNano),
    TraceId: span.traceId,
    SpanId: span.spanId,
    ParentSpanId: span.parentSpanId,
    SpanName: span.name,
    SpanKind: KIND[span.kind],
    ServiceName: resource['service.name'] ?? '',
    ResourceAttributes: resource,
    ScopeName: span.scope.name,
    SpanAttributes: attributes,
    Duration: 0,
    StatusCode: STATUS[span.status.code],
    StatusMessage: span.status.message,
    Workspace: workspace,
    Project: attributes['tracehouse.project'] ?? '',
    Verdict: attributes['tracehouse.verdict'] ?? '',
  };
}

export function storeRecords(store: TraceStore, workspace: string, records: readonly Span[]): Promise<void> {
  return store.insertRows(AGENT_SPANS_TABLE, records.map((r) => rowOf(r, workspace)));
}

export type TaskStatus = 'completed' | 'failed';

/** A status mark of a task: a new record each time (the latest one is the task's status). */
export function statusRecord(fields: { workspace: string; traceId: string; taskId: string; status: TaskStatus; reason?: string; changedBy: string; atMs: number; serviceName: string }): Span {
  const attributes: Attributes = {
    'tracehouse.workspace': fields.workspace,
    'tracehouse.record_type': STATUS_RECORD,
    'tracehouse.task': fields.taskId,
    'tracehouse.task.status': fields.status,
    'tracehouse.changed_by': fields.changedBy,
  };
  if (fields.reason !== undefined) attributes['tracehouse.task.status_reason'] = fields.reason;
  const at = BigInt(Math.trunc(fields.atMs)) * 1_000_000n;
  return {
    traceId: fields.traceId,
    spanId: randomBytes(8).toString('hex'),
    parentSpanId: '',
    traceState: '',
    flags: 0,
    name: `${STATUS_RECORD} ${fields.status}`,
    kind: 'internal',
    startTimeUnixNano: at,
    endTimeUnixNano: at,
    status: { code: fields.status === 'failed' ? 'error' : 'ok', message: fields.status === 'failed' ? (fields.reason ?? 'task failed') : '' },
    attributes,
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    resource: { attributes: fields.serviceName ? { 'service.name': fields.serviceName } : {}, droppedAttributesCount: 0, schemaUrl: '' },
    scope: { name: 'tracehouse.read_api', version: '', attributes: {}, droppedAttributesCount: 0 },
    scopeSchemaUrl: '',
  };
}
