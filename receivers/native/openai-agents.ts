/**
 * The OpenAI Agents SDK's trace export (`OpenAITracingExporter`, and the Python SDK's
 * `BackendSpanExporter`): `POST {"data": [trace | trace.span, ...]}` with `Authorization: Bearer`.
 * Point the exporter's `endpoint` at /v1/traces/ingest (the path the SDK uses at OpenAI) or
 * /api/integrations/openai-agents. Each trace item becomes the root span of its trace and each
 * span item a span under it; see openai-agents-spans.ts for the span_data mapping.
 */
import { z } from 'zod';
import { flattenJson } from '../../core/ingest/attributes';
import { rootSpanIdFor, spanIdFor, traceIdFor } from '../../core/ingest/ids';
import { fingerprintOf } from '../../core/ingest/idempotency';
import { parseBody, plainErrorStyle } from '../../core/ingest/problems';
import type { RecordTimes } from '../../core/ingest/record-times';
import type { IngestPlan, IngestRequest, IngestRoute } from '../../core/ingest/route';
import { isIsoTimestamp, isoToNanos } from '../../core/ingest/time';
import { makeSpan } from '../../core/span';
import type { Attributes, Span } from '../../core/span';
import { mapSpanData } from './openai-agents-spans';

export const OPENAI_AGENTS_PATHS = ['/api/integrations/openai-agents', '/v1/traces/ingest'] as const;

/** The SDK's own default, for a trace item that names no workflow. */
const DEFAULT_WORKFLOW_NAME = 'Agent workflow';

const id = z.string().trim().min(1, 'must not be empty').max(512, 'must be at most 512 characters');
const timestamp = z.string().refine(isIsoTimestamp, 'must be an ISO 8601 timestamp with a time zone, e.g. 2026-01-31T12:00:00.000Z');

const traceItemSchema = z.looseObject({
  object: z.literal('trace'),
  id,
  workflow_name: z.string().nullish(),
  group_id: z.string().nullish(),
  metadata: z.record(z.string(), z.unknown()).nullish(),
});

const spanItemSchema = z.looseObject({
  object: z.literal('trace.span'),
  id,
  trace_id: id,
  parent_id: id.nullish(),
  started_at: timestamp,
  ended_at: timestamp.nullish(),
  span_data: z.looseObject({ type: z.string().trim().min(1, 'must not be empty') }),
  error: z.looseObject({ message: z.string(), data: z.unknown().optional() }).nullish(),
});

const exportSchema = z.looseObject({
  data: z.array(
    z.discriminatedUnion('object', [traceItemSchema, spanItemSchema], {
      error: (issue) => (issue.code === 'invalid_union' ? 'must be "trace" or "trace.span"' : undefined),
    }),
  ),
});

type TraceItem = z.output<typeof traceItemSchema>;
type SpanItem = z.output<typeof spanItemSchema>;

/** POST /api/integrations/openai-agents and /v1/traces/ingest: the same handler on both paths. */
export function openaiAgentsRoutes(times: RecordTimes): IngestRoute[] {
  return OPENAI_AGENTS_PATHS.map((path) => ({ path, errorStyle: plainErrorStyle, handle: (request) => exportPlan(request, times) }));
}

async function exportPlan(request: IngestRequest, times: RecordTimes): Promise<IngestPlan> {
  const { data } = parseBody(exportSchema, request.body);
  const spans: Span[] = [];
  const extents = new Map<string, { start: bigint; end: bigint }>();
  const ids = spanIds(request.workspace);
  for (const item of data) {
    if (item.object !== 'trace.span') continue;
    const span = spanOf(request.workspace, item, ids);
    spans.push(span);
    const extent = extents.get(span.traceId);
    if (!extent) extents.set(span.traceId, { start: span.startTimeUnixNano, end: span.endTimeUnixNano });
    else {
      if (span.startTimeUnixNano < extent.start) extent.start = span.startTimeUnixNano;
      if (span.endTimeUnixNano > extent.end) extent.end = span.endTimeUnixNano;
    }
  }
  const roots = new Map<string, Span>();
  const traces = data.filter((item): item is TraceItem => item.object === 'trace');
  // Alone, a trace is timed by its receive: its first one, when it is sent again.
  const stamped = await Promise.all(
    traces.map((item) => (extents.has(traceIdFor(request.workspace, item.id)) ? request : times.stamp(request, 'openai_agents.trace', item.id))),
  );
  traces.forEach((item, i) => {
    const root = rootSpanOf(stamped[i], item, extents);
    roots.set(root.traceId, root);
  });
  return {
    spans: [...roots.values(), ...spans],
    answer: { status: 200, body: {} },
    // The SDK sends no idempotency key but resends a whole batch when it saw no answer (a timeout,
    // a dropped connection) even if the batch was stored; the same bytes are stored only once.
    idempotencyKey: `batch:${fingerprintOf(request.raw)}`,
  };
}

/**
 * The trace item as the root span of its trace. The SDK sends no times for a trace, so the root
 * covers the spans of that trace in the same batch; alone (the SDK exports it when the trace
 * starts) it is a zero-duration span at the time it was received.
 */
function rootSpanOf(request: IngestRequest, item: TraceItem, extents: ReadonlyMap<string, { start: bigint; end: bigint }>): Span {
  const traceId = traceIdFor(request.workspace, item.id);
  const workflow = item.workflow_name || DEFAULT_WORKFLOW_NAME;
  const attributes: Attributes = {
    'gen_ai.operation.name': 'invoke_workflow',
    'gen_ai.workflow.name': workflow,
    'openai.agents.trace_id': item.id,
  };
  if (item.group_id) attributes['gen_ai.conversation.id'] = item.group_id;
  // Only the documented fields: a persisted trace may also carry `tracing_api_key`, a secret.
  if (item.metadata) flattenJson(attributes, 'openai.agents.metadata', item.metadata);
  const extent = extents.get(traceId);
  return makeSpan({
    traceId,
    spanId: rootSpanIdFor(request.workspace, traceId),
    name: workflow,
    startTimeUnixNano: extent?.start ?? request.receivedAtNanos,
    endTimeUnixNano: extent?.end ?? request.receivedAtNanos,
    attributes,
  });
}

type SpanIds = (traceId: string, id: string) => string;

/** spanIdFor within one export: a parent's id is derived once, not once per child. */
function spanIds(workspace: string): SpanIds {
  const known = new Map<string, string>();
  return (traceId, id) => {
    const key = `${traceId}\u0000${id}`;
    let spanId = known.get(key);
    if (spanId === undefined) {
      spanId = spanIdFor(workspace, traceId, id);
      known.set(key, spanId);
    }
    return spanId;
  };
}

function spanOf(workspace: string, item: SpanItem, ids: SpanIds): Span {
  const traceId = traceIdFor(workspace, item.trace_id);
  const mapped = mapSpanData(item.span_data);
  // The mapping's attributes are a fresh object of this span alone: extended in place, not copied.
  const attributes = mapped.attributes;
  attributes['openai.agents.trace_id'] = item.trace_id;
  attributes['openai.agents.span_id'] = item.id;
  attributes['openai.agents.span_data.type'] = item.span_data.type;
  if (item.parent_id) attributes['openai.agents.parent_id'] = item.parent_id;
  if (item.error?.data !== undefined) flattenJson(attributes, 'openai.agents.error.data', item.error.data);
  // Validated as ISO timestamps above, so both parse; a span still open when exported ends at its start.
  const start = isoToNanos(item.started_at) ?? 0n;
  const end = item.ended_at ? (isoToNanos(item.ended_at) ?? start) : start;
  return makeSpan({
    traceId,
    spanId: ids(traceId, item.id),
    parentSpanId: item.parent_id ? ids(traceId, item.parent_id) : rootSpanIdFor(workspace, traceId),
    name: mapped.name,
    kind: mapped.kind,
    startTimeUnixNano: start,
    endTimeUnixNano: end < start ? start : end,
    status: item.error ? { code: 'error', message: item.error.message } : { code: 'unset', message: '' },
    attributes,
  });
}
