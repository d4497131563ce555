/**
 * Through the real daemon: OTLP/protobuf over HTTP into the otlp receiver, the enrich processor,
 * and the clickhouse exporter on the embedded engine; the typed columns are read back through the
 * admin query endpoint and the unknown-model counter through /metrics.
 */
import { registry } from '../../../components';
import { encodeTraceRequestProto } from '../../../core/otlp/encode';
import { makeSpan } from '../../../core/span';
import type { Attributes, Span } from '../../../core/span';
import { enrichProcessorFactory } from '../../../processors/enrich/factory';
import { queryRows, startDaemon, uniqueDatabase } from '../../support/daemon';
import type { TestDaemon } from '../../support/daemon';
import { resource } from './support';

const database = uniqueDatabase('enrich');

const yaml = `receivers:
  otlp:
    http: { listen: 127.0.0.1:0 }
    grpc: { enabled: false }
    default_workspace: acme
processors:
  enrich:
    workspace: acme
    price_overrides:
      - { model: "llama-3\\\\.3-70b-versatile", workspace: acme, project: support-bot, input_per_mtok: 0.1, output_per_mtok: 0.2 }
exporters:
  clickhouse:
    path: \${env:TEST_DATA_DIR}
    database: ${database}
    timeout_ms: 10
service:
  admin:
    listen: 127.0.0.1:0
  pipelines:
    traces: { receivers: [otlp], processors: [enrich], exporters: [clickhouse] }
`;

const app = resource({ 'service.name': 'support-bot', 'deployment.environment.name': 'staging', 'telemetry.sdk.language': 'python' });
const T0 = 1_763_900_000_000_000_000n;
let n = 0;
const span = (name: string, attributes: Attributes): Span => {
  n += 1;
  return makeSpan({
    traceId: 'ee000000000000000000000000000001',
    spanId: n.toString(16).padStart(16, '0'),
    name,
    kind: 'client',
    startTimeUnixNano: T0 + BigInt(n) * 1_000_000n,
    endTimeUnixNano: T0 + BigInt(n) * 1_000_000n + 500_000_000n,
    attributes,
    resource: app,
  });
};

// OpenLLMetry's Anthropic instrumentation (cache reads already inside input_tokens).
const openllmetry = span('anthropic.chat', {
  'llm.request.type': 'chat',
  'gen_ai.system': 'Anthropic',
  'gen_ai.request.model': 'claude-3-5-sonnet-20241022',
  'gen_ai.response.model': 'claude-3-5-sonnet-20241022',
  'gen_ai.usage.input_tokens': 2200n,
  'gen_ai.usage.output_tokens': 150n,
  'gen_ai.usage.cache_read_input_tokens': 2000n,
  'llm.usage.total_tokens': 2350n,
  'gen_ai.prompt.0.role': 'user',
  'gen_ai.prompt.0.content': 'Summarize the contract.',
  'gen_ai.completion.0.role': 'assistant',
  'gen_ai.completion.0.content': 'It renews yearly.',
});

// OpenInference's OpenAI instrumentation.
const openinference = span('ChatCompletion', {
  'openinference.span.kind': 'LLM',
  'llm.provider': 'openai',
  'llm.model_name': 'gpt-4o-mini-2024-07-18',
  'llm.token_count.prompt': 52n,
  'llm.token_count.completion': 18n,
  'llm.input_messages.0.message.role': 'user',
  'llm.input_messages.0.message.content': 'What is the weather in Paris?',
  'session.id': 'sess-42',
});

// Vercel AI SDK 5 call span through Groq (priced by the workspace/project override).
const vercel = span('ai.generateText.doGenerate', {
  'ai.operationId': 'ai.generateText.doGenerate',
  'ai.model.provider': 'groq.chat',
  'ai.model.id': 'llama-3.3-70b-versatile',
  'ai.prompt.messages': JSON.stringify([{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }]),
  'ai.response.text': 'Hello!',
  'ai.usage.promptTokens': 1_000_000,
  'ai.usage.completionTokens': 1_000_000,
});

const unknown = span('chat acme-finetune', {
  'gen_ai.operation.name': 'chat',
  'gen_ai.request.model': 'acme-finetune-7',
  'gen_ai.usage.input_tokens': 10n,
  'gen_ai.usage.output_tokens': 10n,
});

interface Row {
  SpanId: string;
  GenAIOperation: string;
  GenAIProvider: string;
  GenAIRequestModel: string;
  GenAIResponseModel: string;
  InputTokens: string;
  OutputTokens: string;
  CostUsd: number;
  Workspace: string;
  Project: string;
  Environment: string;
  Input: string;
  Status: string;
}

describe('enrich in the daemon, into ClickHouse', () => {
  let daemon: TestDaemon;
  let rows: Map<string, Row>;

  beforeAll(async () => {
    daemon = await startDaemon(yaml, { registry: { ...registry, processors: [...registry.processors, enrichProcessorFactory] } });
    const res = await fetch(`${daemon.receiverUrl('otlp')}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: encodeTraceRequestProto([openllmetry, openinference, vercel, unknown]),
    });
    expect(res.status).toBe(200);
    const found = await queryRows<Row>(
      daemon,
      `SELECT SpanId, GenAIOperation, GenAIProvider, GenAIRequestModel, GenAIResponseModel,
              toString(InputTokens) AS InputTokens, toString(OutputTokens) AS OutputTokens, CostUsd,
              Workspace, Project, Environment, Input, SpanAttributes['tracehouse.cost_status'] AS Status
         FROM otel_traces ORDER BY SpanId`,
      database,
    );
    rows = new Map(found.map((r) => [r.SpanId, r]));
  });
  afterAll(() => daemon?.stop());

  it('fills the typed columns of an OpenLLMetry span, cached tokens charged once', () => {
    expect(rows.get(openllmetry.spanId)).toMatchObject({
      GenAIOperation: 'chat',
      GenAIProvider: 'anthropic',
      GenAIRequestModel: 'claude-3-5-sonnet-20241022',
      GenAIResponseModel: 'claude-3-5-sonnet-20241022',
      InputTokens: '2200',
      OutputTokens: '150',
      Workspace: 'acme',
      Project: 'support-bot',
      Environment: 'staging',
      Status: 'catalog',
    });
    expect(rows.get(openllmetry.spanId)?.CostUsd).toBeCloseTo((200 * 3 + 2000 * 0.3 + 150 * 15) / 1e6, 12);
    expect(JSON.parse(rows.get(openllmetry.spanId)?.Input ?? '')).toEqual([
      { role: 'user', parts: [{ type: 'text', content: 'Summarize the contract.' }] },
    ]);
  });

  it('fills the typed columns of an OpenInference span', () => {
    expect(rows.get(openinference.spanId)).toMatchObject({
      GenAIOperation: 'chat',
      GenAIProvider: 'openai',
      GenAIRequestModel: 'gpt-4o-mini-2024-07-18',
      InputTokens: '52',
      OutputTokens: '18',
      Workspace: 'acme',
      Status: 'catalog',
    });
    expect(rows.get(openinference.spanId)?.CostUsd).toBeCloseTo((52 * 0.15 + 18 * 0.6) / 1e6, 12);
  });

  it('prices a Vercel AI SDK span by the (workspace, project) override', () => {
    expect(rows.get(vercel.spanId)).toMatchObject({
      GenAIOperation: 'chat',
      GenAIProvider: 'groq',
      GenAIRequestModel: 'llama-3.3-70b-versatile',
      InputTokens: '1000000',
      OutputTokens: '1000000',
      Project: 'support-bot',
      Status: 'override',
    });
    expect(rows.get(vercel.spanId)?.CostUsd).toBeCloseTo(0.3, 12);
  });

  it('stores an unknown model without a cost and counts it in /metrics', async () => {
    expect(rows.get(unknown.spanId)).toMatchObject({ GenAIRequestModel: 'acme-finetune-7', CostUsd: 0, Status: 'unknown_model' });
    const metrics = await (await fetch(`${daemon.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/tracehouse_processor_events_total\{[^}]*processor="enrich"[^}]*event="unknown_model"[^}]*\} 1\n/);
    expect(metrics).toMatch(/tracehouse_processor_events_total\{[^}]*event="cost"[^}]*kind="catalog"[^}]*\} 2\n/);
  });
});
