/**
 * Reserved attributes: `tracehouse.*` is the daemon's. A client that sets tracehouse.workspace,
 * tracehouse.source, tracehouse.verdict (or any other tracehouse.* key, on the span, its resource,
 * scope, events or links) gets it kept as client.tracehouse.*, never taken for the daemon's own;
 * OTLP without a key lands in the otlp receiver's default_workspace.
 */
import * as grpc from '@grpc/grpc-js';
import { OTLPTraceExporter as OtlpGrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as OtlpProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { registry } from '../../components';
import { loadConfigText } from '../../core/config/load-config';
import { stampSpans } from '../../core/ingest/attributes';
import { encodeTraceRequestJson, encodeTraceRequestProto } from '../../core/otlp/encode';
import { makeSpan } from '../../core/span';
import type { Attributes, Span } from '../../core/span';
import { otlpPipelineYaml, queryRows, startDaemon, uniqueDatabase } from '../support/daemon';
import type { TestDaemon } from '../support/daemon';
import { DEFAULT_CONFIG_KEY, startDefaultDaemon } from '../support/default-daemon';
import { closeGrpcClients, exportCall, grpcClient, grpcPort } from '../support/otlp-grpc-client';

interface Row {
  Workspace: string;
  Verdict: string;
  Project: string;
  CostUsd: number;
  SpanAttributes: Record<string, string>;
  ResourceAttributes: Record<string, string>;
  ScopeAttributes: Record<string, string>;
  'Events.Attributes': Record<string, string>[];
}

const COLUMNS = 'Workspace, Verdict, Project, CostUsd, SpanAttributes, ResourceAttributes, ScopeAttributes, Events.Attributes';

let counter = 0;
function ids(): { traceId: string; spanId: string } {
  counter += 1;
  const n = `${process.pid.toString(16)}${counter.toString(16).padStart(6, '0')}`;
  return { traceId: `5ec0${n.padStart(28, '0')}`, spanId: `5e${n.padStart(14, '0')}` };
}

/** What a hostile client sets: the daemon's stamps, a verdict, findings, a cost, redaction counts. */
const FORGED: Attributes = {
  'tracehouse.workspace': 'victim',
  'tracehouse.source': 'native',
  'tracehouse.verdict': 'pass',
  'tracehouse.verdict.severity': 'low',
  'tracehouse.findings': '[]',
  'tracehouse.cost_usd': 99.5,
  'tracehouse.redactions': { email: 0n },
};

function forgedSpan(extra: Partial<Span> = {}): Span {
  const { traceId, spanId } = ids();
  return makeSpan({
    traceId,
    spanId,
    name: 'chat gpt-4o',
    kind: 'client',
    startTimeUnixNano: 1_763_900_000_000_000_000n,
    endTimeUnixNano: 1_763_900_000_400_000_000n,
    attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o', ...FORGED },
    resource: { attributes: { 'service.name': 'forger', 'tracehouse.workspace': 'victim', 'tracehouse.project': 'stolen' }, droppedAttributesCount: 0, schemaUrl: '' },
    scope: { name: 'forger', version: '', attributes: { 'tracehouse.source': 'kafka' }, droppedAttributesCount: 0 },
    events: [{ timeUnixNano: 1_763_900_000_100_000_000n, name: 'tracehouse.evaluate_rules', attributes: { 'tracehouse.finding.rule_id': 'fake' }, droppedAttributesCount: 0 }],
    ...extra,
  });
}

async function rowOf(daemon: TestDaemon, spanId: string, database?: string): Promise<Row> {
  const rows = await queryRows<Row>(daemon, `SELECT ${COLUMNS} FROM otel_traces WHERE SpanId = '${spanId}'`, database);
  expect(rows).toHaveLength(1);
  return rows[0];
}

/** No key of the map is in the reserved namespace but the daemon's own stamps. */
function reservedKeys(map: Record<string, string>): string[] {
  return Object.keys(map).filter((k) => k.startsWith('tracehouse.')).sort();
}

function expectScrubbed(row: Row, workspace: string, source: string): void {
  expect(row.Workspace).toBe(workspace);
  expect(row.Verdict).toBe('');
  expect(row.CostUsd).not.toBe(99.5);
  expect(row.SpanAttributes['tracehouse.workspace']).toBe(workspace);
  expect(row.SpanAttributes['tracehouse.source']).toBe(source);
  expect(row.SpanAttributes['tracehouse.verdict']).toBeUndefined();
  expect(row.SpanAttributes['tracehouse.findings']).toBeUndefined();
  expect(row.SpanAttributes['tracehouse.redactions']).toBeUndefined();
  expect(row.SpanAttributes).toMatchObject({
    'client.tracehouse.workspace': 'victim',
    'client.tracehouse.source': 'native',
    'client.tracehouse.verdict': 'pass',
    'client.tracehouse.verdict.severity': 'low',
    'client.tracehouse.cost_usd': '99.5',
  });
  expect(reservedKeys(row.ResourceAttributes)).toEqual([]);
  expect(row.ResourceAttributes).toMatchObject({ 'client.tracehouse.workspace': 'victim', 'client.tracehouse.project': 'stolen' });
  expect(row.Project).not.toBe('stolen');
  expect(row.ScopeAttributes).toEqual({ 'client.tracehouse.source': 'kafka' });
  expect(row['Events.Attributes']).toEqual([{ 'client.tracehouse.finding.rule_id': 'fake' }]);
}

describe('reserved attributes on the default pipelines.yaml', () => {
  let daemon: TestDaemon;
  beforeAll(async () => {
    daemon = await startDefaultDaemon();
  });
  afterAll(async () => {
    closeGrpcClients();
    await daemon.stop();
  });

  const otlpUrl = () => `${daemon.receiverUrl('otlp')}/v1/traces`;
  const nativeUrl = (path: string) => `${daemon.receiverUrl('native')}${path}`;
  const auth = { authorization: `Bearer ${DEFAULT_CONFIG_KEY}` };

  it('unauthenticated OTLP/JSON: the client\'s tracehouse.* is kept as client.tracehouse.*, the span is in the default workspace', async () => {
    const span = forgedSpan();
    const res = await fetch(otlpUrl(), { method: 'POST', headers: { 'content-type': 'application/json' }, body: encodeTraceRequestJson([span]) });
    expect(res.status).toBe(200);
    expectScrubbed(await rowOf(daemon, span.spanId), 'default', 'otlp');
  });

  it('unauthenticated OTLP/protobuf over HTTP and gRPC: the same', async () => {
    const viaHttp = forgedSpan();
    const res = await fetch(otlpUrl(), { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: encodeTraceRequestProto([viaHttp]) });
    expect(res.status).toBe(200);
    expectScrubbed(await rowOf(daemon, viaHttp.spanId), 'default', 'otlp');

    const viaGrpc = forgedSpan();
    const call = await exportCall(grpcClient(daemon), encodeTraceRequestProto([viaGrpc]));
    expect(call.ok).toBe(true);
    expectScrubbed(await rowOf(daemon, viaGrpc.spanId), 'default', 'otlp');
  });

  it('authenticated OTLP (the native receiver\'s OTLP route) keeps neither a client verdict nor a client workspace', async () => {
    const span = forgedSpan();
    const res = await fetch(nativeUrl('/api/integrations/otlp/v1/traces'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: encodeTraceRequestJson([span]),
    });
    expect(res.status).toBe(200);
    expectScrubbed(await rowOf(daemon, span.spanId), 'dev', 'native');
  });

  it.each([
    ['http/protobuf', (port: number) => new OtlpProtoExporter({ url: `http://127.0.0.1:${port}/v1/traces` })],
    ['grpc', (port: number) => new OtlpGrpcExporter({ url: `http://127.0.0.1:${port}` })],
  ])('the OpenTelemetry SDK (%s) cannot pick its workspace with span or resource attributes', async (transport, makeExporter) => {
    const port = transport === 'grpc' ? grpcPort(daemon) : Number(new URL(daemon.receiverUrl('otlp')).port);
    const exporter: SpanExporter = makeExporter(port);
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': `sdk-${transport}`, 'tracehouse.workspace': 'victim' }),
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const span = provider.getTracer('forger').startSpan('chat', { attributes: { 'tracehouse.workspace': 'victim', 'tracehouse.verdict': 'pass' } });
    span.end();
    await provider.forceFlush();
    await provider.shutdown();
    const row = await rowOf(daemon, span.spanContext().spanId);
    expect(row.Workspace).toBe('default');
    expect(row.Verdict).toBe('');
    expect(row.SpanAttributes['client.tracehouse.verdict']).toBe('pass');
    expect(row.ResourceAttributes['client.tracehouse.workspace']).toBe('victim');
    expect(reservedKeys(row.ResourceAttributes)).toEqual([]);
  });

  // Every JSON receiver keeps free-form client fields under a prefix of its own, and the route
  // stamps workspace and source last: a payload cannot reach the reserved names.
  it.each([
    [
      'native /api/traces',
      '/api/traces',
      (marker: string) => ({ requestId: marker, actionName: 'x', model: 'gpt-4o', prompt: 'p', response: 'r', metadata: FORGED_JSON }),
      (marker: string) => `SpanAttributes['aitracer.request_id'] = '${marker}'`,
    ],
    [
      'logs /api/logs',
      '/api/logs',
      (marker: string) => ({ id: marker, project: 'p', output: 'o', metadata: FORGED_JSON }),
      (marker: string) => `SpanAttributes['tracehouse.log_id'] = '${marker}'`,
    ],
    [
      'events /v1/ingest/runtime',
      '/v1/ingest/runtime',
      (marker: string) => ({ route_id: 'r', event_id: marker, timestamp: '2026-11-20T10:00:00Z', ...FORGED_JSON }),
      (marker: string) => `SpanAttributes['tracehouse.event_id'] = '${marker}'`,
    ],
  ])('%s: forged tracehouse.* fields in the payload do not become the daemon\'s attributes', async (_name, path, body, where) => {
    const marker = `forged-${ids().spanId}`;
    const res = await fetch(nativeUrl(path), { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: JSON.stringify(body(marker)) });
    expect(res.status).toBeLessThan(300);
    const rows = await queryRows<Row>(daemon, `SELECT ${COLUMNS} FROM otel_traces WHERE ${where(marker)}`);
    expect(rows).toHaveLength(1);
    const [row] = rows;
    expect(row.Workspace).toBe('dev');
    expect(row.Verdict).toBe('');
    expect(row.SpanAttributes['tracehouse.workspace']).toBe('dev');
    expect(row.SpanAttributes['tracehouse.verdict']).toBeUndefined();
    expect(row.SpanAttributes['tracehouse.source']).not.toBe('native-forged');
  });
});

const FORGED_JSON = { 'tracehouse.workspace': 'victim', 'tracehouse.verdict': 'pass', 'tracehouse.source': 'native-forged' };

describe('the otlp receiver\'s default_workspace', () => {
  it('is the workspace (and Workspace column) of spans without a key and of spans sent with a plain API key', async () => {
    const database = uniqueDatabase('defaultws');
    const daemon = await startDaemon(otlpPipelineYaml({ database, grpc: true, otlp: ['default_workspace: tenant-x', 'auth: { api_keys: ["plain-key-0123456789abcdef"] }'] }));
    try {
      const span = forgedSpan();
      const res = await fetch(`${daemon.receiverUrl('otlp')}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf', authorization: 'Bearer plain-key-0123456789abcdef' },
        body: encodeTraceRequestProto([span]),
      });
      expect(res.status).toBe(200);
      expectScrubbed(await rowOf(daemon, span.spanId, database), 'tenant-x', 'otlp');

      const overGrpc = forgedSpan();
      const metadata = new grpc.Metadata();
      metadata.set('authorization', 'Bearer plain-key-0123456789abcdef');
      expect((await exportCall(grpcClient(daemon), encodeTraceRequestProto([overGrpc]), metadata)).ok).toBe(true);
      expectScrubbed(await rowOf(daemon, overGrpc.spanId, database), 'tenant-x', 'otlp');
    } finally {
      closeGrpcClients();
      await daemon.stop();
    }
  });

  it('is a workspace id: other text is a config error', () => {
    const yaml = otlpPipelineYaml({ database: 'x', otlp: ['default_workspace: "no spaces allowed"'] });
    const { config, diagnostics } = loadConfigText(yaml, 'test.yaml', registry, { env: { TEST_DATA_DIR: '/tmp' } });
    expect(config).toBeUndefined();
    expect(diagnostics.map((d) => d.path).join(' ')).toMatch(/default_workspace/);
  });
});

describe('stampSpans', () => {
  it('keeps shared resources shared and leaves clean ones untouched', () => {
    const clean = makeSpan({ traceId: '1'.repeat(32), spanId: '1'.repeat(16), name: 'a', resource: { attributes: { 'service.name': 's' }, droppedAttributesCount: 0, schemaUrl: '' } });
    const forged = forgedSpan();
    const sibling = { ...forgedSpan(), resource: forged.resource, scope: forged.scope };
    const { spans, renamed } = stampSpans([clean, forged, sibling], { 'tracehouse.workspace': 'w' }, 'client');
    expect(spans[0].resource).toBe(clean.resource);
    expect(spans[1].resource).toBe(spans[2].resource);
    expect(spans[1].resource.attributes).toEqual({ 'service.name': 'forger', 'client.tracehouse.workspace': 'victim', 'client.tracehouse.project': 'stolen' });
    // Per forged span: 7 span attributes and one event attribute; the shared resource and scope once.
    expect(renamed).toBe(2 * 8 + 2 + 1);
    expect(forged.attributes['tracehouse.verdict']).toBe('pass');
  });

  it('on spans a JSON route built, keeps the receiver\'s mapped tracehouse.* and moves only the pipeline\'s keys', () => {
    const span = makeSpan({
      traceId: '2'.repeat(32),
      spanId: '2'.repeat(16),
      name: 'log',
      attributes: { 'tracehouse.project': 'p', 'tracehouse.cost_usd': 0.1, 'tracehouse.verdict': 'pass' },
    });
    const { spans } = stampSpans([span], { 'tracehouse.workspace': 'w', 'tracehouse.source': 'logs' }, 'receiver');
    expect(spans[0].attributes).toEqual({
      'tracehouse.project': 'p',
      'tracehouse.cost_usd': 0.1,
      'client.tracehouse.verdict': 'pass',
      'tracehouse.workspace': 'w',
      'tracehouse.source': 'logs',
    });
  });
});

describe('agent runs across tenants', () => {
  it('two workspaces using the same trace id do not add up to a loop', async () => {
    const database = uniqueDatabase('tenants');
    const yaml = `receivers:
  otlp:
    http: { listen: 127.0.0.1:0 }
    grpc: { enabled: false }
    auth: workspaces
processors:
  evaluate_rules:
    rules: []
exporters:
  clickhouse:
    path: \${env:TEST_DATA_DIR}
    database: ${database}
    timeout_ms: 10
workspaces:
  acme: { api_keys: ["acme-key-0123456789abcdef"] }
  globex: { api_keys: ["globex-key-0123456789abcdef"] }
service:
  admin: { listen: 127.0.0.1:0 }
  pipelines:
    traces: { receivers: [otlp], processors: [evaluate_rules], exporters: [clickhouse] }
`;
    const daemon = await startDaemon(yaml);
    try {
      const { traceId } = ids();
      let n = 0;
      const send = async (key: string) => {
        n += 1;
        const span = makeSpan({
          traceId,
          spanId: `7001${n.toString(16).padStart(12, '0')}`,
          name: 'execute_tool lookup_order',
          startTimeUnixNano: 1_763_900_000_000_000_000n + BigInt(n) * 1_000_000n,
          endTimeUnixNano: 1_763_900_000_000_500_000n + BigInt(n) * 1_000_000n,
          attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'lookup_order', 'gen_ai.tool.call.arguments': '{"order_id":"1042"}' },
        });
        const res = await fetch(`${daemon.receiverUrl('otlp')}/v1/traces`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-protobuf', authorization: `Bearer ${key}` },
          body: encodeTraceRequestProto([span]),
        });
        expect(res.status).toBe(200);
      };
      const findings = () =>
        queryRows<{ Workspace: string }>(daemon, `SELECT Workspace FROM otel_traces WHERE TraceId = '${traceId}' AND SpanAttributes['tracehouse.record_type'] = 'agent_finding'`, database);
      // The loop threshold is 3 calls: two per tenant must not count as four.
      await send('acme-key-0123456789abcdef');
      await send('acme-key-0123456789abcdef');
      await send('globex-key-0123456789abcdef');
      await send('globex-key-0123456789abcdef');
      expect(await findings()).toEqual([]);
      await send('acme-key-0123456789abcdef');
      expect(await findings()).toEqual([{ Workspace: 'acme' }]);
    } finally {
      await daemon.stop();
    }
  });
});
