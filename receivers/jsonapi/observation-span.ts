import { flattenJson, jsonText } from '../../core/ingest/attributes';
import { spanIdFor } from '../../core/ingest/ids';
import { makeSpan } from '../../core/span';
import type { Attributes, Span, SpanKind } from '../../core/span';
import { addSharedAttributes, spanStatusOf } from './common-attributes';
import { inputMessages, outputMessages } from './messages';
import { rfc3339Nanos } from './rfc3339';
import type { ObservationAttributes } from './schema';
import type { TraceRef } from './trace-span';

const SPAN_HEX = /^[0-9a-fA-F]{16}$/;

/** Calls out to a provider are client spans; tool runs, evals and system steps are local work. */
const SPAN_KIND: Record<ObservationAttributes['kind'], SpanKind> = {
  llm: 'client',
  retrieval: 'client',
  rerank: 'client',
  tool: 'internal',
  eval: 'internal',
  system: 'internal',
};

/**
 * A 16-hex observation id is an OTLP span id already and is kept; any other id is hashed under an
 * "observation:" namespace, so that no id can land on the trace's root span.
 */
export function observationSpanId(trace: TraceRef, observationId: string): string {
  return spanIdFor(trace.workspace, trace.traceId, SPAN_HEX.test(observationId) ? observationId : `observation:${observationId}`);
}

/** The observation as a child span of the trace's root span. */
export function observationSpan(trace: TraceRef, observationId: string, attrs: ObservationAttributes, context: Attributes): Span {
  const operation = operationOf(attrs);
  const start = rfc3339Nanos(attrs.started_at) ?? 0n;
  const end = rfc3339Nanos(attrs.ended_at) ?? start;
  return makeSpan({
    traceId: trace.traceId,
    spanId: observationSpanId(trace, observationId),
    parentSpanId: trace.rootSpanId,
    name: attrs.name ?? `${operation ?? attrs.kind} ${attrs.model}`,
    kind: SPAN_KIND[attrs.kind],
    startTimeUnixNano: start,
    endTimeUnixNano: end,
    status: spanStatusOf(attrs.status, attrs.error),
    attributes: observationAttributes(trace, observationId, attrs, operation, context),
  });
}

/** The GenAI operation of an observation; a system step is internal work and has none. */
function operationOf(attrs: ObservationAttributes): string | undefined {
  switch (attrs.kind) {
    case 'llm':
      return llmOperation(attrs.endpoint);
    case 'tool':
      return 'execute_tool';
    case 'retrieval':
      return 'retrieval';
    case 'rerank':
      return 'rerank';
    case 'eval':
      return 'evaluate';
    case 'system':
      return undefined;
  }
}

/** The endpoint says what an LLM call was: chat.completions, embeddings, completions, generateContent. */
function llmOperation(endpoint: string): string {
  const e = endpoint.toLowerCase();
  if (e.includes('embed')) return 'embeddings';
  if (e.includes('generate_content') || e.includes('generatecontent')) return 'generate_content';
  if (/chat|messages|responses|conversation/.test(e)) return 'chat';
  if (e.includes('completion')) return 'text_completion';
  return 'chat';
}

function observationAttributes(trace: TraceRef, observationId: string, attrs: ObservationAttributes, operation: string | undefined, context: Attributes): Attributes {
  const out: Attributes = {
    'jsonapi.type': 'observation',
    'jsonapi.id': observationId,
    'jsonapi.trace_id': trace.resourceId,
    'jsonapi.observation.kind': attrs.kind,
    'jsonapi.observation.endpoint': attrs.endpoint,
    ...context,
  };
  if (operation) out['gen_ai.operation.name'] = operation;
  out['gen_ai.provider.name'] = attrs.provider;
  out['gen_ai.request.model'] = attrs.model;
  out['gen_ai.response.model'] = attrs.model_version ?? attrs.model;
  if (attrs.provider_response_id) out['gen_ai.response.id'] = attrs.provider_response_id;
  if (attrs.provider_request_id) out['jsonapi.provider_request_id'] = attrs.provider_request_id;
  if (attrs.region) out['cloud.region'] = attrs.region;
  addParameters(out, attrs.parameters);
  addPayloads(out, attrs);
  addUsage(out, attrs.usage);
  addCost(out, attrs.cost);
  addSharedAttributes(out, attrs);
  return out;
}

type ParameterType = 'double' | 'int' | 'strings';
const REQUEST_PARAMETERS: Record<string, [string, ParameterType]> = {
  temperature: ['gen_ai.request.temperature', 'double'],
  top_p: ['gen_ai.request.top_p', 'double'],
  top_k: ['gen_ai.request.top_k', 'double'],
  frequency_penalty: ['gen_ai.request.frequency_penalty', 'double'],
  presence_penalty: ['gen_ai.request.presence_penalty', 'double'],
  max_output_tokens: ['gen_ai.request.max_tokens', 'int'],
  max_tokens: ['gen_ai.request.max_tokens', 'int'],
  seed: ['gen_ai.request.seed', 'int'],
  n: ['gen_ai.request.choice.count', 'int'],
  stop: ['gen_ai.request.stop_sequences', 'strings'],
};

/** Known sampling parameters become gen_ai.request.*; the rest (and ill-typed ones) jsonapi.parameters.*. */
function addParameters(out: Attributes, parameters: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(parameters)) {
    const known = REQUEST_PARAMETERS[key];
    if (known && typeof value === 'number' && known[1] === 'double') out[known[0]] = value;
    else if (known && known[1] === 'int' && Number.isSafeInteger(value)) out[known[0]] = BigInt(value as number);
    else if (known && known[1] === 'strings' && typeof value === 'string') out[known[0]] = [value];
    else if (known && known[1] === 'strings' && Array.isArray(value) && value.every((v) => typeof v === 'string')) out[known[0]] = value as string[];
    else flattenJson(out, `jsonapi.parameters.${key}`, value);
  }
}

function addPayloads(out: Attributes, attrs: ObservationAttributes): void {
  const input = inputMessages(attrs.input);
  if (input) {
    out['gen_ai.input.messages'] = JSON.stringify(input.messages);
    if (Object.keys(input.rest).length > 0) out['jsonapi.input.extra'] = JSON.stringify(input.rest);
  } else {
    out['input.value'] = jsonText(attrs.input);
  }
  const output = outputMessages(attrs.output);
  if (output) {
    out['gen_ai.output.messages'] = JSON.stringify(output.messages);
    if (output.finishReasons.length > 0) out['gen_ai.response.finish_reasons'] = output.finishReasons;
    if (Object.keys(output.rest).length > 0) out['jsonapi.output.extra'] = JSON.stringify(output.rest);
  } else {
    out['output.value'] = jsonText(attrs.output);
  }
  if (attrs.kind === 'tool') {
    out['gen_ai.tool.name'] = attrs.name ?? attrs.endpoint;
    out['gen_ai.tool.call.arguments'] = jsonText(attrs.input);
    out['gen_ai.tool.call.result'] = jsonText(attrs.output);
  }
}

function addUsage(out: Attributes, usage: ObservationAttributes['usage']): void {
  if (!usage) return;
  if (typeof usage.input_tokens === 'number') out['gen_ai.usage.input_tokens'] = BigInt(usage.input_tokens);
  if (typeof usage.output_tokens === 'number') out['gen_ai.usage.output_tokens'] = BigInt(usage.output_tokens);
  if (typeof usage.total_tokens === 'number') out['gen_ai.usage.total_tokens'] = BigInt(usage.total_tokens);
  for (const key of ['compute_time_ms', 'input_time_ms', 'output_time_ms', 'total_time_ms'] as const) {
    const value = usage[key];
    if (typeof value === 'number') out[`jsonapi.usage.${key}`] = value;
  }
}

/** Only a USD cost feeds tracehouse.cost_usd (summed as dollars); another currency is kept apart. */
function addCost(out: Attributes, cost: ObservationAttributes['cost']): void {
  if (!cost) return;
  if (cost.currency.toUpperCase() === 'USD') {
    out['tracehouse.cost_usd'] = cost.total;
  } else {
    out['tracehouse.cost'] = cost.total;
    out['tracehouse.cost.currency'] = cost.currency;
  }
  if (typeof cost.estimated === 'boolean') out['tracehouse.cost.estimated'] = cost.estimated;
}
