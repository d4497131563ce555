import { z } from 'zod';
import { textMessage, type GenAiMessage } from '../../core/genai-messages';
import { flattenJson } from '../../core/ingest/attributes';
import { randomTraceId } from '../../core/ingest/ids';
import { plainErrorStyle } from '../../core/ingest/problems';
import type { RecordTimes } from '../../core/ingest/record-times';
import type { IngestPlan, IngestRequest, IngestRoute } from '../../core/ingest/route';
import { msToNanos } from '../../core/ingest/time';
import { makeSpan } from '../../core/span';
import type { Attributes, SpanStatus } from '../../core/span';
import { keepUnknownFields, linkTrace } from './trace-link';
import { check, idText, isRecord, jsonObject, nonNegative, present, refuseInvalid, tokenCount } from './validation';

export const TRACES_PATH = '/api/traces';

const chatMessage = z.looseObject({ role: idText, content: z.string() });

const metricsSchema = z.looseObject({
  promptTokens: tokenCount.nullish(),
  completionTokens: tokenCount.nullish(),
  totalTokens: tokenCount.nullish(),
  latencyMs: nonNegative.nullish(),
  estimatedCostUsd: nonNegative.nullish(),
  finishReason: idText.nullish(),
});

const traceSchema = z.looseObject({
  actionName: idText.nullish(),
  environment: idText.nullish(),
  status: z.string().trim().min(1, 'must not be empty').max(64, 'must be at most 64 characters').nullish(),
  requestId: idText.nullish(),
  model: idText.nullish(),
  provider: idText.nullish(),
  /** The prompt text, or the chat messages sent. */
  prompt: z.union([z.string(), z.array(chatMessage)]).nullish(),
  response: z.string().nullish(),
  sessionId: idText.nullish(),
  userId: idText.nullish(),
  error: z.string().max(10_000, 'must be at most 10000 characters').nullish(),
  metadata: jsonObject.nullish(),
  metrics: metricsSchema.nullish(),
});

type TraceRecord = z.output<typeof traceSchema>;

const KNOWN_FIELDS = new Set(Object.keys(traceSchema.shape));
const KNOWN_METRICS = new Set(Object.keys(metricsSchema.shape));
const CONTENT_FIELDS = ['actionName', 'model', 'prompt', 'response'] as const;

/** Statuses that mean the LLM call failed; the span gets status Error. */
const FAILED_STATUSES = new Set(['failed', 'failure', 'error', 'errored', 'timeout', 'timed_out']);
/** Statuses that mean it succeeded; the span gets status Ok. Any other status leaves it Unset. */
const SUCCEEDED_STATUSES = new Set(['completed', 'complete', 'success', 'succeeded', 'ok']);

/** POST /api/traces: one LLM call as one client span, the root of its trace. */
export function tracesRoute(defaultEnvironment: string | undefined, times: RecordTimes): IngestRoute {
  return {
    path: TRACES_PATH,
    errorStyle: plainErrorStyle,
    handle: async (request) => {
      const record = validate(request.body);
      // A replayed requestId ends at its first receive, so it is the same row again.
      const first = await times.stamp(request, 'aitracer.trace', record.requestId ?? undefined);
      return tracePlan(first, record, defaultEnvironment);
    },
  };
}

function validate(body: unknown): TraceRecord {
  const { data, problems } = check(traceSchema, body);
  if (isRecord(body) && !CONTENT_FIELDS.some((key) => present(body, key))) {
    problems.push({ path: [], message: 'at least one of actionName, model, prompt or response is required', code: 'required' });
  }
  refuseInvalid(problems);
  return data as TraceRecord;
}

function tracePlan(request: IngestRequest, record: TraceRecord, defaultEnvironment: string | undefined): IngestPlan {
  const requestId = record.requestId ?? undefined;
  // Without a requestId the trace gets a fresh OTLP id, which the answer hands back so that tool
  // calls and feedback can still name it.
  const clientTraceId = requestId ?? randomTraceId();
  const { traceId, rootSpanId } = linkTrace(request.workspace, clientTraceId);
  const metrics = record.metrics ?? {};
  const end = request.receivedAtNanos;
  const start = metrics.latencyMs != null ? end - msToNanos(metrics.latencyMs) : end;
  const status = record.status ?? undefined;

  const span = makeSpan({
    traceId,
    spanId: rootSpanId,
    name: record.actionName ?? 'llm',
    kind: 'client',
    startTimeUnixNano: start,
    endTimeUnixNano: end,
    status: spanStatus(status, record.error ?? undefined),
    attributes: traceAttributes(record, defaultEnvironment),
  });
  return {
    spans: [span],
    answer: { status: 200, body: { trace: { traceId: clientTraceId, status: status ?? 'completed' } } },
    idempotencyKey: requestId,
  };
}

function traceAttributes(record: TraceRecord, defaultEnvironment: string | undefined): Attributes {
  const attributes: Attributes = {};
  // Unknown fields first: a mapped attribute always wins over a client field of the same name.
  keepUnknownFields(attributes, record, KNOWN_FIELDS);
  const metrics = record.metrics ?? {};
  keepUnknownFields(attributes, metrics, KNOWN_METRICS, 'aitracer.metrics');
  if (record.metadata) flattenJson(attributes, 'aitracer.metadata', record.metadata, 3);

  attributes['gen_ai.operation.name'] = 'chat';
  if (record.model != null) attributes['gen_ai.request.model'] = record.model;
  if (record.provider != null) attributes['gen_ai.provider.name'] = record.provider.toLowerCase();
  if (metrics.promptTokens != null) attributes['gen_ai.usage.input_tokens'] = BigInt(metrics.promptTokens);
  if (metrics.completionTokens != null) attributes['gen_ai.usage.output_tokens'] = BigInt(metrics.completionTokens);
  if (metrics.totalTokens != null) attributes['gen_ai.usage.total_tokens'] = BigInt(metrics.totalTokens);
  if (metrics.finishReason != null) attributes['gen_ai.response.finish_reasons'] = [metrics.finishReason];
  if (record.prompt != null) attributes['gen_ai.input.messages'] = JSON.stringify(inputMessages(record.prompt));
  if (record.response != null) attributes['gen_ai.output.messages'] = JSON.stringify([textMessage('assistant', record.response, metrics.finishReason ?? undefined)]);
  if (record.sessionId != null) attributes['gen_ai.conversation.id'] = record.sessionId;
  if (record.userId != null) attributes['enduser.id'] = record.userId;
  // A double even when whole: the cost column and every consumer read tracehouse.cost_usd as one.
  if (metrics.estimatedCostUsd != null) attributes['tracehouse.cost_usd'] = metrics.estimatedCostUsd;
  if (metrics.latencyMs != null) attributes['aitracer.latency_ms'] = metrics.latencyMs;
  const environment = record.environment ?? defaultEnvironment;
  if (environment !== undefined) attributes['tracehouse.environment'] = environment;
  if (record.actionName != null) attributes['aitracer.action_name'] = record.actionName;
  if (record.status != null) attributes['aitracer.status'] = record.status;
  if (record.requestId != null) attributes['aitracer.request_id'] = record.requestId;
  return attributes;
}

function inputMessages(prompt: string | { role: string; content: string }[]): GenAiMessage[] {
  return typeof prompt === 'string' ? [textMessage('user', prompt)] : prompt.map((m) => textMessage(m.role, m.content));
}

function spanStatus(status: string | undefined, error: string | undefined): SpanStatus {
  const normalized = status?.toLowerCase();
  if ((normalized !== undefined && FAILED_STATUSES.has(normalized)) || (status === undefined && error !== undefined)) {
    return { code: 'error', message: error ?? `AITracer status "${status}"` };
  }
  if (normalized !== undefined && SUCCEEDED_STATUSES.has(normalized)) return { code: 'ok', message: '' };
  return { code: 'unset', message: '' };
}
