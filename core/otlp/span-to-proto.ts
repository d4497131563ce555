/**
 * The span model -> plain objects shaped like the generated OTLP messages, ready for the static
 * encoder. Defaults are left out because the encoder skips them anyway.
 */
import type Long from 'long';
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
import type { AnyValueMsg, EventMsg, KeyValueMsg, LinkMsg, RequestMsg, ResourceSpansMsg, SpanMsg } from './pb';

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * The protobufjs writer reads any {low, high} pair as 64 bits, so a bigint is split into its two
 * words instead of going through a lossy number or a Long allocation.
 */
function toWire64(value: bigint): Long | number {
  if (value >= MIN_SAFE && value <= MAX_SAFE) return Number(value);
  return {
    low: Number(BigInt.asIntN(32, value)),
    high: Number(BigInt.asIntN(32, value >> 32n)),
  } as Long;
}

function idBytes(hex: string): Uint8Array {
  return Buffer.from(hex, 'hex');
}

function anyValueToProto(value: AttributeValue): AnyValueMsg {
  switch (typeof value) {
    case 'string':
      return { stringValue: value };
    case 'boolean':
      return { boolValue: value };
    case 'bigint':
      return { intValue: toWire64(value) };
    case 'number':
      return { doubleValue: value };
    default:
      break;
  }
  if (value === null || value === undefined) return {};
  if (value instanceof Uint8Array) return { bytesValue: value };
  if (Array.isArray(value)) return { arrayValue: { values: value.map(anyValueToProto) } };
  return { kvlistValue: { values: attributesToProto(value) } };
}

function attributesToProto(attributes: Attributes): KeyValueMsg[] {
  return mapAttributes(attributes, (key, value) => ({ key, value: anyValueToProto(value) }));
}

function eventToProto(e: SpanEvent): EventMsg {
  return {
    timeUnixNano: toWire64(e.timeUnixNano),
    name: e.name,
    attributes: attributesToProto(e.attributes),
    droppedAttributesCount: e.droppedAttributesCount,
  };
}

function linkToProto(l: SpanLink): LinkMsg {
  return {
    traceId: idBytes(l.traceId),
    spanId: idBytes(l.spanId),
    traceState: l.traceState,
    attributes: attributesToProto(l.attributes),
    droppedAttributesCount: l.droppedAttributesCount,
    flags: l.flags,
  };
}

function spanToProto(s: Span): SpanMsg {
  return {
    traceId: idBytes(s.traceId),
    spanId: idBytes(s.spanId),
    traceState: s.traceState,
    parentSpanId: idBytes(s.parentSpanId),
    flags: s.flags,
    name: s.name,
    kind: Math.max(0, SPAN_KINDS.indexOf(s.kind)),
    startTimeUnixNano: toWire64(s.startTimeUnixNano),
    endTimeUnixNano: toWire64(s.endTimeUnixNano),
    attributes: attributesToProto(s.attributes),
    droppedAttributesCount: s.droppedAttributesCount,
    events: s.events.map(eventToProto),
    droppedEventsCount: s.droppedEventsCount,
    links: s.links.map(linkToProto),
    droppedLinksCount: s.droppedLinksCount,
    // An unset, empty status is the default and need not be on the wire.
    status:
      s.status.code === 'unset' && s.status.message === ''
        ? undefined
        : { code: Math.max(0, STATUS_CODES.indexOf(s.status.code)), message: s.status.message },
  };
}

export function spansToProtoRequest(batch: SpanBatch): RequestMsg {
  const resourceSpans: ResourceSpansMsg[] = [];
  for (const rg of groupSpans(batch)) {
    resourceSpans.push({
      resource: {
        attributes: attributesToProto(rg.resource.attributes),
        droppedAttributesCount: rg.resource.droppedAttributesCount,
      },
      schemaUrl: rg.resource.schemaUrl,
      scopeSpans: rg.scopes.map((sg) => ({
        scope: {
          name: sg.scope.name,
          version: sg.scope.version,
          attributes: attributesToProto(sg.scope.attributes),
          droppedAttributesCount: sg.scope.droppedAttributesCount,
        },
        schemaUrl: sg.schemaUrl,
        spans: sg.spans.map(spanToProto),
      })),
    });
  }
  return { resourceSpans };
}
