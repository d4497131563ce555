/**
 * Client input never makes the daemon answer 500: deeply nested JSON, numbers out of range
 * (1.8e308, 1e999, durations whose nanoseconds overflow, negative, non-integral), int64 values
 * protobuf cannot carry, and huge strings are refused with 400/422 on every route, and one
 * AnyValue depth limit holds for OTLP/JSON and OTLP/protobuf alike, with the same error.
 */
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs/minimal';
import { encodeTraceRequestJson, encodeTraceRequestProto } from '../../core/otlp/encode';
import { decodeTraceRequestJson, decodeTraceRequestProto } from '../../core/otlp/decode';
import { ANY_VALUE_TOO_DEEP, MAX_ANY_VALUE_DEPTH } from '../../core/otlp/limits';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../../core/ingest/json-body';
import { RpcStatus } from '../../core/otlp/pb';
import { makeSpan } from '../../core/span';
import type { AttributeValue } from '../../core/span';
import { queryRows } from '../support/daemon';
import type { TestDaemon } from '../support/daemon';
import { DEFAULT_CONFIG_KEY, startDefaultDaemon } from '../support/default-daemon';
import { closeGrpcClients, exportCall, expectStatus, grpcClient } from '../support/otlp-grpc-client';

const JSONAPI = 'application/vnd.api+json';

/** Every JSON route of the default pipelines.yaml, by the receiver listening for it. */
const JSON_ROUTES: [string, string][] = [
  ['/api/traces', 'application/json'],
  ['/api/ingest/tool-calls', 'application/json'],
  ['/api/ingest/feedback', 'application/json'],
  ['/api/integrations/openai-guardrails', 'application/json'],
  ['/api/integrations/openai-agents', 'application/json'],
  ['/v1/traces/ingest', 'application/json'],
  ['/api/logs', 'application/json'],
  ['/instrumentation/tracing/v1/', JSONAPI],
  ['/instrumentation/tracing/v1/traces', JSONAPI],
  ['/instrumentation/tracing/v1/traces/t1/observations', JSONAPI],
  ['/api/ingest/webhooks', 'application/json'],
  ['/v1/ingest/runtime', 'application/json'],
  ['/v1/ingest/change', 'application/json'],
];

const DEEP_ARRAYS = '['.repeat(100_000) + ']'.repeat(100_000);
const DEEP_OBJECTS = '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000);

let counter = 0;
function span(attributes: Record<string, AttributeValue> = {}, name = 'ok') {
  counter += 1;
  const n = `${process.pid.toString(16)}${counter.toString(16).padStart(6, '0')}`;
  return makeSpan({
    traceId: `11a1${n.padStart(28, '0')}`,
    spanId: `11${n.padStart(14, '0')}`,
    name,
    startTimeUnixNano: 1_763_900_000_000_000_000n,
    endTimeUnixNano: 1_763_900_000_100_000_000n,
    attributes,
  });
}

/** An OTLP/JSON request whose one span has attribute `v` set to `value` (raw JSON text). */
function otlpJsonWithValue(value: string): string {
  return encodeTraceRequestJson([span()]).replace('"name":"ok"', `"name":"ok","attributes":[{"key":"v","value":${value}}]`);
}

/** AnyValue JSON text with `levels` levels: kvlists (or arrays) around a string. */
function nestedJsonValue(levels: number, kind: 'kvlist' | 'array'): string {
  const open = kind === 'kvlist' ? '{"kvlistValue":{"values":[{"key":"k","value":' : '{"arrayValue":{"values":[';
  const close = kind === 'kvlist' ? '}]}}' : ']}}';
  return open.repeat(levels - 1) + '{"stringValue":"leaf"}' + close.repeat(levels - 1);
}

/** The same value as a span attribute model value, for the protobuf encoder. */
function nestedValue(levels: number, kind: 'kvlist' | 'array'): AttributeValue {
  let value: AttributeValue = 'leaf';
  for (let i = 1; i < levels; i++) value = kind === 'kvlist' ? { k: value } : [value];
  return value;
}

const w = () => protobuf.Writer.create();

/**
 * The same value as protobuf bytes, written by hand: the generated encoder stops at 100 nested
 * messages, and a client's encoder need not.
 */
function rawAnyValue(levels: number, kind: 'kvlist' | 'array'): Uint8Array {
  let value = w().uint32(10).string('leaf').finish();
  for (let i = 1; i < levels; i++) {
    if (kind === 'kvlist') {
      const kv = w().uint32(10).string('k').uint32(18).bytes(value).finish();
      value = w().uint32(50).bytes(w().uint32(10).bytes(kv).finish()).finish();
    } else {
      value = w().uint32(42).bytes(w().uint32(10).bytes(value).finish()).finish();
    }
  }
  return value;
}

type Placement = 'span' | 'resource' | 'event' | 'link';

/** An Export request of one span with attribute "v" = `value`, on the span or beside it. */
function rawRequest(value: Uint8Array, placement: Placement): Uint8Array {
  const kv = w().uint32(10).string('v').uint32(18).bytes(value).finish();
  const traceId = Buffer.alloc(16, 7);
  const spanId = Buffer.alloc(8, 9);
  const span = w().uint32(10).bytes(traceId).uint32(18).bytes(spanId).uint32(42).string('ok').uint32(57).fixed64(1).uint32(65).fixed64(2);
  if (placement === 'span') span.uint32(74).bytes(kv);
  if (placement === 'event') span.uint32(90).bytes(w().uint32(9).fixed64(1).uint32(18).string('e').uint32(26).bytes(kv).finish());
  if (placement === 'link') span.uint32(106).bytes(w().uint32(10).bytes(traceId).uint32(18).bytes(spanId).uint32(34).bytes(kv).finish());
  const resourceSpans = w();
  if (placement === 'resource') resourceSpans.uint32(10).bytes(w().uint32(10).bytes(kv).finish());
  resourceSpans.uint32(18).bytes(w().uint32(18).bytes(span.finish()).finish());
  return w().uint32(10).bytes(resourceSpans.finish()).finish();
}

describe('input limits on the default pipelines.yaml', () => {
  let daemon: TestDaemon;
  beforeAll(async () => {
    daemon = await startDefaultDaemon();
  });
  afterAll(async () => {
    closeGrpcClients();
    await daemon.stop();
  });

  const ingest = (path: string, body: string | Uint8Array, type = 'application/json', headers: Record<string, string> = {}) =>
    fetch(`${daemon.receiverUrl('native')}${path}`, {
      method: 'POST',
      headers: { 'content-type': type, authorization: `Bearer ${DEFAULT_CONFIG_KEY}`, ...headers },
      body,
    });
  const otlp = (body: string | Uint8Array, type: string) =>
    fetch(`${daemon.receiverUrl('otlp')}/v1/traces`, { method: 'POST', headers: { 'content-type': type }, body });
  const otlpMessage = async (res: Response): Promise<string> =>
    res.headers.get('content-type')?.startsWith('application/x-protobuf')
      ? (RpcStatus.decode(new Uint8Array(await res.arrayBuffer())).message ?? '')
      : (((await res.json()) as { message?: string }).message ?? '');

  describe('deeply nested JSON', () => {
    it.each(JSON_ROUTES)('%s answers 400 to 100,000 nested arrays and objects', async (path, type) => {
      for (const body of [DEEP_ARRAYS, DEEP_OBJECTS, `{"metadata":${DEEP_ARRAYS}}`]) {
        const res = await ingest(path, body, type);
        expect(res.status).toBe(400);
        expect(await res.text()).toMatch(/RCV_JSON_TOO_DEEP|deeper than/);
      }
    });

    it('a body nested within the limit is still read (logs metadata 60 levels deep)', async () => {
      const metadata = '{"m":'.repeat(60) + '"x"' + '}'.repeat(60);
      const res = await ingest('/api/logs', `{"project":"p","output":"o","metadata":${metadata}}`);
      expect(res.status).toBe(200);
    });

    it('OTLP/JSON answers 400 to 100,000 nested arrays and objects, on both OTLP routes, unknown fields included', async () => {
      const unknownField = encodeTraceRequestJson([span()]).replace('"name":"ok"', `"name":"ok","vendorExtension":${DEEP_OBJECTS}`);
      for (const body of [DEEP_ARRAYS, DEEP_OBJECTS, `{"resourceSpans":${DEEP_ARRAYS}}`, unknownField, otlpJsonWithValue(nestedJsonValue(100_000, 'array'))]) {
        expect((await otlp(body, 'application/json')).status).toBe(400);
        expect((await ingest('/api/integrations/otlp/v1/traces', body)).status).toBe(400);
      }
      expect(await otlpMessage(await otlp(unknownField, 'application/json'))).toMatch(/nest deeper than 1024 levels/);
    });

    it('the depth scan ignores brackets inside strings', () => {
      expect(nestsDeeperThan(Buffer.from(JSON.stringify({ s: '['.repeat(1000) })), MAX_JSON_DEPTH)).toBe(false);
      expect(nestsDeeperThan(Buffer.from(JSON.stringify({ s: '\\"[[[' })), 2)).toBe(false);
      expect(nestsDeeperThan(Buffer.from('[[[]]]'), 2)).toBe(true);
    });
  });

  describe('one AnyValue depth limit for protobuf and JSON', () => {
    it.each(['kvlist', 'array'] as const)('%s values of exactly the limit are stored; one level more is refused with the same error everywhere', async (kind) => {
      const atLimit = span({ v: nestedValue(MAX_ANY_VALUE_DEPTH, kind) });
      expect((await otlp(encodeTraceRequestProto([atLimit]), 'application/x-protobuf')).status).toBe(200);
      const atLimitJson = otlpJsonWithValue(nestedJsonValue(MAX_ANY_VALUE_DEPTH, kind));
      expect((await otlp(atLimitJson, 'application/json')).status).toBe(200);

      const over = MAX_ANY_VALUE_DEPTH + 1;
      const proto = rawRequest(rawAnyValue(over, kind), 'span');
      const json = otlpJsonWithValue(nestedJsonValue(over, kind));
      const viaProto = await otlp(proto, 'application/x-protobuf');
      const viaJson = await otlp(json, 'application/json');
      expect([viaProto.status, viaJson.status]).toEqual([400, 400]);
      expect(await otlpMessage(viaProto)).toBe(ANY_VALUE_TOO_DEEP);
      expect(await otlpMessage(viaJson)).toBe(ANY_VALUE_TOO_DEEP);
      const viaGrpc = await expectStatus(exportCall(grpcClient(daemon), proto), grpc.status.INVALID_ARGUMENT);
      expect(viaGrpc.details).toBe(ANY_VALUE_TOO_DEEP);
    });

    it('10,000 nested kvlists: the same error over protobuf, JSON and gRPC', async () => {
      const proto = rawRequest(rawAnyValue(10_000, 'kvlist'), 'span');
      const viaProto = await otlp(proto, 'application/x-protobuf');
      const viaJson = await otlp(otlpJsonWithValue(nestedJsonValue(10_000, 'kvlist')), 'application/json');
      expect([viaProto.status, viaJson.status]).toEqual([400, 400]);
      expect(await otlpMessage(viaProto)).toBe(ANY_VALUE_TOO_DEEP);
      expect(await otlpMessage(viaJson)).toBe(ANY_VALUE_TOO_DEEP);
      expect((await expectStatus(exportCall(grpcClient(daemon), proto), grpc.status.INVALID_ARGUMENT)).details).toBe(ANY_VALUE_TOO_DEEP);
    });

    it('far deeper protobuf (past protobufjs\'s own recursion limit) gets the same error, in events too', async () => {
      let value = protobuf.Writer.create().uint32(10).string('leaf').finish();
      for (let i = 0; i < 200; i++) {
        const keyValue = protobuf.Writer.create().uint32(10).string('k').uint32(18).bytes(value).finish();
        value = protobuf.Writer.create().uint32(50).bytes(protobuf.Writer.create().uint32(10).bytes(keyValue).finish()).finish();
      }
      const attribute = protobuf.Writer.create().uint32(10).string('deep').uint32(18).bytes(value).finish();
      const event = protobuf.Writer.create().uint32(9).fixed64(1).uint32(18).string('e').uint32(26).bytes(attribute).finish();
      const spanBytes = protobuf.Writer.create()
        .uint32(10).bytes(Buffer.alloc(16, 1))
        .uint32(18).bytes(Buffer.alloc(8, 2))
        .uint32(42).string('deep')
        .uint32(57).fixed64(1)
        .uint32(65).fixed64(2)
        .uint32(90).bytes(event)
        .finish();
      const request = protobuf.Writer.create()
        .uint32(10).bytes(protobuf.Writer.create().uint32(18).bytes(protobuf.Writer.create().uint32(18).bytes(spanBytes).finish()).finish())
        .finish();
      const res = await otlp(request, 'application/x-protobuf');
      expect(res.status).toBe(400);
      expect(await otlpMessage(res)).toBe(ANY_VALUE_TOO_DEEP);
    });

    it('the decoders agree at every depth around the limit, in span, resource, event and link attributes', () => {
      for (let levels = MAX_ANY_VALUE_DEPTH - 1; levels <= MAX_ANY_VALUE_DEPTH + 2; levels++) {
        for (const kind of ['kvlist', 'array'] as const) {
          const value = nestedValue(levels, kind);
          const s = span({ v: value });
          const placements: [Placement, typeof s][] = [
            ['span', s],
            ['resource', { ...s, attributes: {}, resource: { attributes: { v: value }, droppedAttributesCount: 0, schemaUrl: '' } }],
            ['event', { ...s, attributes: {}, events: [{ timeUnixNano: 1n, name: 'e', attributes: { v: value }, droppedAttributesCount: 0 }] }],
            ['link', { ...s, attributes: {}, links: [{ traceId: s.traceId, spanId: s.spanId, traceState: '', attributes: { v: value }, droppedAttributesCount: 0, flags: 0 }] }],
          ];
          for (const [placement, placed] of placements) {
            const outcome = (decode: () => unknown) => {
              try {
                decode();
                return 'ok';
              } catch (err) {
                return (err as Error).message;
              }
            };
            const proto = outcome(() => decodeTraceRequestProto(rawRequest(rawAnyValue(levels, kind), placement)));
            const json = outcome(() => decodeTraceRequestJson(encodeTraceRequestJson([placed])));
            expect({ levels, kind, placement, proto }).toEqual({ levels, kind, placement, proto: levels <= MAX_ANY_VALUE_DEPTH ? 'ok' : ANY_VALUE_TOO_DEEP });
            expect(json).toBe(proto);
          }
        }
      }
    });
  });

  describe('int64 values', () => {
    it.each([
      ['2^64', '"18446744073709551616"'],
      ['2^63', '"9223372036854775808"'],
      ['-2^63 - 1', '"-9223372036854775809"'],
      ['1e300 as a number', '1e300'],
      ['100,000 digits', `"${'9'.repeat(100_000)}"`],
      ['a fraction', '1.5'],
    ])('an OTLP/JSON intValue of %s is refused with 400', async (_name, text) => {
      const res = await otlp(otlpJsonWithValue(`{"intValue":${text}}`), 'application/json');
      expect(res.status).toBe(400);
      expect(await otlpMessage(res)).toMatch(/intValue must be/);
    });

    it('the int64 bounds themselves are stored exactly', async () => {
      const max = span();
      const body = encodeTraceRequestJson([max]).replace(
        '"name":"ok"',
        '"name":"ok","attributes":[{"key":"max","value":{"intValue":"9223372036854775807"}},{"key":"min","value":{"intValue":"-00009223372036854775808"}}]',
      );
      expect((await otlp(body, 'application/json')).status).toBe(200);
      const rows = await queryRows<{ a: Record<string, string> }>(daemon, `SELECT SpanAttributes AS a FROM otel_traces WHERE SpanId = '${max.spanId}'`);
      expect(rows[0].a).toMatchObject({ max: '9223372036854775807', min: '-9223372036854775808' });
    });

    it('span times beyond uint64 (or with 1,000,000 digits) are refused with 400', async () => {
      for (const time of ['"18446744073709551616"', `"${'1'.repeat(1_000_000)}"`, '-1']) {
        const body = encodeTraceRequestJson([span()]).replace(/"endTimeUnixNano":"\d+"/, `"endTimeUnixNano":${time}`);
        const res = await otlp(body, 'application/json');
        expect(res.status).toBe(400);
        expect(await otlpMessage(res)).toMatch(/endTimeUnixNano must be/);
      }
    });
  });

  describe('numbers out of range in the JSON APIs', () => {
    // 1e999 is valid JSON text that parses to Infinity; 1.7e308 is finite but its nanoseconds are not.
    const BAD_DURATIONS = ['1.7976931348623157e308', '1.8e308', '1e999', '-1e999', '1e300', '1e15', '-1', '"NaN"', '"1e3"', 'true'];

    it.each(BAD_DURATIONS)('native /api/traces metrics.latencyMs %s is a 4xx', async (value) => {
      const res = await ingest('/api/traces', `{"actionName":"a","model":"gpt-4o","prompt":"p","response":"r","metrics":{"latencyMs":${value}}}`);
      expect([400, 422]).toContain(res.status);
    });

    it.each(BAD_DURATIONS)('native tool-calls durationMs %s is a 4xx', async (value) => {
      const res = await ingest('/api/ingest/tool-calls', `{"name":"lookup","durationMs":${value}}`);
      expect([400, 422]).toContain(res.status);
    });

    it.each(BAD_DURATIONS)('logs latencyMs %s is a 4xx', async (value) => {
      const res = await ingest('/api/logs', `{"project":"p","output":"o","latencyMs":${value}}`);
      expect([400, 422]).toContain(res.status);
    });

    it('a large but representable latency is still accepted', async () => {
      const res = await ingest('/api/logs', '{"project":"p","output":"o","latencyMs":86400000}');
      expect(res.status).toBe(200);
    });

    it.each([
      ['promptTokens', '1e308'],
      ['promptTokens', '18446744073709551616'],
      ['promptTokens', '1.5'],
      ['estimatedCostUsd', '1e999'],
      ['totalTokens', '-5'],
    ])('native metrics.%s %s never answers 500', async (field, value) => {
      const res = await ingest('/api/traces', `{"actionName":"a","model":"gpt-4o","metrics":{"${field}":${value}}}`);
      expect(res.status).toBeGreaterThanOrEqual(200);
      expect(res.status).toBeLessThan(500);
    });

    it('JSON:API observation usage and times out of range never answer 500', async () => {
      const observation = (attributes: string) =>
        `{"data":{"type":"observation","id":"obs_${counter++}","attributes":{"name":"x","kind":"llm","started_at":"2025-09-17T12:34:56Z","ended_at":"2025-09-17T12:34:57Z",${attributes}}}}`;
      for (const attributes of ['"usage":{"input_tokens":1.5}', '"usage":{"input_tokens":1e999}', '"usage":{"input_tokens":1e308}', '"cost":{"total":1e999}', '"started_at":"99999-01-01T00:00:00Z"']) {
        const res = await ingest('/instrumentation/tracing/v1/traces/t1/observations', observation(attributes), JSONAPI);
        expect({ attributes, status: res.status < 500 }).toEqual({ attributes, status: true });
      }
    });
  });

  describe('fuzz: no JSON route answers 500 to hostile bodies', () => {
    const HUGE = 'x'.repeat(5 * 1024 * 1024);
    const bodies: string[] = [
      'null',
      '[]',
      '"text"',
      '1e999',
      '{}',
      '{"__proto__":{"polluted":true}}',
      '{"constructor":{"prototype":{"polluted":true}}}',
      `{"name":"${HUGE}","actionName":"${HUGE}","task":"${HUGE}","project":"p","output":"o"}`,
      '{"id":1e999,"requestId":1e999,"traceId":-1e999,"event_id":1e308,"route_id":1.5}',
      '{"timestamp":"9999999-01-01T00:00:00Z","startedAt":"0000-00-00T00:00:00Z","endedAt":"2025-13-45T99:99:99Z"}',
      '{"data":[{"object":"trace.span","id":"span_1","trace_id":"trace_1","started_at":"2025-01-01T00:00:00Z","ended_at":"1970-01-01T00:00:00Z","span_data":{"type":"generation","usage":{"input_tokens":1e999}}}]}',
    ];

    it.each(JSON_ROUTES)('%s', async (path, type) => {
      for (const body of bodies) {
        const res = await ingest(path, body, type);
        expect({ body: body.slice(0, 80), status: res.status < 500 }).toEqual({ body: body.slice(0, 80), status: true });
      }
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('a span name of 5 MiB over OTLP is stored, not a 500', async () => {
      const big = span({}, HUGE);
      const res = await otlp(encodeTraceRequestProto([big]), 'application/x-protobuf');
      expect(res.status).toBe(200);
      const rows = await queryRows<{ n: number }>(daemon, `SELECT length(SpanName) AS n FROM otel_traces WHERE SpanId = '${big.spanId}'`);
      expect(Number(rows[0].n)).toBe(HUGE.length);
    });
  });
});
