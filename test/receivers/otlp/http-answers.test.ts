import zlib from 'node:zlib';
import { registry } from '../../../components';
import { decodeTraceRequestProto } from '../../../core/otlp/decode';
import { encodeTraceRequestJson, encodeTraceRequestProto } from '../../../core/otlp/encode';
import { makeSpan } from '../../../core/span';
import type { Span } from '../../../core/span';
import { ExportTraceServiceResponse, RpcStatus } from '../../../core/otlp/pb';
import { startDaemon } from '../../support/daemon';
import type { TestDaemon } from '../../support/daemon';
import { createRecorder, recordingRegistry } from '../../support/recording-components';
import type { Recorder } from '../../support/recording-components';

const YAML = `
receivers:
  otlp:
    grpc: { enabled: false }
    http:
      listen: 127.0.0.1:0
      max_request_body_bytes: 1048576
exporters:
  recording:
service:
  admin: { listen: 127.0.0.1:0 }
  pipelines:
    traces: { receivers: [otlp], exporters: [recording] }
`;

const spans = (n: number): Span[] =>
  Array.from({ length: n }, (_, i) =>
    makeSpan({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: (0x1000 + i).toString(16).padStart(16, '0'),
      name: `span ${i}`,
      startTimeUnixNano: 1_700_000_000_000_000_000n,
      endTimeUnixNano: 1_700_000_000_500_000_000n,
    }),
  );

describe('otlp receiver HTTP answers', () => {
  let recorder: Recorder;
  let daemon: TestDaemon;
  let url: string;

  beforeEach(async () => {
    recorder = createRecorder();
    daemon = await startDaemon(YAML, { registry: recordingRegistry(recorder, registry) });
    url = `${daemon.receiverUrl('otlp')}/v1/traces`;
  });
  afterEach(() => daemon.stop());

  const post = (body: string | Uint8Array, headers: Record<string, string>) => fetch(url, { method: 'POST', body, headers });
  const protoBody = (n: number) => Buffer.from(encodeTraceRequestProto(spans(n)));

  it('answers 200 with an empty ExportTraceServiceResponse in the request encoding', async () => {
    const proto = await post(protoBody(3), { 'content-type': 'application/x-protobuf' });
    expect(proto.status).toBe(200);
    expect(proto.headers.get('content-type')).toMatch(/^application\/x-protobuf/);
    expect(ExportTraceServiceResponse.decode(new Uint8Array(await proto.arrayBuffer())).partialSuccess).toBeFalsy();
    const json = await post(encodeTraceRequestJson(spans(2)), { 'content-type': 'application/json; charset=utf-8' });
    expect(json.status).toBe(200);
    expect(json.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await json.json()).toEqual({});
    expect(recorder.batches.get('recording')!.map((b) => b.length)).toEqual([3, 2]);
  });

  it('accepts gzip bodies', async () => {
    const res = await post(zlib.gzipSync(protoBody(5)), { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' });
    expect(res.status).toBe(200);
    expect(recorder.batches.get('recording')![0]).toHaveLength(5);
  });

  it('answers only after the exporter has accepted the spans', async () => {
    let open!: () => void;
    recorder.gate = new Promise<void>((resolve) => (open = resolve));
    let answered = false;
    const pending = post(protoBody(1), { 'content-type': 'application/x-protobuf' }).then((r) => {
      answered = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(answered).toBe(false);
    open();
    expect((await pending).status).toBe(200);
  });

  it('answers 400 with a google.rpc.Status for undecodable protobuf and JSON', async () => {
    const proto = await post(Buffer.from([0x0a, 0xff, 0xff, 0xff]), { 'content-type': 'application/x-protobuf' });
    expect(proto.status).toBe(400);
    const status = RpcStatus.decode(new Uint8Array(await proto.arrayBuffer()));
    expect(status.code).toBe(3);
    expect(status.message).toMatch(/protobuf/i);
    const json = await post('{"resourceSpans": [', { 'content-type': 'application/json' });
    expect(json.status).toBe(400);
    expect(await json.json()).toEqual({ code: 3, message: expect.stringMatching(/^invalid JSON/) });
    expect(recorder.batches.size).toBe(0);
  });

  it('answers 415 for other content types', async () => {
    const res = await post('hello', { 'content-type': 'text/plain' });
    expect(res.status).toBe(415);
    expect(await res.json()).toEqual({ code: 3, message: expect.stringContaining('unsupported Content-Type "text/plain"') });
  });

  it('answers 405 for other methods', async () => {
    const res = await fetch(url, { method: 'GET' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
  });

  it('answers 413 above max_request_body_bytes, sent or decompressed (gzip bomb)', async () => {
    const big = await post(Buffer.alloc(1048577), { 'content-type': 'application/x-protobuf' });
    expect(big.status).toBe(413);
    const bomb = zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024));
    const res = await post(bomb, { 'content-type': 'application/x-protobuf', 'content-encoding': 'gzip' });
    expect(res.status).toBe(413);
    expect(RpcStatus.decode(new Uint8Array(await res.arrayBuffer())).message).toMatch(/after decompression/);
    // The daemon is still serving.
    expect((await post(protoBody(1), { 'content-type': 'application/x-protobuf' })).status).toBe(200);
  });

  it('answers 503 with Retry-After when the downstream failed retryably', async () => {
    recorder.failures.set('recording', 'retryable');
    const res = await post(protoBody(2), { 'content-type': 'application/x-protobuf' });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(RpcStatus.decode(new Uint8Array(await res.arrayBuffer())).code).toBe(14);
  });

  it('answers 429 with the queue Retry-After when the exporter is full', async () => {
    recorder.failures.set('recording', 'backpressure');
    const res = await post(encodeTraceRequestJson(spans(2)), { 'content-type': 'application/json' });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(await res.json()).toMatchObject({ code: 8 });
  });

  it('answers 400 when the downstream refuses the data permanently', async () => {
    recorder.failures.set('recording', 'permanent');
    const res = await post(encodeTraceRequestJson(spans(1)), { 'content-type': 'application/json' });
    expect(res.status).toBe(400);
  });

  it('stores the valid spans of a mixed request and reports partial success', async () => {
    const body = JSON.parse(encodeTraceRequestJson(spans(3)));
    body.resourceSpans[0].scopeSpans[0].spans[1].traceId = '00000000000000000000000000000000';
    const res = await post(JSON.stringify(body), { 'content-type': 'application/json' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      partialSuccess: { rejectedSpans: '1', errorMessage: expect.stringContaining('trace_id must be 16 bytes and not all zero') },
    });
    expect(recorder.batches.get('recording')![0].map((s) => s.name)).toEqual(['span 0', 'span 2']);
  });

  it('counts accepted and refused spans in /metrics', async () => {
    await post(protoBody(4), { 'content-type': 'application/x-protobuf' });
    recorder.failures.set('recording', 'retryable');
    await post(protoBody(3), { 'content-type': 'application/x-protobuf' });
    const metrics = await (await fetch(`${daemon.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/tracehouse_receiver_accepted_spans_total\{receiver="otlp"\} 4/);
    expect(metrics).toMatch(/tracehouse_receiver_refused_spans_total\{receiver="otlp",reason="downstream_unavailable"\} 3/);
  });

  it('keeps decoded ids intact end to end', async () => {
    await post(protoBody(1), { 'content-type': 'application/x-protobuf' });
    const [got] = recorder.batches.get('recording')![0];
    const [sent] = decodeTraceRequestProto(protoBody(1)).spans;
    expect(got.traceId).toBe(sent.traceId);
    expect(got.endTimeUnixNano - got.startTimeUnixNano).toBe(500_000_000n);
  });
});

describe('otlp receiver in-flight bound', () => {
  it('refuses with 429 before reading the body once max_inflight_bytes is held, and recovers', async () => {
    const recorder = createRecorder();
    const daemon = await startDaemon(YAML.replace('      max_request_body_bytes: 1048576', '      max_request_body_bytes: 1048576\n    max_inflight_bytes: 8000'), {
      registry: recordingRegistry(recorder, registry),
    });
    let open = () => {};
    try {
      const url = `${daemon.receiverUrl('otlp')}/v1/traces`;
      const body = Buffer.from(encodeTraceRequestProto(spans(100)));
      expect(body.length).toBeGreaterThan(4000);
      recorder.gate = new Promise<void>((resolve) => (open = resolve));
      const held = fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/x-protobuf' } });
      await new Promise((r) => setTimeout(r, 100));
      const refused = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/x-protobuf' } });
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBe('1');
      expect(RpcStatus.decode(new Uint8Array(await refused.arrayBuffer())).message).toMatch(/max_inflight_bytes \(8000\)/);
      open();
      expect((await held).status).toBe(200);
      const again = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/x-protobuf' } });
      expect(again.status).toBe(200);
      const metrics = await (await fetch(`${daemon.adminUrl}/metrics`)).text();
      expect(metrics).toMatch(/tracehouse_receiver_requests_total\{receiver="otlp",outcome="inflight_limit"\} 1/);
    } finally {
      open();
      await daemon.stop();
    }
  });
});

describe('otlp receiver auth', () => {
  const KEY = 'test-key-0123456789abcdef';
  it('answers 401 without a key or with a wrong one, 200 with the right one', async () => {
    const recorder = createRecorder();
    const daemon = await startDaemon(YAML.replace('      max_request_body_bytes: 1048576', `      max_request_body_bytes: 1048576\n    auth: { api_keys: ["\${env:OTLP_KEY}"] }`), {
      registry: recordingRegistry(recorder, registry),
      env: { OTLP_KEY: KEY },
    });
    try {
      const url = `${daemon.receiverUrl('otlp')}/v1/traces`;
      const body = encodeTraceRequestJson(spans(1));
      const headers = { 'content-type': 'application/json' };
      expect((await fetch(url, { method: 'POST', body, headers })).status).toBe(401);
      expect((await fetch(url, { method: 'POST', body, headers: { ...headers, authorization: 'Bearer wrong-key-0000000000' } })).status).toBe(401);
      expect((await fetch(url, { method: 'POST', body, headers: { ...headers, authorization: `Bearer ${KEY}` } })).status).toBe(200);
    } finally {
      await daemon.stop();
    }
  });
});
