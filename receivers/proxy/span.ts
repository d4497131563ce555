import type { GenAiMessage } from '../../core/genai-messages';
import { randomSpanId, randomTraceId, traceIdFor } from '../../core/ingest/ids';
import { OPERATION_OF } from '../../core/llm/protocol';
import type { LlmApi, LlmOutcome, LlmUsage } from '../../core/llm/protocol';
import { makeSpan } from '../../core/span';
import type { Attributes, Span } from '../../core/span';

/** One attempt at an upstream: a child span of the call's span. */
export interface AttemptRecord {
  upstream: string;
  origin: string;
  startNanos: bigint;
  endNanos: bigint;
  status?: number;
  /** connect, headers_timeout, status_429, error_event, ... when it failed over or failed. */
  error?: string;
}

export interface CallContext {
  workspace: string;
  taskId?: string;
  conversationId?: string;
  userId?: string;
  routeId?: string;
}

export interface CallRecord {
  context: CallContext;
  api: LlmApi;
  providerName: string;
  requestModel?: string;
  stream: boolean;
  startNanos: bigint;
  endNanos: bigint;
  /** performance.now() when the call arrived. */
  startedMs: number;
  /** Time spent waiting on upstreams (answers, body chunks, retry waits): not the gateway's overhead. */
  upstreamWaitMs: number;
  inputMessages?: GenAiMessage[];
  /** Bytes of the request body: the estimate's input when its messages could not be read. */
  inputChars: number;
  outcome: LlmOutcome;
  attempts: AttemptRecord[];
  upstream?: string;
  httpStatus?: number;
  providerRequestId?: string;
  ttftMs?: number;
  cancelled: boolean;
  /** Why the call failed on the gateway's side (timeout, connect, ...). */
  failure?: string;
  preflight?: { blocked: boolean; findings: unknown[]; attributes?: Attributes };
  captureMessages: boolean;
  maxChars: number;
  requestParams: Attributes;
}

/** The trace of a call: a task's calls share one trace per workspace; other calls get their own. */
export function traceOf(context: CallContext): string {
  return context.taskId !== undefined ? traceIdFor(context.workspace, `proxy-task\u0000${context.taskId}`) : randomTraceId();
}

function estimate(chars: number): number {
  return Math.ceil(chars / 4);
}

/** Characters of the text and tool-call arguments of messages (what the model reads or wrote). */
function textChars(messages: GenAiMessage[]): number {
  let n = 0;
  for (const m of messages) {
    for (const p of m.parts) {
      if (p.type === 'text' && typeof (p as { content?: unknown }).content === 'string') n += (p as { content: string }).content.length;
      else if (p.type === 'tool_call') n += JSON.stringify((p as { arguments?: unknown }).arguments ?? '').length;
    }
  }
  return n;
}

/**
 * The usage to store, and whether it is an estimate (about 4 characters a token). Exact when the
 * provider reported it for a call that ended; for a call whose usage never arrived (a stream cut,
 * no usage sent) or arrived only in part (a stream cut after Anthropic's message_start, a
 * cancelled call), the reported counts are kept where they are known and the output is at least
 * what the output captured so far amounts to.
 */
export function usageOf(call: CallRecord): { usage?: LlmUsage; estimated: boolean } {
  const { outcome } = call;
  const partial = outcome.usage !== undefined && !outcome.usageFinal && (call.cancelled || (call.stream && !outcome.complete));
  if (outcome.usage && !partial) return { usage: outcome.usage, estimated: false };
  const expected = call.cancelled || (!call.preflight?.blocked && call.httpStatus !== undefined && call.httpStatus < 400);
  if (!outcome.usage && !expected) return { estimated: false };
  const input = estimate(call.inputMessages ? textChars(call.inputMessages) : call.inputChars);
  const output = call.api === 'embeddings' ? 0 : estimate(textChars(outcome.output));
  const reported = outcome.usage ?? {};
  return { usage: { ...reported, input: reported.input ?? input, output: Math.max(reported.output ?? 0, output) }, estimated: true };
}

function boundedJson(messages: GenAiMessage[], maxChars: number): { text: string; truncated: boolean } {
  let text = JSON.stringify(messages);
  if (text.length <= maxChars) return { text, truncated: false };
  // Keep the latest messages that fit: they are the ones a judge of this call needs.
  let kept = messages;
  while (kept.length > 1 && text.length > maxChars) {
    kept = kept.slice(1);
    text = JSON.stringify(kept);
  }
  if (text.length > maxChars) text = JSON.stringify([{ role: kept[0]?.role ?? 'user', parts: [{ type: 'text', content: text.slice(0, maxChars) }] }]);
  return { text, truncated: true };
}

function usageAttributes(attributes: Attributes, usage: LlmUsage): void {
  if (usage.input !== undefined) attributes['gen_ai.usage.input_tokens'] = BigInt(usage.input);
  if (usage.output !== undefined) attributes['gen_ai.usage.output_tokens'] = BigInt(usage.output);
  if (usage.input !== undefined || usage.output !== undefined) attributes['gen_ai.usage.total_tokens'] = BigInt((usage.input ?? 0) + (usage.output ?? 0));
  if (usage.cacheRead !== undefined) attributes['gen_ai.usage.cache_read.input_tokens'] = BigInt(usage.cacheRead);
  if (usage.cacheWrite !== undefined) attributes['gen_ai.usage.cache_creation.input_tokens'] = BigInt(usage.cacheWrite);
  if (usage.reasoning !== undefined) attributes['gen_ai.usage.reasoning.output_tokens'] = BigInt(usage.reasoning);
}

/** The call's CLIENT span and one INTERNAL child span per upstream attempt. */
export function callSpans(call: CallRecord): Span[] {
  const { context, outcome } = call;
  const traceId = traceOf(context);
  const spanId = randomSpanId();
  const operation = OPERATION_OF[call.api];
  const attributes: Attributes = { ...call.requestParams };
  attributes['gen_ai.operation.name'] = operation;
  attributes['gen_ai.provider.name'] = call.providerName;
  if (call.requestModel !== undefined) attributes['gen_ai.request.model'] = call.requestModel;
  if (outcome.responseModel !== undefined) attributes['gen_ai.response.model'] = outcome.responseModel;
  if (outcome.responseId !== undefined) attributes['gen_ai.response.id'] = outcome.responseId;
  if (outcome.finishReasons.length > 0) attributes['gen_ai.response.finish_reasons'] = outcome.finishReasons;
  if (outcome.status !== undefined) attributes['openai.response.status'] = outcome.status;
  const usage = usageOf(call);
  if (usage.usage) usageAttributes(attributes, usage.usage);
  if (usage.estimated) attributes['tracehouse.usage.estimated'] = true;
  if (call.captureMessages) {
    if (call.inputMessages && call.inputMessages.length > 0) {
      const input = boundedJson(call.inputMessages, call.maxChars);
      attributes['gen_ai.input.messages'] = input.text;
      if (input.truncated) attributes['tracehouse.proxy.input_truncated'] = true;
    }
    if (outcome.output.length > 0) attributes['gen_ai.output.messages'] = boundedJson(outcome.output, call.maxChars).text;
  }
  if (call.ttftMs !== undefined) attributes['tracehouse.proxy.ttft_ms'] = Math.round(call.ttftMs * 1000) / 1000;
  attributes['gen_ai.request.stream'] = call.stream;
  if (context.taskId !== undefined) attributes['tracehouse.task'] = context.taskId;
  if (context.conversationId !== undefined) attributes['gen_ai.conversation.id'] = context.conversationId;
  if (context.userId !== undefined) attributes['enduser.id'] = context.userId;
  if (context.routeId !== undefined) attributes['tracehouse.proxy.route'] = context.routeId;
  if (call.upstream !== undefined) attributes['tracehouse.proxy.upstream'] = call.upstream;
  attributes['tracehouse.proxy.attempts'] = BigInt(call.attempts.length);
  if (call.httpStatus !== undefined) attributes['http.response.status_code'] = BigInt(call.httpStatus);
  if (call.providerRequestId !== undefined) attributes['tracehouse.proxy.provider_request_id'] = call.providerRequestId;
  if (call.cancelled) attributes['tracehouse.proxy.cancelled'] = true;
  if (call.failure !== undefined) attributes['error.type'] = call.failure;
  if (outcome.error?.type !== undefined) attributes['tracehouse.proxy.error_type'] = outcome.error.type;
  if (call.preflight) {
    attributes['tracehouse.proxy.preflight.blocked'] = call.preflight.blocked;
    if (call.preflight.findings.length > 0) attributes['tracehouse.proxy.preflight.findings'] = JSON.stringify(call.preflight.findings);
    Object.assign(attributes, call.preflight.attributes ?? {});
  }

  const failed = call.cancelled || call.failure !== undefined || (call.httpStatus !== undefined && call.httpStatus >= 400) || outcome.error !== undefined || outcome.status === 'failed';
  const message = call.cancelled
    ? 'cancelled: the client went away'
    : (outcome.error?.message ?? call.failure ?? (call.httpStatus !== undefined && call.httpStatus >= 400 ? `HTTP ${call.httpStatus}` : outcome.status === 'failed' ? 'response failed' : ''));
  const span = makeSpan({
    traceId,
    spanId,
    name: call.requestModel !== undefined ? `${operation} ${call.requestModel}` : operation,
    kind: 'client',
    startTimeUnixNano: call.startNanos,
    endTimeUnixNano: call.endNanos,
    status: failed ? { code: 'error', message: message.slice(0, 4096) } : { code: 'ok', message: '' },
    attributes,
  });
  const children = call.attempts.map((attempt, i) =>
    makeSpan({
      traceId,
      spanId: randomSpanId(),
      parentSpanId: spanId,
      name: `attempt ${attempt.upstream}`,
      kind: 'internal',
      startTimeUnixNano: attempt.startNanos,
      endTimeUnixNano: attempt.endNanos,
      status: attempt.error !== undefined ? { code: 'error', message: attempt.error } : { code: 'unset', message: '' },
      attributes: {
        'tracehouse.proxy.upstream': attempt.upstream,
        'tracehouse.proxy.attempt': BigInt(i + 1),
        'server.address': attempt.origin,
        ...(attempt.status !== undefined ? { 'http.response.status_code': BigInt(attempt.status) } : {}),
        ...(attempt.error !== undefined ? { 'error.type': attempt.error } : {}),
      },
    }),
  );
  return [span, ...children];
}

/** The HTTP client span of a passthrough call. */
export function httpSpan(fields: { context: CallContext; method: string; path: string; upstream: string; origin: string; status?: number; failure?: string; cancelled: boolean; startNanos: bigint; endNanos: bigint }): Span {
  const attributes: Attributes = {
    'http.request.method': fields.method,
    'url.path': fields.path,
    'server.address': fields.origin,
    'tracehouse.proxy.upstream': fields.upstream,
  };
  if (fields.status !== undefined) attributes['http.response.status_code'] = BigInt(fields.status);
  if (fields.failure !== undefined) attributes['error.type'] = fields.failure;
  if (fields.cancelled) attributes['tracehouse.proxy.cancelled'] = true;
  if (fields.context.taskId !== undefined) attributes['tracehouse.task'] = fields.context.taskId;
  if (fields.context.conversationId !== undefined) attributes['gen_ai.conversation.id'] = fields.context.conversationId;
  if (fields.context.userId !== undefined) attributes['enduser.id'] = fields.context.userId;
  const failed = fields.cancelled || fields.failure !== undefined || (fields.status ?? 0) >= 500;
  return makeSpan({
    traceId: traceOf(fields.context),
    spanId: randomSpanId(),
    name: `${fields.method} ${fields.path}`,
    kind: 'client',
    startTimeUnixNano: fields.startNanos,
    endTimeUnixNano: fields.endNanos,
    status: failed ? { code: 'error', message: fields.cancelled ? 'cancelled: the client went away' : (fields.failure ?? `HTTP ${fields.status}`) } : { code: 'unset', message: '' },
    attributes,
  });
}
