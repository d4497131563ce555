/**
 * Span -> one JSONEachRow line of the spans table. Lines are built as text directly: the NDJSON
 * buffer goes to ClickHouse as-is (chdb's raw insert, or the HTTP body), so no row objects are
 * allocated, and nanosecond integers are written from bigint digits without touching a JS number.
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
  type InstrumentationScope,
  type Resource,
  type Span,
  type SpanKind,
  type StatusCode,
} from '../../core/span';

const MAX_INT64 = (1n << 63n) - 1n;
const MAX_UINT64 = (1n << 64n) - 1n;
const MAX_UINT32 = 0xffffffff;

const SPAN_KIND: Record<SpanKind, string> = {
  unspecified: 'Unspecified',
  internal: 'Internal',
  server: 'Server',
  client: 'Client',
  producer: 'Producer',
  consumer: 'Consumer',
};

const STATUS_CODE: Record<StatusCode, string> = { unset: 'Unset', ok: 'Ok', error: 'Error' };

interface WellFormed {
  isWellFormed(): boolean;
  toWellFormed(): string;
}

/**
 * JSON string literal. A lone UTF-16 surrogate would come out as a `\ud800` escape, which
 * ClickHouse refuses for the whole insert; it becomes U+FFFD instead, as any UTF-8 encoder does.
 */
function str(value: string): string {
  const checked = value as unknown as WellFormed;
  return JSON.stringify(checked.isWellFormed() ? value : checked.toWellFormed());
}

/**
 * DateTime64(9) in JSONEachRow: an unquoted integer is read as nanosecond ticks, while a quoted
 * digit string is read as *seconds* when it is short ("1700000000") — so always unquoted.
 * Outside 1970..2262 the engine cannot store the value; clamp instead of failing the batch.
 */
function nanos(value: bigint): string {
  if (value <= 0n) return '0';
  return (value > MAX_INT64 ? MAX_INT64 : value).toString();
}

function uint32(value: number): string {
  if (!Number.isFinite(value) || value <= 0) return '0';
  return String(Math.min(Math.trunc(value), MAX_UINT32));
}

function clampUint64(value: bigint): string {
  if (value <= 0n) return '0';
  return (value > MAX_UINT64 ? MAX_UINT64 : value).toString();
}

function uint64(value: AttributeValue | undefined): string {
  if (typeof value === 'bigint') return clampUint64(value);
  if (typeof value === 'string' && /^\s*\d+\s*$/.test(value)) return clampUint64(BigInt(value.trim()));
  const n = attributeAsNumber(value);
  if (n === undefined || !Number.isFinite(n) || n <= 0) return '0';
  // BigInt of a whole double is exact, so a float token count keeps every digit it has.
  return clampUint64(BigInt(Math.trunc(n)));
}

function float64(value: AttributeValue | undefined): string {
  const n = attributeAsNumber(value);
  return n !== undefined && Number.isFinite(n) ? String(n) : '0';
}

function text(value: AttributeValue | undefined): string {
  return value === undefined ? '""' : str(attributeToString(value));
}

function encodeMap(attributes: Attributes): string {
  let out = '{';
  let first = true;
  for (const key of Object.keys(attributes)) {
    out += (first ? '' : ',') + str(key) + ':' + str(attributeToString(attributes[key]));
    first = false;
  }
  return out + '}';
}

function firstOf(attributes: Attributes, keys: readonly string[]): AttributeValue | undefined {
  for (const key of keys) {
    const value = attributes[key];
    if (value !== undefined && value !== null && value !== '') return value;
  }
  return undefined;
}

// Resource and scope objects are shared by every span of one ResourceSpans/ScopeSpans; their
// encoded parts are computed once per object, not once per span.
interface ResourceParts {
  serviceName: string;
  attributes: string;
  schemaUrl: string;
}
const resourceCache = new WeakMap<Resource, ResourceParts>();

function resourceParts(resource: Resource): ResourceParts {
  let parts = resourceCache.get(resource);
  if (!parts) {
    const service = resource.attributes['service.name'];
    parts = {
      serviceName: text(service),
      attributes: encodeMap(resource.attributes),
      schemaUrl: str(resource.schemaUrl),
    };
    resourceCache.set(resource, parts);
  }
  return parts;
}

const scopeCache = new WeakMap<InstrumentationScope, string>();

function scopeParts(scope: InstrumentationScope): string {
  let parts = scopeCache.get(scope);
  if (parts === undefined) {
    parts = `"ScopeName":${str(scope.name)},"ScopeVersion":${str(scope.version)},"ScopeAttributes":${encodeMap(scope.attributes)}`;
    scopeCache.set(scope, parts);
  }
  return parts;
}

/** Tracehouse context may be stamped on the span or, by an SDK, on its resource. */
function contextValue(span: Span, keys: readonly string[]): string {
  return text(firstOf(span.attributes, keys) ?? firstOf(span.resource.attributes, keys));
}

function encodeEvents(span: Span): string {
  const times: string[] = [];
  const names: string[] = [];
  const attributes: string[] = [];
  for (const event of span.events) {
    times.push(nanos(event.timeUnixNano));
    names.push(str(event.name));
    attributes.push(encodeMap(event.attributes));
  }
  return `"Events.Timestamp":[${times.join(',')}],"Events.Name":[${names.join(',')}],"Events.Attributes":[${attributes.join(',')}]`;
}

function encodeLinks(span: Span): string {
  const traceIds: string[] = [];
  const spanIds: string[] = [];
  const states: string[] = [];
  const attributes: string[] = [];
  for (const link of span.links) {
    traceIds.push(str(link.traceId));
    spanIds.push(str(link.spanId));
    states.push(str(link.traceState));
    attributes.push(encodeMap(link.attributes));
  }
  return `"Links.TraceId":[${traceIds.join(',')}],"Links.SpanId":[${spanIds.join(',')}],"Links.TraceState":[${states.join(',')}],"Links.Attributes":[${attributes.join(',')}]`;
}

/** One JSONEachRow line (without the newline). */
export function encodeSpan(span: Span): string {
  const resource = resourceParts(span.resource);
  const attrs = span.attributes;
  const duration = span.endTimeUnixNano - span.startTimeUnixNano;
  return (
    `{"Timestamp":${nanos(span.startTimeUnixNano)}` +
    `,"TraceId":${str(span.traceId)},"SpanId":${str(span.spanId)}` +
    `,"ParentSpanId":${str(span.parentSpanId)},"TraceState":${str(span.traceState)}` +
    `,"SpanName":${str(span.name)},"SpanKind":"${SPAN_KIND[span.kind] ?? 'Unspecified'}"` +
    `,"ServiceName":${resource.serviceName},"ResourceAttributes":${resource.attributes}` +
    `,${scopeParts(span.scope)}` +
    `,"SpanAttributes":${encodeMap(attrs)}` +
    `,"Duration":${clampUint64(duration)}` +
    `,"StatusCode":"${STATUS_CODE[span.status.code] ?? 'Unset'}","StatusMessage":${str(span.status.message)}` +
    `,${encodeEvents(span)},${encodeLinks(span)}` +
    `,"ResourceSchemaUrl":${resource.schemaUrl},"ScopeSchemaUrl":${str(span.scopeSchemaUrl)}` +
    `,"TraceFlags":${uint32(span.flags)}` +
    `,"DroppedAttributesCount":${uint32(span.droppedAttributesCount)}` +
    `,"DroppedEventsCount":${uint32(span.droppedEventsCount)}` +
    `,"DroppedLinksCount":${uint32(span.droppedLinksCount)}` +
    `,"Workspace":${contextValue(span, WORKSPACE)},"Project":${contextValue(span, PROJECT)}` +
    `,"Environment":${contextValue(span, ENVIRONMENT)}` +
    `,"GenAIOperation":${text(attrs['gen_ai.operation.name'])}` +
    `,"GenAIProvider":${text(firstOf(attrs, PROVIDER))}` +
    `,"GenAIRequestModel":${text(attrs['gen_ai.request.model'])}` +
    `,"GenAIResponseModel":${text(attrs['gen_ai.response.model'])}` +
    `,"InputTokens":${uint64(firstOf(attrs, INPUT_TOKENS))}` +
    `,"OutputTokens":${uint64(firstOf(attrs, OUTPUT_TOKENS))}` +
    `,"CostUsd":${float64(attrs['tracehouse.cost_usd'])}` +
    `,"Verdict":${text(attrs['tracehouse.verdict'])}` +
    `,"Input":${text(firstOf(attrs, INPUT))},"Output":${text(firstOf(attrs, OUTPUT))}}`
  );
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

/** NDJSON for spans[from, to): one Buffer per chunk, ready for a raw JSONEachRow insert. */
export function encodeSpans(spans: readonly Span[], from = 0, to = spans.length): Buffer {
  // Each line is UTF-8 encoded straight into one growing buffer. Joining the lines first builds a
  // rope V8 must flatten and then encode: measured at about 3x the cost of encoding the rows.
  let buf = Buffer.allocUnsafe(Math.max(4096, (to - from) * 2048));
  let used = 0;
  for (let i = from; i < to; i++) {
    const line = encodeSpan(spans[i]);
    const worst = line.length * 3 + 1;
    if (used + worst > buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(buf.length * 2, used + worst));
      buf.copy(grown, 0, 0, used);
      buf = grown;
    }
    used += buf.write(line, used, 'utf8');
    buf[used++] = 0x0a;
  }
  return buf.subarray(0, used);
}
