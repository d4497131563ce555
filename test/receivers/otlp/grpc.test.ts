/**
 * OTLP/gRPC: the real OpenTelemetry SDK gRPC exporter (plain and gzip) into the embedded
 * ClickHouse, partial success, every status code the receiver answers (with RetryInfo where the
 * client should come back), and a retrying gRPC client ending with each span stored exactly once.
 */
import * as grpc from '@grpc/grpc-js';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { registry } from '../../../components';
import { encodeTraceRequestProto } from '../../../core/otlp/encode';
import { RetryInfo, RpcStatus } from '../../../core/otlp/pb';
import { makeSpan } from '../../../core/span';
import { ClickhouseHttpServer } from '../../support/clickhouse-http-server';
import { otlpPipelineYaml, queryRows, startDaemon, uniqueDatabase } from '../../support/daemon';
import type { TestDaemon } from '../../support/daemon';
import { createRecorder, recordingRegistry } from '../../support/recording-components';
import type { Recorder } from '../../support/recording-components';
import { closeGrpcClients, exportCall, expectStatus, grpcClient as client, grpcPort } from '../../support/otlp-grpc-client';

afterEach(closeGrpcClients);

/** The RetryInfo delay (seconds) in the grpc-status-details-bin trailer, or undefined without one. */
function retryDelaySeconds(error: grpc.ServiceError): number | undefined {
  const [bin] = error.metadata.get('grpc-status-details-bin');
  if (bin === undefined) return undefined;
  const status = RpcStatus.decode(bin as Buffer);
  expect(status.code).toBe(error.code);
  expect(status.details.map((d) => d.type_url)).toEqual(['type.googleapis.com/google.rpc.RetryInfo']);
  return Number(RetryInfo.decode(status.details[0].value ?? new Uint8Array()).retryDelay?.seconds);
}

const spans = (n: number, traceByte = 0x4b) =>
  Array.from({ length: n }, (_, i) =>
    makeSpan({
      traceId: traceByte.toString(16).padStart(2, '0').repeat(16),
      spanId: (0x1000 + i).toString(16).padStart(16, '0'),
      name: `span ${i}`,
      startTimeUnixNano: 1_763_900_000_000_000_000n,
      endTimeUnixNano: 1_763_900_000_500_000_000n,
    }),
  );

describe('OTLP/gRPC into ClickHouse', () => {
  const database = uniqueDatabase('grpc');
  let daemon: TestDaemon;

  beforeAll(async () => {
    daemon = await startDaemon(otlpPipelineYaml({ database, http: '{ enabled: false }', grpc: true }));
  });
  afterAll(() => daemon.stop());

  const T0 = 1_763_900_000; // seconds

  it.each([
    ['uncompressed', undefined],
    ['gzip', 'gzip'],
  ])('stores what the SDK gRPC exporter sends (%s)', async (tag, compression) => {
    const exporter = new OTLPTraceExporter({ url: `http://127.0.0.1:${grpcPort(daemon)}`, ...(compression ? { compression: compression as never } : {}) });
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': `grpc-app-${tag}` }),
      spanProcessors: [new BatchSpanProcessor(exporter)],
    });
    const tracer = provider.getTracer('tracehouse-grpc', '0.1.0');
    const root = tracer.startSpan('agent run', { kind: SpanKind.SERVER, startTime: [T0, 0] });
    const child = tracer.startSpan(
      'chat gpt-4o',
      {
        kind: SpanKind.CLIENT,
        startTime: [T0, 100_000_000],
        attributes: {
          'gen_ai.operation.name': 'chat',
          'gen_ai.provider.name': 'openai',
          'gen_ai.request.model': 'gpt-4o',
          'gen_ai.usage.input_tokens': 120,
          'gen_ai.usage.output_tokens': 48,
          'tracehouse.project': 'support-bot',
          'gen_ai.input.messages': 'x'.repeat(20_000),
        },
      },
      trace.setSpan(context.active(), root),
    );
    child.setStatus({ code: SpanStatusCode.ERROR, message: 'rate limited once' });
    child.end([T0 + 1, 350_000_123]);
    root.setStatus({ code: SpanStatusCode.OK });
    root.end([T0 + 2, 0]);
    await provider.forceFlush();
    await provider.shutdown();

    const traceId = root.spanContext().traceId;
    const rows = await queryRows(
      daemon,
      `SELECT SpanId, ParentSpanId, SpanName, SpanKind, ServiceName, ScopeName, Duration, StatusCode, StatusMessage,
              GenAIOperation, GenAIProvider, GenAIRequestModel, InputTokens, OutputTokens, Project, Workspace,
              SpanAttributes['client.tracehouse.project'] AS ClientProject, length(Input) AS InputLength
       FROM otel_traces WHERE TraceId = '${traceId}' ORDER BY Timestamp`,
      database,
    );
    expect(rows).toEqual([
      {
        SpanId: root.spanContext().spanId,
        ParentSpanId: '',
        SpanName: 'agent run',
        SpanKind: 'Server',
        ServiceName: `grpc-app-${tag}`,
        ScopeName: 'tracehouse-grpc',
        Duration: 2_000_000_000,
        StatusCode: 'Ok',
        StatusMessage: '',
        GenAIOperation: '',
        GenAIProvider: '',
        GenAIRequestModel: '',
        InputTokens: 0,
        OutputTokens: 0,
        Project: '',
        Workspace: 'default',
        ClientProject: '',
        InputLength: 0,
      },
      {
        SpanId: child.spanContext().spanId,
        ParentSpanId: root.spanContext().spanId,
        SpanName: 'chat gpt-4o',
        SpanKind: 'Client',
        ServiceName: `grpc-app-${tag}`,
        ScopeName: 'tracehouse-grpc',
        Duration: 1_250_000_123,
        StatusCode: 'Error',
        StatusMessage: 'rate limited once',
        GenAIOperation: 'chat',
        GenAIProvider: 'openai',
        GenAIRequestModel: 'gpt-4o',
        InputTokens: 120,
        OutputTokens: 48,
        // tracehouse.* is the daemon's: the SDK's value is kept as client.tracehouse.project.
        Project: '',
        Workspace: 'default',
        ClientProject: 'support-bot',
        InputLength: 20_000,
      },
    ]);
  });

  // Partial success over gRPC (with HTTP beside it) is in partial-success.test.ts.

  it('answers a fully valid request with an empty ExportTraceServiceResponse', async () => {
    const result = await exportCall(client(daemon), encodeTraceRequestProto(spans(2, 0x5c)));
    if (!result.ok) throw result.error;
    expect(result.response).toHaveLength(0);
  });
});

describe('OTLP/gRPC status codes', () => {
  const yaml = () =>
    otlpPipelineYaml({ exporter: 'recording', http: '{ enabled: false }', grpc: '{ listen: 127.0.0.1:0, max_recv_msg_size_bytes: 65536 }' });
  let recorder: Recorder;
  let daemon: TestDaemon;

  beforeEach(async () => {
    recorder = createRecorder();
    daemon = await startDaemon(yaml(), { registry: recordingRegistry(recorder, registry) });
  });
  afterEach(() => daemon.stop());

  const body = (n: number) => encodeTraceRequestProto(spans(n));

  it('accepts gzip-compressed messages', async () => {
    const result = await exportCall(client(daemon, { 'grpc.default_compression_algorithm': grpc.compressionAlgorithms.gzip }), body(5));
    expect(result.ok).toBe(true);
    expect(recorder.batches.get('recording')![0].map((s) => s.name)).toEqual(['span 0', 'span 1', 'span 2', 'span 3', 'span 4']);
  });

  it('answers INVALID_ARGUMENT for undecodable bytes', async () => {
    const error = await expectStatus(exportCall(client(daemon), Buffer.from([0x0a, 0xff, 0xff, 0xff])), grpc.status.INVALID_ARGUMENT);
    expect(error.details).toMatch(/invalid protobuf/);
    expect(recorder.batches.size).toBe(0);
  });

  it('answers INVALID_ARGUMENT when the downstream refuses the data permanently', async () => {
    recorder.failures.set('recording', 'permanent');
    await expectStatus(exportCall(client(daemon), body(1)), grpc.status.INVALID_ARGUMENT);
  });

  it('answers UNAVAILABLE with RetryInfo when the downstream failed retryably', async () => {
    recorder.failures.set('recording', 'retryable');
    const error = await expectStatus(exportCall(client(daemon), body(2)), grpc.status.UNAVAILABLE);
    expect(error.details).toMatch(/recording is down/);
    expect(retryDelaySeconds(error)).toBe(5);
  });

  it('answers RESOURCE_EXHAUSTED with the queue delay in RetryInfo when the exporter is full', async () => {
    recorder.failures.set('recording', 'backpressure');
    const error = await expectStatus(exportCall(client(daemon), body(2)), grpc.status.RESOURCE_EXHAUSTED);
    expect(retryDelaySeconds(error)).toBe(2);
    const metrics = await (await fetch(`${daemon.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/tracehouse_receiver_refused_spans_total\{receiver="otlp",reason="backpressure"\} 2/);
  });

  it('answers RESOURCE_EXHAUSTED without RetryInfo above max_recv_msg_size_bytes, sent or after gunzip', async () => {
    const big = await expectStatus(exportCall(client(daemon), Buffer.alloc(65537)), grpc.status.RESOURCE_EXHAUSTED);
    expect(retryDelaySeconds(big)).toBeUndefined();
    // 1 MiB of zeros gzips to about 1 KiB: only the inflated size is over the bound.
    const gzip = client(daemon, { 'grpc.default_compression_algorithm': grpc.compressionAlgorithms.gzip });
    const bomb = await expectStatus(exportCall(gzip, Buffer.alloc(1024 * 1024)), grpc.status.RESOURCE_EXHAUSTED);
    expect(bomb.details).toMatch(/decompresses to a size larger than 65536/);
    // The daemon is still serving.
    expect((await exportCall(client(daemon), body(1))).ok).toBe(true);
    expect(recorder.batches.get('recording')).toHaveLength(1);
  });

  it('answers only after the exporter accepted the spans, and drains calls in flight on shutdown', async () => {
    const gate = holdExports(recorder);
    const port = grpcPort(daemon);
    let answered = false;
    const pending = exportCall(client(daemon), body(1)).then((r) => {
      answered = true;
      return r;
    });
    await until(gate.reached);
    const stopping = daemon.stop();
    try {
      // New calls are refused retryably while the one in flight is still waiting.
      const late = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
      try {
        await expectStatus(exportCall(late, body(1)), grpc.status.UNAVAILABLE);
      } finally {
        late.close();
      }
      expect(answered).toBe(false);
    } finally {
      gate.open();
    }
    expect((await pending).ok).toBe(true);
    await stopping;
    expect(recorder.batches.get('recording')).toHaveLength(1);
  });
});

describe('OTLP/gRPC in-flight bound', () => {
  it('answers RESOURCE_EXHAUSTED with RetryInfo while max_inflight_bytes is held', async () => {
    const recorder = createRecorder();
    const daemon = await startDaemon(
      otlpPipelineYaml({ exporter: 'recording', http: '{ enabled: false }', grpc: true, otlp: ['max_inflight_bytes: 1000'] }),
      { registry: recordingRegistry(recorder, registry) },
    );
    const gate = holdExports(recorder);
    try {
      const first = encodeTraceRequestProto(spans(12));
      expect(first.length).toBeGreaterThan(500);
      const held = exportCall(client(daemon), first);
      await until(gate.reached);
      const error = await expectStatus(exportCall(client(daemon), first), grpc.status.RESOURCE_EXHAUSTED);
      expect(error.details).toMatch(/max_inflight_bytes \(1000\)/);
      expect(retryDelaySeconds(error)).toBe(1);
      gate.open();
      expect((await held).ok).toBe(true);
      // Released: the same request is admitted now.
      expect((await exportCall(client(daemon), first)).ok).toBe(true);
      const metrics = await (await fetch(`${daemon.adminUrl}/metrics`)).text();
      expect(metrics).toMatch(/tracehouse_receiver_requests_total\{receiver="otlp",outcome="inflight_limit"\} 1/);
    } finally {
      gate.open();
      await daemon.stop();
    }
  });
});

describe('OTLP/gRPC auth', () => {
  const KEY = 'grpc-key-0123456789abcdef';
  it('answers UNAUTHENTICATED without a key or with a wrong one, OK with the right one', async () => {
    const recorder = createRecorder();
    const daemon = await startDaemon(
      otlpPipelineYaml({ exporter: 'recording', http: '{ enabled: false }', grpc: '{ listen: 127.0.0.1:0, max_recv_msg_size_bytes: 65536 }', otlp: ['auth: { api_keys: ["${env:OTLP_KEY}"] }'] }),
      { registry: recordingRegistry(recorder, registry), env: { OTLP_KEY: KEY } },
    );
    const withAuth = (value: string, key = 'authorization') => {
      const metadata = new grpc.Metadata();
      metadata.set(key, value);
      return metadata;
    };
    try {
      const c = client(daemon);
      const body = encodeTraceRequestProto(spans(1));
      await expectStatus(exportCall(c, body), grpc.status.UNAUTHENTICATED);
      await expectStatus(exportCall(c, body, withAuth('Bearer wrong-key-0000000000')), grpc.status.UNAUTHENTICATED);
      // Decided on the metadata: an oversized message is never read, so it is not RESOURCE_EXHAUSTED.
      await expectStatus(exportCall(c, Buffer.alloc(1024 * 1024)), grpc.status.UNAUTHENTICATED);
      expect(recorder.batches.size).toBe(0);
      expect((await exportCall(c, body, withAuth(`Bearer ${KEY}`))).ok).toBe(true);
      expect((await exportCall(c, body, withAuth(KEY, 'x-api-key'))).ok).toBe(true);
      expect(recorder.batches.get('recording')).toHaveLength(2);
      const metrics = await (await fetch(`${daemon.adminUrl}/metrics`)).text();
      expect(metrics).toMatch(/tracehouse_receiver_requests_total\{receiver="otlp",outcome="unauthenticated"\} 3/);
    } finally {
      await daemon.stop();
    }
  });
});

describe('a retrying gRPC client and an outage', () => {
  let clickhouse: ClickhouseHttpServer;
  beforeAll(async () => {
    clickhouse = await ClickhouseHttpServer.start({ path: mkdtempSync(path.join(os.tmpdir(), 'tracehouse-grpc-retry-')) });
  });
  afterAll(() => clickhouse.close());

  it('retries on UNAVAILABLE and ends with every span stored exactly once', async () => {
    const daemon = await startDaemon(
      otlpPipelineYaml({ database: 'grpc_retry', endpoint: clickhouse.url, http: '{ enabled: false }', grpc: true, clickhouse: ['retry: { max_elapsed_ms: 0 }'] }),
    );
    try {
      // What an OTLP/gRPC client does per the specification: retry UNAVAILABLE with backoff.
      // (@opentelemetry/exporter-trace-otlp-grpc 0.223 does not retry gRPC failures at all.)
      const retrying = client(daemon, {
        'grpc.service_config': JSON.stringify({
          methodConfig: [
            {
              name: [{ service: 'opentelemetry.proto.collector.trace.v1.TraceService' }],
              retryPolicy: { maxAttempts: 5, initialBackoff: '0.05s', maxBackoff: '0.2s', backoffMultiplier: 2, retryableStatusCodes: ['UNAVAILABLE', 'RESOURCE_EXHAUSTED'] },
            },
          ],
        }),
      });
      const isInsert = (q: string) => q.startsWith('INSERT INTO grpc_retry.otel_traces ');
      clickhouse.fail({ kind: 'status', status: 503 }, 2, isInsert);
      const result = await exportCall(retrying, encodeTraceRequestProto(spans(30, 0x7e)));
      expect(result.ok).toBe(true);
      const inserts = clickhouse.requests.filter((r) => isInsert(r.query));
      expect(inserts.map((r) => r.fault)).toEqual(['status', 'status', undefined]);
      const stored = await clickhouse.sql(`SELECT count() AS n, uniqExact(SpanId) AS ids FROM grpc_retry.otel_traces FINAL WHERE TraceId = '${'7e'.repeat(16)}'`, 'JSONEachRow');
      expect(JSON.parse(stored)).toEqual({ n: 30, ids: 30 });
      const metrics = await (await fetch(`${daemon.adminUrl}/metrics`)).text();
      expect(metrics).toMatch(/tracehouse_receiver_refused_spans_total\{receiver="otlp",reason="downstream_unavailable"\} 60/);
      expect(metrics).toMatch(/tracehouse_receiver_accepted_spans_total\{receiver="otlp"\} 30/);
    } finally {
      await daemon.stop();
    }
  });
});

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 10));
}

/**
 * Makes the recording exporter hold every batch until `open`, and tells when one is held: the gate
 * is a thenable, so the exporter's `await` on it is observable.
 */
function holdExports(recorder: Recorder): { reached: () => boolean; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  let waiting = 0;
  const gate: PromiseLike<void> = {
    then: (onFulfilled, onRejected) => {
      waiting += 1;
      return opened.then(onFulfilled, onRejected);
    },
  };
  recorder.gate = gate as Promise<void>;
  return { reached: () => waiting > 0, open };
}
