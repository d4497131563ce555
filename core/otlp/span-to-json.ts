/**
 * The span model -> OTLP/JSON objects per the spec's JSON Protobuf Encoding: hex ids, int64 as
 * decimal strings, enums as integers, bytes as base64, and default values left out.
 */
import {
  SPAN_KINDS,
  STATUS_CODES,
  mapAttributes,
  type AttributeValue,
  type Attributes,
  type Span,
  type SpanBatch,
  type SpanEvent,
  type SpanLink,
} from '../span';
import { groupSpans } from './group-spans';

type JsonObject = { [key: string]: unknown };

function doubleToJson(value: number): number | string {
  // JSON has no NaN/Infinity literals; proto3 JSON spells them as strings.
  if (Number.isFinite(value)) return value;
  return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
}

function anyValueToJson(value: AttributeValue): JsonObject {
  switch (typeof value) {
    case 'string':
      return { stringValue: value };
    case 'boolean':
      return { boolValue: value };
    case 'bigint':
      return { intValue: value.toString() };
    case 'number':
      return { doubleValue: doubleToJson(value) };
    default:
      break;
  }
  if (value === null || value === undefined) return {};
  if (value instanceof Uint8Array) {
    return { bytesValue: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  }
  if (Array.isArray(value)) return { arrayValue: { values: value.map(anyValueToJson) } };
  return { kvlistValue: { values: attributesToJson(value) } };
}

function attributesToJson(attributes: Attributes): JsonObject[] {
  return mapAttributes(attributes, (key, value) => ({ key, value: anyValueToJson(value) }));
}

/** Sets a field only when it differs from its proto3 default, as proto3 JSON printers do. */
function put(o: JsonObject, key: string, value: unknown): void {
  if (value === '' || value === 0 || (Array.isArray(value) && value.length === 0)) return;
  o[key] = value;
}

function eventToJson(e: SpanEvent): JsonObject {
  const o: JsonObject = { timeUnixNano: e.timeUnixNano.toString(), name: e.name };
  put(o, 'attributes', attributesToJson(e.attributes));
  put(o, 'droppedAttributesCount', e.droppedAttributesCount);
  return o;
}

function linkToJson(l: SpanLink): JsonObject {
  const o: JsonObject = { traceId: l.traceId, spanId: l.spanId };
  put(o, 'traceState', l.traceState);
  put(o, 'attributes', attributesToJson(l.attributes));
  put(o, 'droppedAttributesCount', l.droppedAttributesCount);
  put(o, 'flags', l.flags);
  return o;
}

function spanToJson(s: Span): JsonObject {
  const o: JsonObject = { traceId: s.traceId, spanId: s.spanId };
  put(o, 'traceState', s.traceState);
  put(o, 'parentSpanId', s.parentSpanId);
  put(o, 'flags', s.flags);
  o.name = s.name;
  o.kind = Math.max(0, SPAN_KINDS.indexOf(s.kind));
  o.startTimeUnixNano = s.startTimeUnixNano.toString();
  o.endTimeUnixNano = s.endTimeUnixNano.toString();
  put(o, 'attributes', attributesToJson(s.attributes));
  put(o, 'droppedAttributesCount', s.droppedAttributesCount);
  put(o, 'events', s.events.map(eventToJson));
  put(o, 'droppedEventsCount', s.droppedEventsCount);
  put(o, 'links', s.links.map(linkToJson));
  put(o, 'droppedLinksCount', s.droppedLinksCount);
  if (s.status.code !== 'unset' || s.status.message !== '') {
    const status: JsonObject = {};
    put(status, 'message', s.status.message);
    put(status, 'code', Math.max(0, STATUS_CODES.indexOf(s.status.code)));
    o.status = status;
  }
  return o;
}

function scopeToJson(scope: Span['scope']): JsonObject {
  const o: JsonObject = {};
  put(o, 'name', scope.name);
  put(o, 'version', scope.version);
  put(o, 'attributes', attributesToJson(scope.attributes));
  put(o, 'droppedAttributesCount', scope.droppedAttributesCount);
  return o;
}

function resourceToJson(resource: Span['resource']): JsonObject {
  const o: JsonObject = {};
  put(o, 'attributes', attributesToJson(resource.attributes));
  put(o, 'droppedAttributesCount', resource.droppedAttributesCount);
  return o;
}

export function spansToJsonRequest(batch: SpanBatch): JsonObject {
  const resourceSpans: JsonObject[] = [];
  for (const rg of groupSpans(batch)) {
    const rs: JsonObject = {
      resource: resourceToJson(rg.resource),
      scopeSpans: rg.scopes.map((sg) => {
        const ss: JsonObject = { scope: scopeToJson(sg.scope), spans: sg.spans.map(spanToJson) };
        put(ss, 'schemaUrl', sg.schemaUrl);
        return ss;
      }),
    };
    put(rs, 'schemaUrl', rg.resource.schemaUrl);
    resourceSpans.push(rs);
  }
  return { resourceSpans };
}
