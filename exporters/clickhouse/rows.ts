/**
 * Span -> one JSONEachRow line of the spans table: the text form the Native blocks (native.ts) are
 * tested against, and the bench's comparison with them (bench/clickhouse-insert.ts). Lines are
 * built as text directly, so no row objects are allocated, and nanosecond integers are written
 * from bigint digits without touching a JS number. Column values come from span-columns.ts.
 */
import type { AttributeValue, Attributes, InstrumentationScope, Resource, Span } from '../../core/span';
import {
  clampNanos,
  clampUint32,
  clampUint64,
  CONTEXT_COLUMNS,
  costUsd,
  inputTokens,
  outputTokens,
  RESULT_COLUMNS,
  spanKindName,
  statusCodeName,
  textOf,
} from './span-columns';

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
 */
function nanos(value: bigint): string {
  return clampNanos(value).toString();
}

function text(value: AttributeValue | undefined): string {
  return str(textOf(value));
}

function encodeMap(attributes: Attributes): string {
  let out = '{';
  let first = true;
  for (const key of Object.keys(attributes)) {
    out += (first ? '' : ',') + str(key) + ':' + str(textOf(attributes[key]));
    first = false;
  }
  return out + '}';
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

/** `,"Name":"value"` for each text column of the list. */
function textColumns(span: Span, columns: typeof CONTEXT_COLUMNS): string {
  let out = '';
  for (const [name, value] of columns) out += `,"${name}":${str(value(span))}`;
  return out;
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
    `,"SpanName":${str(span.name)},"SpanKind":"${spanKindName(span)}"` +
    `,"ServiceName":${resource.serviceName},"ResourceAttributes":${resource.attributes}` +
    `,${scopeParts(span.scope)}` +
    `,"SpanAttributes":${encodeMap(attrs)}` +
    `,"Duration":${clampUint64(duration).toString()}` +
    `,"StatusCode":"${statusCodeName(span)}","StatusMessage":${str(span.status.message)}` +
    `,${encodeEvents(span)},${encodeLinks(span)}` +
    `,"ResourceSchemaUrl":${resource.schemaUrl},"ScopeSchemaUrl":${str(span.scopeSchemaUrl)}` +
    `,"TraceFlags":${clampUint32(span.flags)}` +
    `,"DroppedAttributesCount":${clampUint32(span.droppedAttributesCount)}` +
    `,"DroppedEventsCount":${clampUint32(span.droppedEventsCount)}` +
    `,"DroppedLinksCount":${clampUint32(span.droppedLinksCount)}` +
    textColumns(span, CONTEXT_COLUMNS) +
    `,"InputTokens":${inputTokens(span).toString()}` +
    `,"OutputTokens":${outputTokens(span).toString()}` +
    `,"CostUsd":${String(costUsd(span))}` +
    textColumns(span, RESULT_COLUMNS) +
    '}'
  );
}

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
