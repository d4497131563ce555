/**
 * Decoded OTLP protobuf messages -> the span model. Messages come from the generated decoders fed
 * by OtlpReader, so 64-bit fields are usually bigints already; Long and number are still accepted
 * for messages built by other means.
 */
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
import type {
  AnyValueMsg,
  EventMsg,
  KeyValueMsg,
  LinkMsg,
  ResourceSpansMsg,
  ScopeMsg,
  SpanMsg,
} from './pb';
import { MAX_ANY_VALUE_DEPTH, anyValueTooDeep } from './limits';
import { longToBigInt, ulongToBigInt } from './proto-reader';

type Int64 = bigint | number | { low: number; high: number } | null | undefined;

const NO_ITEMS: readonly never[] = [];

function u64(value: Int64): bigint {
  if (typeof value === 'bigint') return value;
  if (value == null) return 0n;
  if (typeof value === 'number') return BigInt(value);
  return ulongToBigInt(value);
}

function i64(value: Int64): bigint {
  if (typeof value === 'bigint') return value;
  if (value == null) return 0n;
  if (typeof value === 'number') return BigInt(value);
  return longToBigInt(value);
}

function hex(bytes: Uint8Array | null | undefined): string {
  if (bytes == null || bytes.length === 0) return '';
  return Buffer.isBuffer(bytes)
    ? bytes.toString('hex')
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** `depth` is the level of the values in `list`: 1 for a span's own attributes (see limits.ts). */
function attributesFromProto(list: readonly KeyValueMsg[] | null | undefined, depth = 1): Attributes {
  const out: Attributes = {};
  if (list == null) return out;
  for (let i = 0; i < list.length; i++) {
    const kv = list[i];
    const key = kv.key ?? '';
    setAttribute(out, key, anyValue(kv.value, depth));
  }
  return out;
}

// Checks members directly: the generated `value` oneof getter walks Object.keys on every call.
function anyValue(v: AnyValueMsg | null | undefined, depth: number): AttributeValue {
  if (v == null) return null;
  if (depth > MAX_ANY_VALUE_DEPTH) throw anyValueTooDeep();
  if (v.stringValue != null) return v.stringValue;
  if (v.intValue != null) return i64(v.intValue);
  if (v.doubleValue != null) return v.doubleValue;
  if (v.boolValue != null) return v.boolValue;
  if (v.arrayValue != null) {
    const values = v.arrayValue.values ?? NO_ITEMS;
    const out: AttributeValue[] = new Array(values.length);
    for (let i = 0; i < values.length; i++) out[i] = anyValue(values[i], depth + 1);
    return out;
  }
  if (v.kvlistValue != null) return attributesFromProto(v.kvlistValue.values, depth + 1);
  // A copy: the decoded bytes are a view into the request buffer, which must not be pinned.
  if (v.bytesValue != null) return new Uint8Array(v.bytesValue);
  return null;
}

function scopeFromProto(scope: ScopeMsg | null | undefined): InstrumentationScope {
  if (scope == null) return { name: '', version: '', attributes: {}, droppedAttributesCount: 0 };
  return {
    name: scope.name ?? '',
    version: scope.version ?? '',
    attributes: attributesFromProto(scope.attributes),
    droppedAttributesCount: scope.droppedAttributesCount ?? 0,
  };
}

function eventsFromProto(list: readonly EventMsg[] | null | undefined): SpanEvent[] {
  if (list == null || list.length === 0) return [];
  const out: SpanEvent[] = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const e = list[i];
    out[i] = {
      timeUnixNano: u64(e.timeUnixNano),
      name: e.name ?? '',
      attributes: attributesFromProto(e.attributes),
      droppedAttributesCount: e.droppedAttributesCount ?? 0,
    };
  }
  return out;
}

function linksFromProto(list: readonly LinkMsg[] | null | undefined): SpanLink[] {
  if (list == null || list.length === 0) return [];
  const out: SpanLink[] = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const l = list[i];
    // Links may point at an invalid context (the spec allows it when attributes say why), so
    // their ids are kept as sent rather than validated.
    out[i] = {
      traceId: hex(l.traceId),
      spanId: hex(l.spanId),
      traceState: l.traceState ?? '',
      attributes: attributesFromProto(l.attributes),
      droppedAttributesCount: l.droppedAttributesCount ?? 0,
      flags: (l.flags ?? 0) >>> 0,
    };
  }
  return out;
}

function kindOf(kind: number | null | undefined): SpanKind {
  return SPAN_KINDS[kind ?? 0] ?? 'unspecified';
}

function statusCodeOf(code: number | null | undefined): StatusCode {
  return STATUS_CODES[code ?? 0] ?? 'unset';
}

function spanFromProto(
  s: SpanMsg,
  resource: Resource,
  scope: InstrumentationScope,
  scopeSchemaUrl: string,
  log: RejectionLog,
  r: number,
  sc: number,
  i: number,
): Span | undefined {
  const traceId = hex(s.traceId);
  const spanId = hex(s.spanId);
  let parentSpanId = hex(s.parentSpanId);
  // All-zero is how some SDKs spell "no parent"; the Collector treats it as empty too.
  if (parentSpanId === ZERO_SPAN_ID) parentSpanId = '';
  const start = u64(s.startTimeUnixNano);
  const end = u64(s.endTimeUnixNano);
  const problem = spanProblem(traceId, spanId, parentSpanId, start, end);
  if (problem !== undefined) {
    log.reject(r, sc, i, problem);
    return undefined;
  }
  const status = s.status;
  return {
    traceId,
    spanId,
    parentSpanId,
    traceState: s.traceState ?? '',
    flags: (s.flags ?? 0) >>> 0,
    name: s.name ?? '',
    kind: kindOf(s.kind),
    startTimeUnixNano: start,
    endTimeUnixNano: end,
    status: {
      code: status == null ? 'unset' : statusCodeOf(status.code),
      message: status?.message ?? '',
    },
    attributes: attributesFromProto(s.attributes),
    droppedAttributesCount: s.droppedAttributesCount ?? 0,
    events: eventsFromProto(s.events),
    droppedEventsCount: s.droppedEventsCount ?? 0,
    links: linksFromProto(s.links),
    droppedLinksCount: s.droppedLinksCount ?? 0,
    resource,
    scope,
    scopeSchemaUrl,
  };
}

/** Converts every span of a decoded request; resource and scope objects are shared, not copied. */
export function spansFromProto(
  resourceSpans: readonly ResourceSpansMsg[] | null | undefined,
  log: RejectionLog,
): Span[] {
  const spans: Span[] = [];
  if (resourceSpans == null) return spans;
  for (let r = 0; r < resourceSpans.length; r++) {
    const rs = resourceSpans[r];
    const res = rs.resource;
    const resource: Resource = {
      attributes: attributesFromProto(res?.attributes),
      droppedAttributesCount: res?.droppedAttributesCount ?? 0,
      schemaUrl: rs.schemaUrl ?? '',
    };
    const scopeSpans = rs.scopeSpans ?? NO_ITEMS;
    for (let sc = 0; sc < scopeSpans.length; sc++) {
      const ss = scopeSpans[sc];
      const scope = scopeFromProto(ss.scope);
      const schemaUrl = ss.schemaUrl ?? '';
      const list = ss.spans ?? NO_ITEMS;
      for (let i = 0; i < list.length; i++) {
        const span = spanFromProto(list[i], resource, scope, schemaUrl, log, r, sc, i);
        if (span !== undefined) spans.push(span);
      }
    }
  }
  return spans;
}
