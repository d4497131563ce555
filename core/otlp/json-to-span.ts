/**
 * OTLP/JSON (already parsed) -> the span model, following the spec's "JSON Protobuf Encoding":
 * hex ids, int64 as decimal strings (numbers accepted), enums as integers (names accepted),
 * base64 bytes, lowerCamelCase keys. snake_case keys are accepted as the Collector does, and
 * unknown keys are ignored. Structural errors throw; bad ids or times only reject their span.
 */
import { PermanentError } from '../errors';
import {
  SPAN_KINDS,
  setAttribute,
  STATUS_CODES,
  type AttributeValue,
  type Attributes,
  type InstrumentationScope,
  type Resource,
  type Span,
  type SpanEvent,
  type SpanKind,
  type SpanLink,
  type StatusCode,
} from '../span';
import { RejectionLog, ZERO_SPAN_ID, spanProblem } from './decoded-traces';
import { INT64_MAX, INT64_MIN, MAX_ANY_VALUE_DEPTH, UINT64_MAX, anyValueTooDeep, decimalToBigInt } from './limits';

type JsonObject = { [key: string]: unknown };

export const BAD_LINK_ID = 'links must carry hex trace_id and span_id';

const NO_ITEMS: readonly unknown[] = [];
const INT_RE = /^-?\d+$/;
const UINT_RE = /^\d+$/;
const HEX_RE = /^[0-9a-fA-F]*$/;
const KIND_NAMES = [
  'SPAN_KIND_UNSPECIFIED',
  'SPAN_KIND_INTERNAL',
  'SPAN_KIND_SERVER',
  'SPAN_KIND_CLIENT',
  'SPAN_KIND_PRODUCER',
  'SPAN_KIND_CONSUMER',
];
const STATUS_NAMES = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];

function fail(message: string): never {
  throw new PermanentError('RCV_DECODE', `invalid OTLP/JSON: ${message}`);
}

// The camelCase spelling is what the spec mandates, so it is looked up first.
function get(o: JsonObject, camel: string, snake: string): unknown {
  const v = o[camel];
  return v === undefined ? o[snake] : v;
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function arrayOf(v: unknown, what: string): readonly unknown[] {
  if (v == null) return NO_ITEMS;
  if (!Array.isArray(v)) fail(`${what} must be an array`);
  return v;
}

function objectOf(v: unknown, what: string): JsonObject | undefined {
  if (v == null) return undefined;
  if (!isObject(v)) fail(`${what} must be an object`);
  return v;
}

function str(v: unknown, what: string): string {
  if (v == null) return '';
  if (typeof v !== 'string') fail(`${what} must be a string`);
  return v;
}

function uint32(v: unknown, what: string): number {
  if (v == null) return 0;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff) return v;
  if (typeof v === 'string' && UINT_RE.test(v) && Number(v) <= 0xffffffff) return Number(v);
  return fail(`${what} must be an unsigned 32-bit integer`);
}

// Integer strings go straight to BigInt: a detour through Number would round above 2^53.
function integer(v: unknown, what: string): bigint {
  if (typeof v === 'string') {
    const n = decimalToBigInt(v);
    if (n !== undefined) return n;
  }
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  return fail(`${what} must be an integer or a decimal string`);
}

// Protobuf cannot carry an int64 outside its range, so JSON must not either.
function int64(v: unknown, what: string): bigint {
  const n = integer(v, what);
  if (n < INT64_MIN || n > INT64_MAX) fail(`${what} must be a signed 64-bit integer`);
  return n;
}

function uint64(v: unknown, what: string): bigint {
  if (v == null) return 0n;
  const n = integer(v, what);
  if (n < 0n || n > UINT64_MAX) fail(`${what} must be an unsigned 64-bit integer`);
  return n;
}

function enumIndex(v: unknown, names: readonly string[], what: string): number {
  if (v == null) return 0;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string') {
    const i = names.indexOf(v);
    if (i >= 0) return i;
    if (INT_RE.test(v)) return Number(v);
  }
  return fail(`${what} must be an enum number or name`);
}

/** Lowercase hex, '' when absent, null when not hex at all (the span is then rejected). */
function hexId(v: unknown): string | null {
  if (v == null || v === '') return '';
  if (typeof v !== 'string' || (v.length & 1) !== 0 || !HEX_RE.test(v)) return null;
  return v.toLowerCase();
}

function double(v: unknown): number {
  if (typeof v === 'number') return v;
  // proto3 JSON spells the non-finite doubles as strings; numeric strings are accepted too.
  if (typeof v === 'string') {
    if (v === 'NaN') return NaN;
    if (v === 'Infinity') return Infinity;
    if (v === '-Infinity') return -Infinity;
    const n = Number(v);
    if (v.trim() !== '' && !Number.isNaN(n)) return n;
  }
  return fail('doubleValue must be a number');
}

function bytes(v: unknown): Uint8Array {
  if (typeof v !== 'string') fail('bytesValue must be a base64 string');
  const b = Buffer.from(v, 'base64');
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** `depth` is this value's level: 1 for an attribute's own value, +1 inside each array or kvlist. */
function anyValue(v: unknown, depth: number): AttributeValue {
  if (v == null) return null;
  if (depth > MAX_ANY_VALUE_DEPTH) throw anyValueTooDeep();
  if (!isObject(v)) fail('attribute value must be an AnyValue object');
  let x = get(v, 'stringValue', 'string_value');
  if (x != null) return str(x, 'stringValue');
  x = get(v, 'intValue', 'int_value');
  if (x != null) return int64(x, 'intValue');
  x = get(v, 'doubleValue', 'double_value');
  if (x != null) return double(x);
  x = get(v, 'boolValue', 'bool_value');
  if (x != null) {
    if (typeof x !== 'boolean') fail('boolValue must be a boolean');
    return x;
  }
  x = get(v, 'arrayValue', 'array_value');
  if (x != null) {
    const values = arrayOf(objectOf(x, 'arrayValue')?.values, 'arrayValue.values');
    const out: AttributeValue[] = new Array(values.length);
    for (let i = 0; i < values.length; i++) out[i] = anyValue(values[i], depth + 1);
    return out;
  }
  x = get(v, 'kvlistValue', 'kvlist_value');
  if (x != null) return attributesFromJson(objectOf(x, 'kvlistValue')?.values, depth + 1);
  x = get(v, 'bytesValue', 'bytes_value');
  if (x != null) return bytes(x);
  return null;
}

function attributesFromJson(v: unknown, depth = 1): Attributes {
  const list = arrayOf(v, 'attributes');
  const out: Attributes = {};
  for (let i = 0; i < list.length; i++) {
    const kv = list[i];
    if (!isObject(kv)) fail('attributes must hold {key, value} objects');
    const key = str(kv.key, 'attribute key');
    setAttribute(out, key, anyValue(kv.value, depth));
  }
  return out;
}

function scopeFromJson(v: unknown): InstrumentationScope {
  const scope = objectOf(v, 'scope');
  if (scope === undefined) return { name: '', version: '', attributes: {}, droppedAttributesCount: 0 };
  return {
    name: str(scope.name, 'scope.name'),
    version: str(scope.version, 'scope.version'),
    attributes: attributesFromJson(scope.attributes),
    droppedAttributesCount: uint32(get(scope, 'droppedAttributesCount', 'dropped_attributes_count'), 'scope.droppedAttributesCount'),
  };
}

function resourceFromJson(rs: JsonObject): Resource {
  const res = objectOf(rs.resource, 'resource');
  return {
    attributes: attributesFromJson(res?.attributes),
    droppedAttributesCount: res === undefined ? 0 : uint32(get(res, 'droppedAttributesCount', 'dropped_attributes_count'), 'resource.droppedAttributesCount'),
    schemaUrl: str(get(rs, 'schemaUrl', 'schema_url'), 'schemaUrl'),
  };
}

function eventsFromJson(v: unknown): SpanEvent[] {
  const list = arrayOf(v, 'events');
  const out: SpanEvent[] = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const e = objectOf(list[i], 'event') ?? {};
    out[i] = {
      timeUnixNano: uint64(get(e, 'timeUnixNano', 'time_unix_nano'), 'event timeUnixNano'),
      name: str(e.name, 'event name'),
      attributes: attributesFromJson(e.attributes),
      droppedAttributesCount: uint32(get(e, 'droppedAttributesCount', 'dropped_attributes_count'), 'event droppedAttributesCount'),
    };
  }
  return out;
}

/** Returns undefined when a link id is not hex, which rejects the span. */
function linksFromJson(v: unknown): SpanLink[] | undefined {
  const list = arrayOf(v, 'links');
  const out: SpanLink[] = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const l = objectOf(list[i], 'link') ?? {};
    const traceId = hexId(get(l, 'traceId', 'trace_id'));
    const spanId = hexId(get(l, 'spanId', 'span_id'));
    if (traceId === null || spanId === null) return undefined;
    out[i] = {
      traceId,
      spanId,
      traceState: str(get(l, 'traceState', 'trace_state'), 'link traceState'),
      attributes: attributesFromJson(l.attributes),
      droppedAttributesCount: uint32(get(l, 'droppedAttributesCount', 'dropped_attributes_count'), 'link droppedAttributesCount'),
      flags: uint32(l.flags, 'link flags'),
    };
  }
  return out;
}

function spanFromJson(
  s: JsonObject,
  resource: Resource,
  scope: InstrumentationScope,
  scopeSchemaUrl: string,
  log: RejectionLog,
  r: number,
  sc: number,
  i: number,
): Span | undefined {
  const traceId = hexId(get(s, 'traceId', 'trace_id'));
  const spanId = hexId(get(s, 'spanId', 'span_id'));
  let parentSpanId = hexId(get(s, 'parentSpanId', 'parent_span_id'));
  if (parentSpanId === ZERO_SPAN_ID) parentSpanId = '';
  const start = uint64(get(s, 'startTimeUnixNano', 'start_time_unix_nano'), 'startTimeUnixNano');
  const end = uint64(get(s, 'endTimeUnixNano', 'end_time_unix_nano'), 'endTimeUnixNano');
  const problem = spanProblem(traceId, spanId, parentSpanId, start, end);
  if (problem !== undefined) {
    log.reject(r, sc, i, problem);
    return undefined;
  }
  const links = linksFromJson(s.links);
  if (links === undefined) {
    log.reject(r, sc, i, BAD_LINK_ID);
    return undefined;
  }
  const status = objectOf(s.status, 'status');
  const kind: SpanKind = SPAN_KINDS[enumIndex(s.kind, KIND_NAMES, 'kind')] ?? 'unspecified';
  const code: StatusCode =
    status === undefined ? 'unset' : (STATUS_CODES[enumIndex(status.code, STATUS_NAMES, 'status.code')] ?? 'unset');
  return {
    traceId: traceId as string,
    spanId: spanId as string,
    parentSpanId: parentSpanId as string,
    traceState: str(get(s, 'traceState', 'trace_state'), 'traceState'),
    flags: uint32(s.flags, 'flags'),
    name: str(s.name, 'name'),
    kind,
    startTimeUnixNano: start,
    endTimeUnixNano: end,
    status: { code, message: str(status?.message, 'status.message') },
    attributes: attributesFromJson(s.attributes),
    droppedAttributesCount: uint32(get(s, 'droppedAttributesCount', 'dropped_attributes_count'), 'droppedAttributesCount'),
    events: eventsFromJson(s.events),
    droppedEventsCount: uint32(get(s, 'droppedEventsCount', 'dropped_events_count'), 'droppedEventsCount'),
    links,
    droppedLinksCount: uint32(get(s, 'droppedLinksCount', 'dropped_links_count'), 'droppedLinksCount'),
    resource,
    scope,
    scopeSchemaUrl,
  };
}

/** Converts a parsed ExportTraceServiceRequest; resource and scope objects are shared per group. */
export function spansFromJson(request: unknown, log: RejectionLog): Span[] {
  if (!isObject(request)) fail('the request must be a JSON object');
  const resourceSpans = arrayOf(get(request, 'resourceSpans', 'resource_spans'), 'resourceSpans');
  const spans: Span[] = [];
  for (let r = 0; r < resourceSpans.length; r++) {
    const rs = objectOf(resourceSpans[r], 'resourceSpans[]') ?? {};
    const resource = resourceFromJson(rs);
    const scopeSpans = arrayOf(get(rs, 'scopeSpans', 'scope_spans'), 'scopeSpans');
    for (let sc = 0; sc < scopeSpans.length; sc++) {
      const ss = objectOf(scopeSpans[sc], 'scopeSpans[]') ?? {};
      const scope = scopeFromJson(ss.scope);
      const schemaUrl = str(get(ss, 'schemaUrl', 'schema_url'), 'scopeSpans.schemaUrl');
      const list = arrayOf(ss.spans, 'spans');
      for (let i = 0; i < list.length; i++) {
        const s = objectOf(list[i], 'spans[]') ?? {};
        const span = spanFromJson(s, resource, scope, schemaUrl, log, r, sc, i);
        if (span !== undefined) spans.push(span);
      }
    }
  }
  return spans;
}
