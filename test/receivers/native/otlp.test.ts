import { encodeTraceRequestJson, encodeTraceRequestProto } from '../../../core/otlp/encode';
import { ExportTraceServiceResponse, RpcStatus } from '../../../core/otlp/pb';
import { makeSpan } from '../../../core/span';
import type { Span } from '../../../core/span';
import { queryRows, TEST_API_KEY, TEST_WORKSPACE, uniqueDatabase } from '../../support/daemon';
import type { TestDaemon } from '../../support/daemon';
import { EVENTS_ONLY_KEY, startNative } from './native-daemon';

const llmSpan = (traceId: string, spanId: string): Span =>
  makeSpan({
    traceId,
    spanId,
    name: 'chat gpt-4o',
    kind: 'client',
    startTimeUnixNano: 1_763_900_000_000_000_000n,
    endTimeUnixNano: 1_763_900_000_250_000_000n,
    attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 12n, 'gen_ai.usage.output_tokens': 3n },
    resource: { attributes: { 'service.name': 'billing' }, droppedAttributesCount: 0, schemaUrl: '' },
  });

describe('native receiver POST /api/integrations/otlp/v1/traces', () => {
  const database = uniqueDatabase('native_otlp');
  let daemon: TestDaemon;
  let url: string;
  /** POSTs with the test key, another key, or (null) none. */
  const post = (body: string | Uint8Array, contentType: string, key: string | null = TEST_API_KEY) =>
    fetch(url, { method: 'POST', body, headers: { 'content-type': contentType, ...(key !== null ? { authorization: `Bearer ${key}` } : {}) } });
  const rowOf = async (spanId: string) =>
    queryRows(daemon, `SELECT TraceId, SpanName, SpanKind, ServiceName, Workspace, GenAIOperation, GenAIRequestModel, InputTokens, OutputTokens, toString(Duration) AS Duration, SpanAttributes FROM otel_traces WHERE SpanId = '${spanId}'`, database);
  const expectedRow = (traceId: string) => ({
    TraceId: traceId,
    SpanName: 'chat gpt-4o',
    SpanKind: 'Client',
    ServiceName: 'billing',
    Workspace: TEST_WORKSPACE,
    GenAIOperation: 'chat',
    GenAIRequestModel: 'gpt-4o',
    InputTokens: 12,
    OutputTokens: 3,
    Duration: '250000000',
    SpanAttributes: {
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.usage.input_tokens': '12',
      'gen_ai.usage.output_tokens': '3',
      'tracehouse.workspace': TEST_WORKSPACE,
      'tracehouse.source': 'native',
    },
  });

  beforeAll(async () => {
    daemon = await startNative(database);
    url = `${daemon.receiverUrl('native')}/api/integrations/otlp/v1/traces`;
  });
  afterAll(() => daemon.stop());

  it('stores OTLP protobuf in the workspace of the key and answers an ExportTraceServiceResponse', async () => {
    const res = await post(encodeTraceRequestProto([llmSpan('0af7651916cd43dd8448eb211c80319c', 'b7ad6b7169203331')]), 'application/x-protobuf');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/x-protobuf/);
    expect(ExportTraceServiceResponse.decode(new Uint8Array(await res.arrayBuffer())).partialSuccess).toBeFalsy();
    expect(await rowOf('b7ad6b7169203331')).toEqual([expectedRow('0af7651916cd43dd8448eb211c80319c')]);
  });

  it('stores OTLP/JSON and answers {}', async () => {
    const res = await post(encodeTraceRequestJson([llmSpan('1af7651916cd43dd8448eb211c80319c', 'c7ad6b7169203331')]), 'application/json');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({});
    expect(await rowOf('c7ad6b7169203331')).toEqual([expectedRow('1af7651916cd43dd8448eb211c80319c')]);
  });

  it('answers a google.rpc.Status 401 without or with a wrong key, and 403 for a key of another receiver, storing nothing', async () => {
    const body = encodeTraceRequestProto([llmSpan('2af7651916cd43dd8448eb211c80319c', 'd7ad6b7169203331')]);
    const wrong = await post(body, 'application/x-protobuf', 'th_wrong_key_0000000000000000');
    expect(wrong.status).toBe(401);
    expect(RpcStatus.decode(new Uint8Array(await wrong.arrayBuffer()))).toMatchObject({ code: 16, message: 'invalid API key' });
    const missing = await post(encodeTraceRequestJson([llmSpan('2af7651916cd43dd8448eb211c80319c', 'd7ad6b7169203331')]), 'application/json', null);
    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual({ code: 16, message: expect.stringContaining('missing API key') });
    const forbidden = await post(body, 'application/x-protobuf', EVENTS_ONLY_KEY);
    expect(forbidden.status).toBe(403);
    expect(RpcStatus.decode(new Uint8Array(await forbidden.arrayBuffer())).code).toBe(7);
    expect(await rowOf('d7ad6b7169203331')).toEqual([]);
  });

  it('answers 400 for undecodable protobuf and 415 for other media types, in the OTLP error format', async () => {
    const garbage = await post(Buffer.from([0x0a, 0xff, 0xff, 0xff]), 'application/x-protobuf');
    expect(garbage.status).toBe(400);
    expect(RpcStatus.decode(new Uint8Array(await garbage.arrayBuffer())).code).toBe(3);
    const text = await post('hello', 'text/plain');
    expect(text.status).toBe(415);
    expect(await text.json()).toEqual({ code: 3, message: expect.stringContaining('unsupported Content-Type') });
  });
});

describe('native receiver OTLP route rate limits', () => {
  it('counts OTLP exports against the key and route budget and answers 429 RESOURCE_EXHAUSTED beyond it', async () => {
    const database = uniqueDatabase('native_otlp_limit');
    const daemon = await startNative(database, ['rate_limit: { limit: 1000, per_route: { "/api/integrations/otlp/v1/traces": { limit: 1, window_seconds: 60 } } }']);
    try {
      const url = `${daemon.receiverUrl('native')}/api/integrations/otlp/v1/traces`;
      const post = (spanId: string) =>
        fetch(url, {
          method: 'POST',
          body: encodeTraceRequestJson([llmSpan('1af7651916cd43dd8448eb211c80319c', spanId)]),
          headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_API_KEY}` },
        });
      const first = await post('a7ad6b7169203331');
      expect(first.status).toBe(200);
      expect(first.headers.get('x-ratelimit-remaining')).toBe('0');
      const limited = await post('c7ad6b7169203331');
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(await limited.json()).toMatchObject({ code: 8, message: expect.stringContaining('too many requests') });
      expect(await queryRows(daemon, `SELECT SpanId FROM otel_traces WHERE TraceId = '1af7651916cd43dd8448eb211c80319c'`, database)).toEqual([{ SpanId: 'a7ad6b7169203331' }]);
    } finally {
      await daemon.stop();
    }
  });
});
