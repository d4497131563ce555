/** Encoding the span model back to OTLP, and the receiver's response and error bodies. */
import path from 'path';
import * as protobuf from 'protobufjs';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { decodeTraceRequestJson, decodeTraceRequestProto } from '../../../core/otlp/decode';
import {
  encodeRpcStatus,
  encodeTraceRequestJson,
  encodeTraceRequestProto,
  encodeTraceResponse,
} from '../../../core/otlp/encode';
import { ExportTraceServiceResponse, RpcStatus } from '../../../core/otlp/pb';
import { makeSpan, type InstrumentationScope, type Resource, type Span } from '../../../core/span';

const resourceA: Resource = { attributes: { 'service.name': 'a', big: 2n ** 62n }, droppedAttributesCount: 1, schemaUrl: 'https://s/a' };
const resourceB: Resource = { attributes: { 'service.name': 'b' }, droppedAttributesCount: 0, schemaUrl: '' };
const scopeX: InstrumentationScope = { name: 'x', version: '1', attributes: { k: 'v' }, droppedAttributesCount: 2 };
const scopeY: InstrumentationScope = { name: 'y', version: '', attributes: {}, droppedAttributesCount: 0 };

function fullSpan(n: number, resource: Resource, scope: InstrumentationScope): Span {
  return makeSpan({
    traceId: `${n}`.padStart(32, 'a'),
    spanId: `${n}`.padStart(16, 'b'),
    parentSpanId: n % 2 === 0 ? '' : 'c'.repeat(16),
    traceState: n === 1 ? 'vendor=1' : '',
    flags: 0x101,
    name: `span-${n}`,
    kind: 'consumer',
    // Near the top of the fixed64 range, far beyond what a double holds exactly.
    startTimeUnixNano: 18_000_000_000_000_000_001n + BigInt(n),
    endTimeUnixNano: 18_000_000_000_000_000_999n + BigInt(n),
    status: n === 1 ? { code: 'error', message: 'bad' } : { code: 'ok', message: '' },
    attributes: {
      s: 'str',
      i: -9007199254740993n,
      d: 0.1,
      nonfinite: -Infinity,
      b: false,
      bytes: new Uint8Array([1, 2, 3]),
      arr: [1n, 'two', null],
      kv: { inner: { deeper: 3.25 } },
      nothing: null,
    },
    droppedAttributesCount: 3,
    events: [{ timeUnixNano: 18_000_000_000_000_000_500n, name: 'ev', attributes: { n: 1n }, droppedAttributesCount: 4 }],
    droppedEventsCount: 5,
    links: [{ traceId: 'd'.repeat(32), spanId: 'e'.repeat(16), traceState: 'l=1', attributes: { a: true }, droppedAttributesCount: 6, flags: 0x100 }],
    droppedLinksCount: 7,
    resource,
    scope,
    scopeSchemaUrl: scope === scopeX ? 'https://s/x' : '',
  });
}

// Interleaved on purpose: grouping must go by object identity, not by adjacency.
const batch: Span[] = [
  fullSpan(1, resourceA, scopeX),
  fullSpan(2, resourceB, scopeY),
  fullSpan(3, resourceA, scopeY),
  fullSpan(4, resourceA, scopeX),
];

function grouped(spans: Span[]): string[][] {
  const byResource = new Map<Resource, Span[]>();
  for (const s of spans) byResource.set(s.resource, [...(byResource.get(s.resource) ?? []), s]);
  return [...byResource.values()].map((group) => group.map((s) => `${s.scope.name}:${s.name}`));
}

describe('request encoding round trip', () => {
  it.each([
    ['protobuf', (spans: Span[]) => decodeTraceRequestProto(encodeTraceRequestProto(spans))],
    ['JSON', (spans: Span[]) => decodeTraceRequestJson(encodeTraceRequestJson(spans))],
  ])('%s: decode(encode(spans)) equals the spans, regrouped by resource and scope', (_name, roundTrip) => {
    const decoded = roundTrip(batch);
    expect(decoded.rejected).toBe(0);
    const byName = new Map(decoded.spans.map((s) => [s.name, s]));
    for (const original of batch) {
      expect(byName.get(original.name)).toEqual(original);
    }
    expect(grouped(decoded.spans)).toEqual([['x:span-1', 'x:span-4', 'y:span-3'], ['y:span-2']]);
    // Spans regrouped together share their resource and scope objects again.
    expect(byName.get('span-1')!.resource).toBe(byName.get('span-3')!.resource);
    expect(byName.get('span-1')!.scope).toBe(byName.get('span-4')!.scope);
    expect(byName.get('span-1')!.scope).not.toBe(byName.get('span-3')!.scope);
  });

  it('writes protobuf that an independent reflection decoder reads with exact 64-bit values', () => {
    const protoDir = path.join(__dirname, '../../../core/otlp/proto');
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => (path.isAbsolute(target) ? target : path.join(protoDir, target));
    root.loadSync('opentelemetry/proto/collector/trace/v1/trace_service.proto');
    const Request = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
    const obj = Request.toObject(Request.decode(encodeTraceRequestProto([batch[0]])), { longs: String, bytes: String, enums: String });
    const span = obj.resourceSpans[0].scopeSpans[0].spans[0];
    expect(span.startTimeUnixNano).toBe('18000000000000000002');
    expect(span.kind).toBe('SPAN_KIND_CONSUMER');
    expect(Buffer.from(span.traceId, 'base64').toString('hex')).toBe(batch[0].traceId);
    const intAttr = span.attributes.find((a: { key: string }) => a.key === 'i');
    expect(intAttr.value.intValue).toBe('-9007199254740993');
    expect(obj.resourceSpans[0].schemaUrl).toBe('https://s/a');
  });

  it('writes OTLP/JSON with hex ids, int64 as strings and integer enums', () => {
    const json = JSON.parse(encodeTraceRequestJson([batch[0]]));
    const span = json.resourceSpans[0].scopeSpans[0].spans[0];
    expect(span.traceId).toBe(batch[0].traceId);
    expect(span.startTimeUnixNano).toBe('18000000000000000002');
    expect(span.kind).toBe(5);
    expect(span.status).toEqual({ code: 2, message: 'bad' });
    expect(span.attributes.find((a: { key: string }) => a.key === 'i').value).toEqual({ intValue: '-9007199254740993' });
    expect(span.attributes.find((a: { key: string }) => a.key === 'bytes').value).toEqual({ bytesValue: 'AQID' });
  });
});

describe('response and error bodies', () => {
  it('is empty when nothing was rejected', () => {
    expect(encodeTraceResponse(undefined, 'proto')).toHaveLength(0);
    expect(encodeTraceResponse(undefined, 'json')).toBe('{}');
    expect(ExportTraceServiceResponse.decode(encodeTraceResponse(undefined, 'proto')).partialSuccess).toBeNull();
  });

  it('carries partial success in protobuf, readable by the generated class and the OTel SDK', () => {
    const bytes = encodeTraceResponse({ rejectedSpans: 2, errorMessage: 'two bad spans' }, 'proto');
    const partial = ExportTraceServiceResponse.decode(bytes).partialSuccess!;
    expect(String(partial.rejectedSpans)).toBe('2');
    expect(partial.errorMessage).toBe('two bad spans');
    const sdk = ProtobufTraceSerializer.deserializeResponse(bytes);
    expect(Number(sdk.partialSuccess?.rejectedSpans)).toBe(2);
    expect(sdk.partialSuccess?.errorMessage).toBe('two bad spans');
  });

  it('carries partial success in JSON with rejectedSpans as an int64 string', () => {
    const text = encodeTraceResponse({ rejectedSpans: 2, errorMessage: 'two bad spans' }, 'json');
    expect(text).toBe('{"partialSuccess":{"rejectedSpans":"2","errorMessage":"two bad spans"}}');
    const sdk = JsonTraceSerializer.deserializeResponse(Buffer.from(text));
    expect(sdk.partialSuccess?.errorMessage).toBe('two bad spans');
  });

  it('encodes google.rpc.Status error bodies', () => {
    const status = RpcStatus.decode(encodeRpcStatus(3, 'invalid protobuf: index out of range', 'proto'));
    expect(status.code).toBe(3);
    expect(status.message).toBe('invalid protobuf: index out of range');
    expect(encodeRpcStatus(3, 'bad "input"', 'json')).toBe('{"code":3,"message":"bad \\"input\\""}');
  });
});
