/**
 * Requests serialized by the OpenTelemetry JS SDK's own OTLP serializers (third-party encoders)
 * must decode into exactly the spans the SDK recorded.
 */
import { SpanKind, SpanStatusCode, TraceFlags, context, trace, type HrTime } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { decodeTraceRequestJson, decodeTraceRequestProto, type DecodedTraces } from '../../../core/otlp/decode';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const SPAN_ID = 'b7ad6b7169203331';
const PARENT_ID = '00f067aa0ba902b7';
const LINK_TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const LINK_SPAN_ID = '53995c3f42cd8ad8';

// 1_700_000_000.123456789 s: the nanoseconds do not fit a double, so a lossy path would show.
const START: HrTime = [1_700_000_000, 123_456_789];
const END: HrTime = [1_700_000_001, 987_654_321];
const EVENT_TIME: HrTime = [1_700_000_000, 500_000_001];

const resource = resourceFromAttributes({ 'service.name': 'chat-api', 'deployment.environment': 'test' });

function readableSpan(): ReadableSpan {
  return {
    name: 'chat gpt-4o',
    kind: SpanKind.CLIENT,
    spanContext: () => ({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED }),
    parentSpanContext: { traceId: TRACE_ID, spanId: PARENT_ID, traceFlags: TraceFlags.SAMPLED, isRemote: true },
    startTime: START,
    endTime: END,
    status: { code: SpanStatusCode.ERROR, message: 'rate limited' },
    attributes: {
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.usage.input_tokens': 1234,
      'gen_ai.request.temperature': 0.25,
      'gen_ai.stream': true,
      'gen_ai.response.finish_reasons': ['stop', 'length'],
    },
    links: [
      {
        context: { traceId: LINK_TRACE_ID, spanId: LINK_SPAN_ID, traceFlags: TraceFlags.NONE },
        attributes: { 'link.kind': 'retry-of' },
      },
    ],
    events: [{ name: 'gen_ai.choice', time: EVENT_TIME, attributes: { index: 0 } }],
    duration: [1, 864_197_532],
    ended: true,
    resource,
    instrumentationScope: { name: 'openai-instrumentation', version: '1.2.3' },
    droppedAttributesCount: 2,
    droppedEventsCount: 3,
    droppedLinksCount: 4,
  };
}

function expectDecodedSpan(decoded: DecodedTraces): void {
  expect(decoded.rejected).toBe(0);
  expect(decoded.rejectReasons).toEqual([]);
  expect(decoded.spans).toHaveLength(1);
  const span = decoded.spans[0];
  expect(span).toMatchObject({
    traceId: TRACE_ID,
    spanId: SPAN_ID,
    parentSpanId: PARENT_ID,
    name: 'chat gpt-4o',
    kind: 'client',
    startTimeUnixNano: 1_700_000_000_123_456_789n,
    endTimeUnixNano: 1_700_000_001_987_654_321n,
    status: { code: 'error', message: 'rate limited' },
    droppedAttributesCount: 2,
    droppedEventsCount: 3,
    droppedLinksCount: 4,
    // W3C sampled bit plus OTLP's "has is_remote" and "is_remote" bits.
    flags: 0x301,
  });
  expect(span.attributes).toEqual({
    'gen_ai.request.model': 'gpt-4o',
    'gen_ai.usage.input_tokens': 1234n,
    'gen_ai.request.temperature': 0.25,
    'gen_ai.stream': true,
    'gen_ai.response.finish_reasons': ['stop', 'length'],
  });
  expect(span.events).toEqual([
    { timeUnixNano: 1_700_000_000_500_000_001n, name: 'gen_ai.choice', attributes: { index: 0n }, droppedAttributesCount: 0 },
  ]);
  expect(span.links).toEqual([
    {
      traceId: LINK_TRACE_ID,
      spanId: LINK_SPAN_ID,
      traceState: '',
      attributes: { 'link.kind': 'retry-of' },
      droppedAttributesCount: 0,
      flags: 0x100,
    },
  ]);
  expect(span.resource.attributes).toMatchObject({ 'service.name': 'chat-api', 'deployment.environment': 'test' });
  expect(span.scope).toMatchObject({ name: 'openai-instrumentation', version: '1.2.3' });
}

describe('decoding requests made by @opentelemetry/otlp-transformer', () => {
  it('decodes the protobuf serializer output exactly', () => {
    const bytes = ProtobufTraceSerializer.serializeRequest([readableSpan()]);
    expect(bytes).toBeDefined();
    expectDecodedSpan(decodeTraceRequestProto(bytes!));
  });

  it('decodes the JSON serializer output exactly', () => {
    const bytes = JsonTraceSerializer.serializeRequest([readableSpan()]);
    expect(bytes).toBeDefined();
    expectDecodedSpan(decodeTraceRequestJson(Buffer.from(bytes!).toString('utf8')));
  });

  it('decodes spans recorded by a real tracer, sharing resource and scope objects', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ resource, spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const tracer = provider.getTracer('agent', '0.9.0');
    const root = tracer.startSpan('invoke_agent', { kind: SpanKind.SERVER });
    const ctx = trace.setSpan(context.active(), root);
    for (let i = 0; i < 3; i++) {
      tracer.startSpan(`tool ${i}`, { attributes: { 'gen_ai.tool.name': `t${i}` } }, ctx).end();
    }
    root.end();
    await provider.forceFlush();
    const recorded = exporter.getFinishedSpans();

    for (const decoded of [
      decodeTraceRequestProto(ProtobufTraceSerializer.serializeRequest(recorded)!),
      decodeTraceRequestJson(Buffer.from(JsonTraceSerializer.serializeRequest(recorded)!).toString('utf8')),
    ]) {
      expect(decoded.spans.map((s) => s.name)).toEqual(['tool 0', 'tool 1', 'tool 2', 'invoke_agent']);
      const rootSpan = decoded.spans[3];
      expect(rootSpan.kind).toBe('server');
      expect(rootSpan.parentSpanId).toBe('');
      expect(rootSpan.spanId).toBe(root.spanContext().spanId);
      for (const child of decoded.spans.slice(0, 3)) {
        expect(child.traceId).toBe(root.spanContext().traceId);
        expect(child.parentSpanId).toBe(root.spanContext().spanId);
        expect(child.kind).toBe('internal');
        // Shared, not copied: one object per ResourceSpans / ScopeSpans.
        expect(child.resource).toBe(rootSpan.resource);
        expect(child.scope).toBe(rootSpan.scope);
      }
      expect(rootSpan.scope).toMatchObject({ name: 'agent', version: '0.9.0' });
      expect(rootSpan.resource.attributes['service.name']).toBe('chat-api');
      const [r] = recorded.slice(3);
      const startNs = BigInt(r.startTime[0]) * 1_000_000_000n + BigInt(r.startTime[1]);
      expect(rootSpan.startTimeUnixNano).toBe(startNs);
    }
    await provider.shutdown();
  });
});
