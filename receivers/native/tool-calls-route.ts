import { z } from 'zod';
import { jsonText } from '../../core/ingest/attributes';
import { randomSpanId, randomTraceId, spanIdFor, traceIdFor } from '../../core/ingest/ids';
import type { FieldProblem } from '../../core/ingest/problems';
import { plainErrorStyle } from '../../core/ingest/problems';
import type { RecordTimes } from '../../core/ingest/record-times';
import type { IngestPlan, IngestRequest, IngestRoute } from '../../core/ingest/route';
import { isoToNanos, msToNanos } from '../../core/ingest/time';
import { makeSpan } from '../../core/span';
import type { Attributes, Span } from '../../core/span';
import { keepUnknownFields, linkTrace } from './trace-link';
import { check, idText, isoTimestamp, isRecord, jsonObject, nonNegative, present, refuseInvalid } from './validation';
import type { FieldPath } from './validation';

export const TOOL_CALLS_PATH = '/api/ingest/tool-calls';

const MAX_BATCH = 1000;

const toolErrorSchema = z.union([z.string().min(1, 'must not be empty'), z.looseObject({ message: z.string().min(1, 'must not be empty'), type: idText.nullish() })]);

const toolCallSchema = z.looseObject({
  name: idText.nullish(),
  toolName: idText.nullish(),
  arguments: z.union([z.string(), jsonObject, z.array(z.unknown())]).nullish(),
  result: z.unknown().optional(),
  error: toolErrorSchema.nullish(),
  traceId: idText.nullish(),
  spanId: idText.nullish(),
  parentSpanId: idText.nullish(),
  toolCallId: idText.nullish(),
  startedAt: isoTimestamp.nullish(),
  endedAt: isoTimestamp.nullish(),
  durationMs: nonNegative.nullish(),
});

type ToolCall = z.output<typeof toolCallSchema>;

const KNOWN_FIELDS = new Set(Object.keys(toolCallSchema.shape));

/**
 * POST /api/ingest/tool-calls: function-call telemetry as execute_tool spans. The body is one
 * call, an array of calls, or `{ toolCalls: [...] }`.
 */
export function toolCallsRoute(times: RecordTimes): IngestRoute {
  return {
    path: TOOL_CALLS_PATH,
    errorStyle: plainErrorStyle,
    handle: async (request) => {
      const calls = validate(request.body);
      // A call with ids and no times of its own keeps its first receive time when sent again.
      const stamped = await Promise.all(calls.map((call) => times.stamp(request, 'aitracer.tool_call', receiveTimedId(call))));
      return toolCallsPlan(request, calls, stamped);
    },
  };
}

/** The id of a call whose span ids are deterministic and whose time is the receive time. */
function receiveTimedId(call: ToolCall): string | undefined {
  if (call.startedAt != null || call.endedAt != null) return undefined;
  if (call.toolCallId == null && (call.spanId == null || call.traceId == null)) return undefined;
  return `${call.traceId ?? ''}\u0000${call.spanId ?? ''}\u0000${call.toolCallId ?? ''}`;
}

function validate(body: unknown): ToolCall[] {
  const batch = Array.isArray(body) ? { items: body, at: [] as FieldPath } : isRecord(body) && 'toolCalls' in body ? { items: body.toolCalls, at: ['toolCalls'] } : undefined;
  if (batch === undefined) {
    const single = checkCall(body, []);
    refuseInvalid(single.problems);
    return [single.data as ToolCall];
  }
  if (!Array.isArray(batch.items)) refuseInvalid([{ path: batch.at, message: 'must be an array of tool calls', code: 'invalid_type' }]);
  const items = batch.items as unknown[];
  if (items.length === 0 || items.length > MAX_BATCH) {
    refuseInvalid([{ path: batch.at, message: `must hold 1 to ${MAX_BATCH} tool calls`, code: items.length === 0 ? 'too_short' : 'too_long' }]);
  }
  const checked = items.map((item, i) => checkCall(item, [...batch.at, i]));
  refuseInvalid(checked.flatMap((c) => c.problems));
  return checked.map((c) => c.data as ToolCall);
}

/** One call's problems: the schema's, plus the rules across fields it cannot express. */
function checkCall(item: unknown, at: FieldPath): { data: ToolCall | undefined; problems: FieldProblem[] } {
  const { data, problems } = check(toolCallSchema, item, at);
  if (isRecord(item)) {
    if (!present(item, 'name') && !present(item, 'toolName')) problems.push({ path: [...at, 'name'], message: 'required (or toolName)', code: 'required' });
    if (present(item, 'result') && present(item, 'error')) problems.push({ path: [...at, 'error'], message: 'give either result or error, not both', code: 'invalid' });
    // Checked on the raw values so that these rules are reported along with any other problem.
    const started = typeof item.startedAt === 'string' ? isoToNanos(item.startedAt) : undefined;
    const ended = typeof item.endedAt === 'string' ? isoToNanos(item.endedAt) : undefined;
    if (started !== undefined && ended !== undefined && ended < started) problems.push({ path: [...at, 'endedAt'], message: 'must not be before startedAt', code: 'invalid' });
  }
  return { data, problems };
}

function toolCallsPlan(request: IngestRequest, calls: ToolCall[], stamped: IngestRequest[]): IngestPlan {
  const spans = calls.map((call, i) => toolCallSpan(stamped[i], call));
  const ids = calls.map((call) => call.toolCallId);
  // Calls that all carry their own ids make a resend idempotent; others are stored as sent.
  const idempotencyKey = ids.every((id) => id != null) ? calls.map((c) => `${c.traceId ?? ''}\u0000${c.toolCallId}`).join('\u0001') : undefined;
  return {
    spans,
    answer: { status: 202, body: { ok: true, ids: spans.map((s) => s.spanId), traceIds: spans.map((s) => s.traceId) } },
    idempotencyKey,
  };
}

function toolCallSpan(request: IngestRequest, call: ToolCall): Span {
  const { workspace } = request;
  const name = (call.name ?? call.toolName) as string;
  const link = call.traceId != null ? linkTrace(workspace, call.traceId) : undefined;
  const traceId = link?.traceId ?? (call.toolCallId != null ? traceIdFor(workspace, `tool_call:${call.toolCallId}`) : randomTraceId());
  const spanId =
    call.spanId != null ? spanIdFor(workspace, traceId, call.spanId) : call.toolCallId != null ? spanIdFor(workspace, traceId, `tool_call:${call.toolCallId}`) : randomSpanId();
  const parentSpanId = call.parentSpanId != null ? spanIdFor(workspace, traceId, call.parentSpanId) : (link?.rootSpanId ?? '');
  const { start, end } = timesOf(call, request.receivedAtNanos);

  const attributes: Attributes = {};
  keepUnknownFields(attributes, call, KNOWN_FIELDS);
  attributes['gen_ai.operation.name'] = 'execute_tool';
  attributes['gen_ai.tool.name'] = name;
  if (call.toolCallId != null) attributes['gen_ai.tool.call.id'] = call.toolCallId;
  if (call.arguments != null) attributes['gen_ai.tool.call.arguments'] = jsonText(call.arguments);
  if (call.result !== undefined && call.result !== null) attributes['gen_ai.tool.call.result'] = jsonText(call.result);
  attributes['tracehouse.record_type'] = 'tool_call';
  if (call.traceId != null) attributes['aitracer.trace_id'] = call.traceId;
  if (call.spanId != null) attributes['aitracer.span_id'] = call.spanId;
  if (call.parentSpanId != null) attributes['aitracer.parent_span_id'] = call.parentSpanId;

  const error = call.error ?? undefined;
  if (error !== undefined) attributes['error.type'] = typeof error === 'string' ? '_OTHER' : (error.type ?? '_OTHER');
  return makeSpan({
    traceId,
    spanId,
    parentSpanId,
    name: `execute_tool ${name}`,
    kind: 'internal',
    startTimeUnixNano: start,
    endTimeUnixNano: end,
    status: error === undefined ? { code: 'unset', message: '' } : { code: 'error', message: typeof error === 'string' ? error : error.message },
    attributes,
  });
}

/**
 * The call's times from whichever of startedAt, endedAt and durationMs it gives (the two
 * timestamps win over durationMs); the receive time stands in for a missing end.
 */
function timesOf(call: ToolCall, receivedAt: bigint): { start: bigint; end: bigint } {
  const started = call.startedAt != null ? isoToNanos(call.startedAt) : undefined;
  const ended = call.endedAt != null ? isoToNanos(call.endedAt) : undefined;
  const duration = call.durationMs != null ? msToNanos(call.durationMs) : undefined;
  if (started !== undefined) return { start: started, end: ended ?? started + (duration ?? 0n) };
  const end = ended ?? receivedAt;
  return { start: end - (duration ?? 0n), end };
}
