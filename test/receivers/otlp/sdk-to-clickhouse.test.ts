/**
 * The acceptance path of the daemon core: the real OpenTelemetry JS SDK exporters (OTLP/HTTP JSON
 * and protobuf) send to a running daemon, which stores into the embedded ClickHouse engine; every
 * column of the stored rows is checked through the admin query endpoint.
 */
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Link } from '@opentelemetry/api';
import { OTLPTraceExporter as OtlpHttpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpHttpProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { otlpPipelineYaml, queryRows, startDaemon, uniqueDatabase } from '../../support/daemon';
import type { TestDaemon } from '../../support/daemon';

const yaml = (database: string) => otlpPipelineYaml({ database });

const INPUT = JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: 'What is 2+2?' }] }]);
const OUTPUT = JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: '4' }] }]);
const T0 = 1_763_900_000; // seconds

/** Emits one agent trace through a real SDK pipeline: a root span and an LLM child with everything set. */
async function emitTrace(exporter: SpanExporter, tag: string): Promise<{ traceId: string; rootId: string; childId: string; linkTraceId: string; linkSpanId: string }> {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': `llm-app-${tag}`, 'deployment.environment': 'test' }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('tracehouse-e2e', '1.2.3');
  const linkTraceId = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
  const linkSpanId = '0102030405060708';
  const link: Link = { context: { traceId: linkTraceId, spanId: linkSpanId, traceFlags: 1 }, attributes: { 'link.reason': 'retry-of' } };
  const root = tracer.startSpan('agent run', { kind: SpanKind.INTERNAL, startTime: [T0, 0] });
  const ctx = trace.setSpan(context.active(), root);
  const child = tracer.startSpan(
    'chat gpt-4o',
    {
      kind: SpanKind.CLIENT,
      startTime: [T0, 100_000_000],
      links: [link],
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'openai',
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.response.model': 'gpt-4o-2024-08-06',
        'gen_ai.usage.input_tokens': 120,
        'gen_ai.usage.output_tokens': 48,
        'gen_ai.request.temperature': 0.7,
        'gen_ai.input.messages': INPUT,
        'gen_ai.output.messages': OUTPUT,
        'gen_ai.response.finish_reasons': ['stop', 'length'],
        'tracehouse.workspace': 'acme',
        'tracehouse.project': 'support-bot',
        'tracehouse.environment': 'prod',
        'tracehouse.cost_usd': 0.0042,
        'app.cached': false,
      },
    },
    ctx,
  );
  child.addEvent('gen_ai.content.prompt', { 'gen_ai.prompt.length': 12 }, [T0, 150_000_000]);
  child.setStatus({ code: SpanStatusCode.ERROR, message: 'rate limited once' });
  child.end([T0 + 1, 350_000_123]);
  root.end([T0 + 2, 0]);
  await provider.forceFlush();
  await provider.shutdown();
  return {
    traceId: root.spanContext().traceId,
    rootId: root.spanContext().spanId,
    childId: child.spanContext().spanId,
    linkTraceId,
    linkSpanId,
  };
}

describe.each([
  ['http/json', (url: string) => new OtlpHttpJsonExporter({ url })],
  ['http/json+gzip', (url: string) => new OtlpHttpJsonExporter({ url, compression: 'gzip' as never })],
  ['http/protobuf', (url: string) => new OtlpHttpProtoExporter({ url })],
  ['http/protobuf+gzip', (url: string) => new OtlpHttpProtoExporter({ url, compression: 'gzip' as never })],
])('OpenTelemetry SDK over %s into ClickHouse', (tag, makeExporter) => {
  let daemon: TestDaemon;
  const database = uniqueDatabase('sdk');

  beforeAll(async () => {
    daemon = await startDaemon(yaml(database));
  });
  afterAll(() => daemon.stop());

  it('stores every column of every span exactly', async () => {
    const ids = await emitTrace(makeExporter(`${daemon.receiverUrl('otlp')}/v1/traces`), tag.replace(/\W/g, '-'));
    const rows = await queryRows(
      daemon,
      `SELECT * FROM otel_traces WHERE TraceId = '${ids.traceId}' ORDER BY Timestamp`,
      database,
    );
    expect(rows).toHaveLength(2);
    const [root, child] = rows;
    const service = `llm-app-${tag.replace(/\W/g, '-')}`;

    expect(root).toMatchObject({
      Timestamp: '2025-11-23 12:13:20.000000000',
      TraceId: ids.traceId,
      SpanId: ids.rootId,
      ParentSpanId: '',
      SpanName: 'agent run',
      SpanKind: 'Internal',
      ServiceName: service,
      Duration: 2000000000,
      StatusCode: 'Unset',
      StatusMessage: '',
      'Events.Name': [],
      'Links.TraceId': [],
      GenAIOperation: '',
      InputTokens: 0,
    });

    const { SpanAttributes: childAttributes, ...childColumns } = child;
    expect(childColumns).toEqual({
        Timestamp: '2025-11-23 12:13:20.100000000',
        TraceId: ids.traceId,
        SpanId: ids.childId,
        ParentSpanId: ids.rootId,
        TraceState: '',
        SpanName: 'chat gpt-4o',
        SpanKind: 'Client',
        ServiceName: service,
        ResourceAttributes: { 'service.name': service, 'deployment.environment': 'test' },
        ResourceSchemaUrl: '',
        ScopeAttributes: {},
        ScopeSchemaUrl: '',
        ScopeName: 'tracehouse-e2e',
        ScopeVersion: '1.2.3',
        Duration: 1250000123,
        StatusCode: 'Error',
        StatusMessage: 'rate limited once',
        'Events.Timestamp': ['2025-11-23 12:13:20.150000000'],
        'Events.Name': ['gen_ai.content.prompt'],
        'Events.Attributes': [{ 'gen_ai.prompt.length': '12' }],
        'Links.TraceId': [ids.linkTraceId],
        'Links.SpanId': [ids.linkSpanId],
        'Links.TraceState': [''],
        'Links.Attributes': [{ 'link.reason': 'retry-of' }],
        // OTLP span flags: sampled (0x01) plus "parent remoteness known" (0x100) as the SDK sets it.
        TraceFlags: 257,
        DroppedAttributesCount: 0,
        DroppedEventsCount: 0,
        DroppedLinksCount: 0,
        Verdict: '',
        // The SDK's tracehouse.* attributes are the client's, not the daemon's: the receiver has no
        // auth, so the span lands in its default_workspace; the environment is the resource's.
        Workspace: 'default',
        Project: '',
        Environment: 'test',
        GenAIOperation: 'chat',
        GenAIProvider: 'openai',
        GenAIRequestModel: 'gpt-4o',
        GenAIResponseModel: 'gpt-4o-2024-08-06',
        InputTokens: 120,
        OutputTokens: 48,
        CostUsd: 0,
        Input: INPUT,
        Output: OUTPUT,
    });
    // Attribute maps hold the documented string forms: ints exact, doubles, bools, arrays as JSON.
    expect(childAttributes).toEqual({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.response.model': 'gpt-4o-2024-08-06',
      'gen_ai.usage.input_tokens': '120',
      'gen_ai.usage.output_tokens': '48',
      'gen_ai.request.temperature': '0.7',
      'gen_ai.input.messages': INPUT,
      'gen_ai.output.messages': OUTPUT,
      'gen_ai.response.finish_reasons': '["stop","length"]',
      'app.cached': 'false',
      'client.tracehouse.workspace': 'acme',
      'client.tracehouse.project': 'support-bot',
      'client.tracehouse.environment': 'prod',
      'client.tracehouse.cost_usd': '0.0042',
      'tracehouse.workspace': 'default',
      'tracehouse.source': 'otlp',
    });
  });
});
