/**
 * Malformed and hostile inputs over OTLP/HTTP and OTLP/gRPC: each gets its proper error, nothing
 * crashes, and the daemon keeps serving valid requests afterwards.
 */
import protobuf from 'protobufjs/minimal';
import { ExportTraceServiceResponse, RpcStatus } from '../../../core/otlp/pb';
import { encodeTraceRequestJson, encodeTraceRequestProto } from '../../../core/otlp/encode';
import { makeSpan } from '../../../core/span';
import * as grpc from '@grpc/grpc-js';
import { otlpPipelineYaml, queryRows, startDaemon, uniqueDatabase } from '../../support/daemon';
import { closeGrpcClients, exportCall, expectStatus, grpcClient } from '../../support/otlp-grpc-client';
import type { TestDaemon } from '../../support/daemon';

const yaml = (database: string) =>
  otlpPipelineYaml({
    database,
    http: '{ listen: 127.0.0.1:0, max_request_body_bytes: 8388608 }',
    grpc: '{ listen: 127.0.0.1:0, max_recv_msg_size_bytes: 8388608 }',
  });

let counter = 0;
const validSpan = (attributes = {}) => {
  counter += 1;
  return makeSpan({
    traceId: `fa11ed${counter.toString(16).padStart(26, '0')}`,
    spanId: counter.toString(16).padStart(16, '0'),
    name: 'ok',
    startTimeUnixNano: 1_763_900_000_000_000_000n,
    endTimeUnixNano: 1_763_900_000_500_000_000n,
    attributes,
  });
};

/** An Export request whose one span carries an attribute of kvlists nested `depth` deep. */
function deeplyNestedProto(depth: number): Uint8Array {
  let value = protobuf.Writer.create().uint32(10).string('leaf').finish();
  for (let i = 0; i < depth; i++) {
    const keyValue = protobuf.Writer.create().uint32(10).string('k').uint32(18).bytes(value).finish();
    const list = protobuf.Writer.create().uint32(10).bytes(keyValue).finish();
    value = protobuf.Writer.create().uint32(50).bytes(list).finish();
  }
  const attribute = protobuf.Writer.create().uint32(10).string('deep').uint32(18).bytes(value).finish();
  const span = protobuf.Writer.create()
    .uint32(10).bytes(Buffer.alloc(16, 1))
    .uint32(18).bytes(Buffer.alloc(8, 2))
    .uint32(42).string('deep')
    .uint32(57).fixed64(1)
    .uint32(65).fixed64(2)
    .uint32(74).bytes(attribute)
    .finish();
  const scopeSpans = protobuf.Writer.create().uint32(18).bytes(span).finish();
  const resourceSpans = protobuf.Writer.create().uint32(18).bytes(scopeSpans).finish();
  return protobuf.Writer.create().uint32(10).bytes(resourceSpans).finish();
}

function deeplyNestedJson(depth: number): string {
  // Built as text: JSON.stringify itself cannot nest this deep.
  const value = '{"kvlistValue":{"values":[{"key":"k","value":'.repeat(depth) + '{"stringValue":"leaf"}' + '}]}}'.repeat(depth);
  const request = encodeTraceRequestJson([validSpan()]);
  return request.replace('"name":"ok"', `"name":"ok","attributes":[{"key":"deep","value":${value}}]`);
}

describe('malformed OTLP/HTTP input', () => {
  let daemon: TestDaemon;
  const database = uniqueDatabase('malformed');
  beforeAll(async () => {
    daemon = await startDaemon(yaml(database));
  });
  afterAll(() => daemon.stop());

  const post = (body: Uint8Array | string, type: string) =>
    fetch(`${daemon.receiverUrl('otlp')}/v1/traces`, { method: 'POST', body, headers: { 'content-type': type } });
  const statusOf = async (res: Response) => ({
    http: res.status,
    ...(res.headers.get('content-type')?.startsWith('application/x-protobuf')
      ? RpcStatus.decode(new Uint8Array(await res.arrayBuffer()))
      : ((await res.json()) as object)),
  });

  const valid = encodeTraceRequestProto([validSpan()]);
  const cases: [string, () => Uint8Array | string, string, RegExp][] = [
    ['truncated protobuf', () => valid.subarray(0, Math.floor(valid.length / 2)), 'application/x-protobuf', /invalid protobuf/],
    ['random bytes', () => Uint8Array.from({ length: 64 }, (_, i) => (i * 97 + 13) % 256 | 0x07), 'application/x-protobuf', /invalid protobuf/],
    ['kvlists nested 10,000 deep (protobuf)', () => deeplyNestedProto(10_000), 'application/x-protobuf', /^attribute values \(arrayValue\/kvlistValue\) nest deeper than 32 levels$/],
    ['invalid JSON', () => '{"resourceSpans": [{]}', 'application/json', /^invalid JSON/],
    ['JSON of the wrong shape', () => '{"resourceSpans": "yes"}', 'application/json', /resourceSpans must be an array/],
    ['kvlists nested 10,000 deep (JSON)', () => deeplyNestedJson(10_000), 'application/json', /^attribute values \(arrayValue\/kvlistValue\) nest deeper than 32 levels$/],
  ];

  it.each(cases)('answers 400 with a google.rpc.Status for %s, and keeps serving', async (_name, body, type, message) => {
    const res = await post(body(), type);
    const status = await statusOf(res);
    expect(status).toMatchObject({ http: 400, code: 3 });
    expect((status as { message?: string }).message).toMatch(message);
    const after = await post(encodeTraceRequestProto([validSpan()]), 'application/x-protobuf');
    expect(after.status).toBe(200);
  });

  it('skips a field sent with the wrong wire type, so a span left without its trace id is rejected alone', async () => {
    // trace_id (field 1, bytes) sent as a varint: skipped like an unknown field, as protobuf's own
    // libraries do; the span then lacks a valid trace id and is refused by partial success.
    const span = protobuf.Writer.create()
      .uint32(8).uint32(1)
      .uint32(18).bytes(Buffer.alloc(8, 3))
      .uint32(42).string('wire')
      .uint32(57).fixed64(1)
      .uint32(65).fixed64(2)
      .finish();
    const scopeSpans = protobuf.Writer.create().uint32(18).bytes(span).finish();
    const resourceSpans = protobuf.Writer.create().uint32(18).bytes(scopeSpans).finish();
    const request = protobuf.Writer.create().uint32(10).bytes(resourceSpans).finish();
    const res = await post(request, 'application/x-protobuf');
    expect(res.status).toBe(200);
    const answer = ExportTraceServiceResponse.decode(new Uint8Array(await res.arrayBuffer()));
    expect(Number(answer.partialSuccess?.rejectedSpans)).toBe(1);
    expect(answer.partialSuccess?.errorMessage).toMatch(/trace_id must be 16 bytes/);
  });

  const protobufCases = cases.filter(([, , type]) => type === 'application/x-protobuf');
  it.each(protobufCases)('answers INVALID_ARGUMENT over gRPC for %s, and keeps serving', async (_name, body, _type, message) => {
    try {
      const error = await expectStatus(exportCall(grpcClient(daemon), body() as Uint8Array), grpc.status.INVALID_ARGUMENT);
      expect(error.details).toMatch(message);
      const after = await exportCall(grpcClient(daemon), encodeTraceRequestProto([validSpan()]));
      expect(after.ok).toBe(true);
    } finally {
      closeGrpcClients();
    }
  });

  it('refuses a gRPC message over max_recv_msg_size_bytes with RESOURCE_EXHAUSTED', async () => {
    try {
      const big = encodeTraceRequestProto([validSpan({ big: 'z'.repeat(9 * 1024 * 1024) })]);
      await expectStatus(exportCall(grpcClient(daemon), big), grpc.status.RESOURCE_EXHAUSTED);
      expect((await exportCall(grpcClient(daemon), encodeTraceRequestProto([validSpan()]))).ok).toBe(true);
    } finally {
      closeGrpcClients();
    }
  });

  it('stores a 5 MB attribute string whole', async () => {
    const huge = 'x'.repeat(5 * 1024 * 1024);
    const span = validSpan({ 'gen_ai.prompt': huge });
    const res = await post(encodeTraceRequestProto([span]), 'application/x-protobuf');
    expect(res.status).toBe(200);
    const [row] = await queryRows<{ n: string | number }>(daemon, `SELECT length(SpanAttributes['gen_ai.prompt']) AS n FROM otel_traces WHERE SpanId = '${span.spanId}'`, database);
    expect(Number(row.n)).toBe(huge.length);
  });

  it('refuses an attribute string over the body limit with 413', async () => {
    const res = await post(encodeTraceRequestProto([validSpan({ big: 'y'.repeat(9 * 1024 * 1024) })]), 'application/x-protobuf');
    expect(res.status).toBe(413);
    expect((await fetch(`${daemon.adminUrl}/healthz`)).status).toBe(200);
  });
});
