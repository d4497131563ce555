/**
 * What each column of the spans table holds for a span, as JS values, shared by both row encoders
 * (Native blocks in native.ts, JSONEachRow lines in rows.ts) so that they store identical rows.
 *
 * Every value is normalized into its column's domain here (timestamps clamped to what
 * DateTime64(9) holds, counters to their unsigned width, non-finite floats to 0), because one row
 * the engine cannot parse fails the whole insert for every caller sharing the batch.
 */
import {
  attributeAsNumber,
  attributeToString,
  type AttributeValue,
  type Attributes,
  type Span,
  type SpanKind,
  type StatusCode,
} from '../../core/span';

const MAX_INT64 = (1n << 63n) - 1n;
const MAX_UINT64 = (1n << 64n) - 1n;
const MAX_UINT32 = 0xffffffff;

export const SPAN_KIND: Record<SpanKind, string> = {
  unspecified: 'Unspecified',
  internal: 'Internal',
  server: 'Server',
  client: 'Client',
  producer: 'Producer',
  consumer: 'Consumer',
};

export const STATUS_CODE: Record<StatusCode, string> = { unset: 'Unset', ok: 'Ok', error: 'Error' };

export function spanKindName(span: Span): string {
  return SPAN_KIND[span.kind] ?? 'Unspecified';
}

export function statusCodeName(span: Span): string {
  return STATUS_CODE[span.status.code] ?? 'Unset';
}

/** DateTime64(9) ticks: outside 1970..2262 the engine cannot store the value, so it is clamped. */
export function clampNanos(value: bigint): bigint {
  if (value <= 0n) return 0n;
  return value > MAX_INT64 ? MAX_INT64 : value;
}

export function clampUint64(value: bigint): bigint {
  if (value <= 0n) return 0n;
  return value > MAX_UINT64 ? MAX_UINT64 : value;
}

export function clampUint32(value: number): number {
  if (!Number.isFinite(value) || value <= 0) return 0;
  return Math.min(Math.trunc(value), MAX_UINT32);
}

/** A UInt64 column from an attribute (token counts): exact for ints and digit strings, else 0. */
export function uint64Of(value: AttributeValue | undefined): bigint {
  if (typeof value === 'bigint') return clampUint64(value);
  if (typeof value === 'string' && /^\s*\d+\s*$/.test(value)) return clampUint64(BigInt(value.trim()));
  const n = attributeAsNumber(value);
  if (n === undefined || !Number.isFinite(n) || n <= 0) return 0n;
  // BigInt of a whole double is exact, so a float token count keeps every digit it has.
  return clampUint64(BigInt(Math.trunc(n)));
}

export function float64Of(value: AttributeValue | undefined): number {
  const n = attributeAsNumber(value);
  return n !== undefined && Number.isFinite(n) ? n : 0;
}

export function textOf(value: AttributeValue | undefined): string {
  return value === undefined ? '' : attributeToString(value);
}

export function firstOf(attributes: Attributes, keys: readonly string[]): AttributeValue | undefined {
  for (let i = 0; i < keys.length; i++) {
    const value = attributes[keys[i]];
    if (value !== undefined && value !== null && value !== '') return value;
  }
  return undefined;
}

/** Tracehouse context may be stamped on the span or, by an SDK, on its resource. */
export function contextOf(span: Span, keys: readonly string[]): string {
  return textOf(firstOf(span.attributes, keys) ?? firstOf(span.resource.attributes, keys));
}

const WORKSPACE = ['tracehouse.workspace'];
const PROJECT = ['tracehouse.project'];
// deployment.environment(.name) is what OpenTelemetry SDKs already set on the resource.
const ENVIRONMENT = ['tracehouse.environment', 'deployment.environment.name', 'deployment.environment'];
const PROVIDER = ['gen_ai.provider.name', 'gen_ai.system'];
const INPUT_TOKENS = ['gen_ai.usage.input_tokens', 'gen_ai.usage.prompt_tokens'];
const OUTPUT_TOKENS = ['gen_ai.usage.output_tokens', 'gen_ai.usage.completion_tokens'];
const INPUT = ['gen_ai.input.messages', 'gen_ai.prompt', 'input.value'];
const OUTPUT = ['gen_ai.output.messages', 'gen_ai.completion', 'output.value'];

type TextColumn = readonly [name: string, value: (span: Span) => string];

/** Tracehouse's columns after the Collector's, in table order: text ones up to the token counts. */
export const CONTEXT_COLUMNS: readonly TextColumn[] = [
  ['Workspace', (s) => contextOf(s, WORKSPACE)],
  ['Project', (s) => contextOf(s, PROJECT)],
  ['Environment', (s) => contextOf(s, ENVIRONMENT)],
  ['GenAIOperation', (s) => textOf(s.attributes['gen_ai.operation.name'])],
  ['GenAIProvider', (s) => textOf(firstOf(s.attributes, PROVIDER))],
  ['GenAIRequestModel', (s) => textOf(s.attributes['gen_ai.request.model'])],
  ['GenAIResponseModel', (s) => textOf(s.attributes['gen_ai.response.model'])],
];

export const inputTokens = (span: Span): bigint => uint64Of(firstOf(span.attributes, INPUT_TOKENS));
export const outputTokens = (span: Span): bigint => uint64Of(firstOf(span.attributes, OUTPUT_TOKENS));
export const costUsd = (span: Span): number => float64Of(span.attributes['tracehouse.cost_usd']);

/** The text columns after CostUsd, in table order. */
export const RESULT_COLUMNS: readonly TextColumn[] = [
  ['Verdict', (s) => textOf(s.attributes['tracehouse.verdict'])],
  ['Input', (s) => textOf(firstOf(s.attributes, INPUT))],
  ['Output', (s) => textOf(firstOf(s.attributes, OUTPUT))],
];

