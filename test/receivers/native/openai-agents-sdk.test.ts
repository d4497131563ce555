import {
  BatchTraceProcessor,
  setTraceProcessors,
  setTracingDisabled,
  withAgentSpan,
  withCustomSpan,
  withFunctionSpan,
  withGenerationSpan,
  withGuardrailSpan,
  withHandoffSpan,
  withTrace,
} from '@openai/agents-core';
import { OpenAITracingExporter } from '@openai/agents-openai';
import { ingestPipelineYaml, queryRows, startDaemon, TEST_API_KEY, TEST_WORKSPACE, uniqueDatabase } from '../../support/daemon';
import type { TestDaemon } from '../../support/daemon';

/**
 * The OpenAI Agents SDK's own exporter (OpenAITracingExporter behind a BatchTraceProcessor)
 * pointed at the daemon: traces built with the SDK's tracing API, no model call.
 */
describe('native receiver: the OpenAI Agents SDK exporter', () => {
  const database = uniqueDatabase('agents_sdk');
  let daemon: TestDaemon;
  let base: string;

  beforeAll(async () => {
    daemon = await startDaemon(ingestPipelineYaml({ receivers: { native: [] }, database }));
    base = daemon.receiverUrl('native');
    // The SDK turns tracing off when NODE_ENV is "test", as it is under jest.
    setTracingDisabled(false);
  });
  afterAll(async () => {
    setTraceProcessors([]);
    setTracingDisabled(true);
    await daemon.stop();
  });

  /** The status of every answer the exporter got, read off the global fetch it calls. */
  const answers: number[] = [];
  const realFetch = globalThis.fetch;
  beforeEach(() => {
    answers.length = 0;
    globalThis.fetch = async (...args: Parameters<typeof fetch>) => {
      const res = await realFetch(...args);
      answers.push(res.status);
      return res;
    };
  });
  afterEach(() => {
    globalThis.fetch = realFetch;
  });

  /** Exports through a fresh processor; one try only, so a refused export is not retried for seconds. */
  function exportTo(endpoint: string, apiKey: string): BatchTraceProcessor {
    const processor = new BatchTraceProcessor(new OpenAITracingExporter({ apiKey, endpoint, maxRetries: 1 }), { scheduleDelay: 60_000 });
    setTraceProcessors([processor]);
    return processor;
  }

  it('stores one row per SDK span plus the trace root, chained as the SDK nested them', async () => {
    const processor = exportTo(`${base}/v1/traces/ingest`, TEST_API_KEY);
    const ids: Record<string, string> = {};
    await withTrace(
      'Order support',
      async (trace) => {
        ids.trace = trace.traceId;
        await withAgentSpan(
          async (agent) => {
            ids.agent = agent.spanId;
            await withGenerationSpan(
              async (generation) => {
                ids.generation = generation.spanId;
                generation.spanData.input = [{ role: 'user', content: 'Where is order 42?' }];
                generation.spanData.output = [{ role: 'assistant', content: 'Let me look it up.' }];
                generation.spanData.usage = { input_tokens: 57, output_tokens: 12 };
              },
              { data: { model: 'gpt-4.1-mini', model_config: { temperature: 0.3 } } },
            );
            await withFunctionSpan(
              async (tool) => {
                ids.tool = tool.spanId;
                tool.spanData.output = '{"status":"shipped"}';
              },
              { data: { name: 'lookup_order', input: '{"order_id":42}' } },
            );
            await expect(
              withFunctionSpan(
                async (tool) => {
                  ids.failedTool = tool.spanId;
                  throw new Error('carrier API down');
                },
                { data: { name: 'track_parcel', input: '{"order_id":42}' } },
              ),
            ).rejects.toThrow('carrier API down');
            await withGuardrailSpan(async () => undefined, { data: { name: 'no_pii', triggered: false } });
            await withHandoffSpan(async () => undefined, { data: { from_agent: 'Triage', to_agent: 'Shipping' } });
            await withCustomSpan(async () => undefined, { data: { name: 'cache_lookup', data: { hit: true } } });
          },
          { data: { name: 'Triage', tools: ['lookup_order', 'track_parcel'], handoffs: ['Shipping'] } },
        );
      },
      { groupId: 'conv_sdk_001', metadata: { customer: 'c-42' } },
    );
    await processor.forceFlush();
    await processor.shutdown();

    // One batch: the trace item (sent when it starts) and every span (sent when each ends).
    expect(answers).toEqual([200]);
    expect(ids.trace).toMatch(/^trace_[0-9a-f]{32}$/);
    const traceId = ids.trace.slice('trace_'.length);
    const rows = await queryRows<Record<string, any>>(
      daemon,
      `SELECT TraceId, SpanId, ParentSpanId, SpanName, Workspace, GenAIOperation, GenAIRequestModel, InputTokens, OutputTokens, StatusCode, StatusMessage, SpanAttributes
       FROM otel_traces WHERE TraceId = '${traceId}'`,
      database,
    );
    expect(rows).toHaveLength(8);
    const bySdkId = new Map(rows.map((r) => [r.SpanAttributes['openai.agents.span_id'] ?? 'trace', r]));
    const row = (sdkId: string) => {
      const found = bySdkId.get(sdkId);
      if (!found) throw new Error(`no row for ${sdkId}; rows: ${JSON.stringify(rows.map((r) => r.SpanName))}`);
      return found;
    };
    for (const r of rows) {
      expect(r.TraceId).toBe(traceId);
      expect(r.Workspace).toBe(TEST_WORKSPACE);
      expect(r.SpanAttributes['tracehouse.source']).toBe('native');
    }

    const root = row('trace');
    expect(root).toMatchObject({ ParentSpanId: '', SpanName: 'Order support', GenAIOperation: 'invoke_workflow' });
    expect(root.SpanAttributes).toMatchObject({ 'openai.agents.trace_id': ids.trace, 'gen_ai.conversation.id': 'conv_sdk_001', 'openai.agents.metadata.customer': 'c-42' });

    const agent = row(ids.agent);
    expect(agent).toMatchObject({ ParentSpanId: root.SpanId, SpanName: 'Triage', GenAIOperation: 'invoke_agent' });
    expect(agent.SpanAttributes).toMatchObject({ 'gen_ai.agent.name': 'Triage', 'openai.agents.agent.tools': '["lookup_order","track_parcel"]' });
    expect(agent.SpanAttributes['openai.agents.parent_id']).toBeUndefined();

    const generation = row(ids.generation);
    expect(generation).toMatchObject({ ParentSpanId: agent.SpanId, SpanName: 'gpt-4.1-mini', GenAIOperation: 'chat', GenAIRequestModel: 'gpt-4.1-mini', InputTokens: 57, OutputTokens: 12 });
    expect(generation.SpanAttributes).toMatchObject({
      'gen_ai.request.temperature': '0.3',
      'gen_ai.output.messages': JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: 'Let me look it up.' }] }]),
      'openai.agents.parent_id': ids.agent,
    });

    const tool = row(ids.tool);
    expect(tool).toMatchObject({ ParentSpanId: agent.SpanId, SpanName: 'lookup_order', GenAIOperation: 'execute_tool', StatusCode: 'Unset' });
    expect(tool.SpanAttributes).toMatchObject({ 'gen_ai.tool.name': 'lookup_order', 'gen_ai.tool.call.arguments': '{"order_id":42}', 'gen_ai.tool.call.result': '{"status":"shipped"}' });

    const failed = row(ids.failedTool);
    expect(failed).toMatchObject({ ParentSpanId: agent.SpanId, SpanName: 'track_parcel', StatusCode: 'Error', StatusMessage: 'carrier API down' });
    expect(failed.SpanAttributes['gen_ai.tool.call.result']).toBeUndefined();

    const others = rows.filter((r) => r.SpanAttributes['openai.agents.parent_id'] === ids.agent && !['chat', 'execute_tool'].includes(r.GenAIOperation));
    expect(others.map((r) => [r.SpanName, r.SpanAttributes['openai.agents.span_data.type'], r.ParentSpanId]).sort()).toEqual([
      ['cache_lookup', 'custom', agent.SpanId],
      ['handoff', 'handoff', agent.SpanId],
      ['no_pii', 'guardrail', agent.SpanId],
    ]);
    expect(others.find((r) => r.SpanName === 'no_pii')?.SpanAttributes['tracehouse.guardrail.triggered']).toBe('false');
  });

  it('stores nothing when the exporter presents a key the daemon does not know', async () => {
    // The SDK reports a refused export on the console and carries on: it is "non-fatal".
    const reported = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const processor = exportTo(`${base}/api/integrations/openai-agents`, 'sk-proj-an-openai-key-not-a-tracehouse-key');
    let traceId = '';
    await withTrace('Refused workflow', async (trace) => {
      traceId = trace.traceId.slice('trace_'.length);
      await withAgentSpan(async () => undefined, { data: { name: 'Nobody' } });
    });
    await processor.forceFlush();
    await processor.shutdown();
    const calls = reported.mock.calls.map((args) => String(args[0]));
    reported.mockRestore();
    expect(answers).toEqual([401]);
    expect(calls).toEqual([expect.stringContaining('Tracing client error 401')]);
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(await queryRows(daemon, `SELECT count() AS n FROM otel_traces WHERE TraceId = '${traceId}'`, database)).toEqual([{ n: 0 }]);
  });
});
