import { ingestPipelineYaml, postJson, queryRows, startDaemon, TEST_API_KEY, TEST_WORKSPACE, uniqueDatabase } from '../../support/daemon';
import type { TestDaemon } from '../../support/daemon';

/** Hand-written OpenAI Agents export payloads, in the shapes the JS and Python SDKs send. */

const AGENTS_PATH = '/api/integrations/openai-agents';
const INGEST_PATH = '/v1/traces/ingest';
const OTHER_RECEIVER_KEY = 'th_other_key_0123456789abcdef';

/** An SDK-style trace id (trace_<32 hex>) and the OTLP trace id it keeps. */
function traceIds(seed: string): { sdk: string; otlp: string } {
  const hex = seed.repeat(32).slice(0, 32);
  return { sdk: `trace_${hex}`, otlp: hex };
}

function spanItem(traceId: string, id: string, parentId: string | null, startedAt: string, endedAt: string | null, spanData: Record<string, unknown>, error: unknown = null) {
  return { object: 'trace.span', id, trace_id: traceId, parent_id: parentId, started_at: startedAt, ended_at: endedAt, span_data: spanData, error };
}

const SOURCE = { 'tracehouse.workspace': TEST_WORKSPACE, 'tracehouse.source': 'native' };

describe('native receiver: OpenAI Agents trace export', () => {
  const database = uniqueDatabase('agents');
  let daemon: TestDaemon;
  let base: string;

  beforeAll(async () => {
    daemon = await startDaemon(
      ingestPipelineYaml({
        // The events receiver is there only so that a key can be restricted to it.
        receivers: { native: [`rate_limit: { limit: 1000, per_route: { "${INGEST_PATH}": { limit: 3, window_seconds: 60 } } }`], events: [] },
        workspaces: [`${TEST_WORKSPACE}:`, `  api_keys: ["${TEST_API_KEY}", { key: "${OTHER_RECEIVER_KEY}", receivers: [events] }]`],
        database,
      }),
    );
    base = daemon.receiverUrl('native');
  });
  afterAll(() => daemon.stop());

  const rowsOf = (traceId: string, columns = '*') =>
    queryRows<Record<string, any>>(daemon, `SELECT ${columns} FROM otel_traces WHERE TraceId = '${traceId}' ORDER BY Timestamp, SpanName`, database);

  it('stores the trace as a root span over an agent, its generation and its tool call', async () => {
    const trace = traceIds('a1');
    const res = await postJson(`${base}${AGENTS_PATH}`, {
      data: [
        { object: 'trace', id: trace.sdk, workflow_name: 'Support workflow', group_id: 'conv_001', metadata: { customer: 'c-42', tier: 'gold', retries: 2 } },
        spanItem(trace.sdk, 'span_000000000000000000agent1', null, '2026-11-20T10:00:00.000Z', '2026-11-20T10:00:03.500Z', {
          type: 'agent',
          name: 'Triage agent',
          handoffs: ['Billing agent'],
          tools: ['lookup_order'],
          output_type: 'text',
        }),
        spanItem(trace.sdk, 'span_0000000000000000000gen1', 'span_000000000000000000agent1', '2026-11-20T10:00:00.100Z', '2026-11-20T10:00:01.350Z', {
          type: 'generation',
          model: 'gpt-4o',
          model_config: { temperature: 0.2, top_p: 1, max_tokens: 512, reasoning_effort: null, base_url: 'https://api.openai.com/v1' },
          input: [
            { role: 'system', content: 'You are a support agent.' },
            { role: 'user', content: [{ type: 'text', text: 'Where is order 42?' }] },
          ],
          // The JS SDK records the whole chat.completion as output and leaves usage unset.
          output: [
            {
              id: 'chatcmpl-001',
              object: 'chat.completion',
              model: 'gpt-4o-2024-08-06',
              choices: [
                {
                  index: 0,
                  finish_reason: 'tool_calls',
                  message: { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup_order', arguments: '{"order_id":42}' } }] },
                },
              ],
              usage: { prompt_tokens: 120, completion_tokens: 18, total_tokens: 138, prompt_tokens_details: { cached_tokens: 100 } },
            },
          ],
        }),
        spanItem(trace.sdk, 'span_0000000000000000000fn01', 'span_000000000000000000agent1', '2026-11-20T10:00:01.400Z', '2026-11-20T10:00:01.650Z', {
          type: 'function',
          name: 'lookup_order',
          input: '{"order_id":42}',
          output: '{"status":"shipped"}',
        }),
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({});

    const rows = await rowsOf(
      trace.otlp,
      `SpanId, ParentSpanId, SpanName, SpanKind, toString(Timestamp) AS ts, Duration, StatusCode, Workspace, GenAIOperation, GenAIProvider,
       GenAIRequestModel, GenAIResponseModel, InputTokens, OutputTokens, Input, Output, SpanAttributes`,
    );
    expect(rows.map((r) => r.SpanName)).toEqual(['Support workflow', 'Triage agent', 'gpt-4o', 'lookup_order']);
    const [root, agent, generation, tool] = rows;
    for (const row of rows) {
      expect(row.SpanId).toMatch(/^[0-9a-f]{16}$/);
      expect(row.Workspace).toBe(TEST_WORKSPACE);
      expect(row.StatusCode).toBe('Unset');
    }
    expect(new Set(rows.map((r) => r.SpanId)).size).toBe(4);

    // The root spans the batch's spans of its trace: the SDK sends no times for a trace.
    expect(root).toMatchObject({ ParentSpanId: '', SpanKind: 'Internal', ts: '2026-11-20 10:00:00.000000000', Duration: 3_500_000_000, GenAIOperation: 'invoke_workflow' });
    expect(root.SpanAttributes).toEqual({
      'gen_ai.operation.name': 'invoke_workflow',
      'gen_ai.workflow.name': 'Support workflow',
      'gen_ai.conversation.id': 'conv_001',
      'openai.agents.trace_id': trace.sdk,
      'openai.agents.metadata.customer': 'c-42',
      'openai.agents.metadata.tier': 'gold',
      'openai.agents.metadata.retries': '2',
      ...SOURCE,
    });

    expect(agent).toMatchObject({ ParentSpanId: root.SpanId, SpanKind: 'Internal', Duration: 3_500_000_000, GenAIOperation: 'invoke_agent', InputTokens: 0 });
    expect(agent.SpanAttributes).toEqual({
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.name': 'Triage agent',
      'openai.agents.agent.handoffs': '["Billing agent"]',
      'openai.agents.agent.tools': '["lookup_order"]',
      'openai.agents.agent.output_type': 'text',
      'openai.agents.trace_id': trace.sdk,
      'openai.agents.span_id': 'span_000000000000000000agent1',
      'openai.agents.span_data.type': 'agent',
      ...SOURCE,
    });

    expect(generation).toMatchObject({
      ParentSpanId: agent.SpanId,
      SpanKind: 'Client',
      ts: '2026-11-20 10:00:00.100000000',
      Duration: 1_250_000_000,
      GenAIOperation: 'chat',
      GenAIProvider: '',
      GenAIRequestModel: 'gpt-4o',
      GenAIResponseModel: 'gpt-4o-2024-08-06',
      InputTokens: 120,
      OutputTokens: 18,
    });
    expect(JSON.parse(generation.Input)).toEqual([
      { role: 'system', parts: [{ type: 'text', content: 'You are a support agent.' }] },
      { role: 'user', parts: [{ type: 'text', content: 'Where is order 42?' }] },
    ]);
    expect(JSON.parse(generation.Output)).toEqual([
      { role: 'assistant', parts: [{ type: 'tool_call', id: 'call_1', name: 'lookup_order', arguments: { order_id: 42 } }], finish_reason: 'tool_calls' },
    ]);
    expect(generation.SpanAttributes).toEqual({
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.request.temperature': '0.2',
      'gen_ai.request.top_p': '1',
      'gen_ai.request.max_tokens': '512',
      'openai.agents.model_config.base_url': 'https://api.openai.com/v1',
      'gen_ai.input.messages': generation.Input,
      'gen_ai.output.messages': generation.Output,
      'gen_ai.usage.input_tokens': '120',
      'gen_ai.usage.output_tokens': '18',
      'gen_ai.usage.total_tokens': '138',
      'gen_ai.usage.cache_read.input_tokens': '100',
      'gen_ai.response.id': 'chatcmpl-001',
      'gen_ai.response.model': 'gpt-4o-2024-08-06',
      'gen_ai.response.finish_reasons': '["tool_calls"]',
      'openai.agents.trace_id': trace.sdk,
      'openai.agents.span_id': 'span_0000000000000000000gen1',
      'openai.agents.parent_id': 'span_000000000000000000agent1',
      'openai.agents.span_data.type': 'generation',
      ...SOURCE,
    });

    expect(tool).toMatchObject({ ParentSpanId: agent.SpanId, SpanKind: 'Internal', Duration: 250_000_000, GenAIOperation: 'execute_tool' });
    expect(tool.SpanAttributes).toEqual({
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.type': 'function',
      'gen_ai.tool.name': 'lookup_order',
      'gen_ai.tool.call.arguments': '{"order_id":42}',
      'gen_ai.tool.call.result': '{"status":"shipped"}',
      'openai.agents.trace_id': trace.sdk,
      'openai.agents.span_id': 'span_0000000000000000000fn01',
      'openai.agents.parent_id': 'span_000000000000000000agent1',
      'openai.agents.span_data.type': 'function',
      ...SOURCE,
    });
  });

  it('maps every other span type, and keeps fields it does not know', async () => {
    const trace = traceIds('b2');
    const at = (s: number) => `2026-11-20T11:00:0${s}.000Z`;
    const items = [
      spanItem(trace.sdk, 'span_resp', null, at(0), at(1), { type: 'response', response_id: 'resp_123' }),
      spanItem(trace.sdk, 'span_handoff', null, at(1), at(1), { type: 'handoff', from_agent: 'Triage agent', to_agent: 'Billing agent' }),
      spanItem(trace.sdk, 'span_guard', null, at(1), at(2), { type: 'guardrail', name: 'no_pii', triggered: true }),
      spanItem(trace.sdk, 'span_task', null, at(2), at(3), { type: 'custom', name: 'task', data: { sdk_span_type: 'task', name: 'Support run', usage: { input_tokens: 320, output_tokens: 43 } } }),
      spanItem(trace.sdk, 'span_stt', null, at(3), at(4), { type: 'transcription', input: { data: 'AAAAAAAA', format: 'pcm' }, output: 'where is my order', model: 'gpt-4o-transcribe', model_config: { language: 'en' } }),
      spanItem(trace.sdk, 'span_tts', null, at(4), at(5), { type: 'speech', input: 'It shipped.', output: { data: 'BBBBBBBB', format: 'pcm' }, model: 'gpt-4o-mini-tts', model_config: { voice: 'alloy' } }),
      spanItem(trace.sdk, 'span_group', null, at(5), at(6), { type: 'speech_group', input: 'It shipped.' }),
      spanItem(trace.sdk, 'span_mcp', null, at(6), at(7), { type: 'mcp_tools', server: 'filesystem', result: ['read_file', 'write_file'] }),
      spanItem(trace.sdk, 'span_future', null, at(7), at(8), { type: 'planning', name: 'plan', steps: 3, detail: { depth: 'deep' } }),
    ];
    const res = await postJson(`${base}${AGENTS_PATH}`, { data: items });
    expect(res.status).toBe(200);

    const rows = await rowsOf(trace.otlp, 'SpanName, SpanKind, ParentSpanId, GenAIOperation, GenAIProvider, GenAIRequestModel, InputTokens, Input, Output, SpanAttributes');
    const byType = Object.fromEntries(rows.map((r) => [r.SpanAttributes['openai.agents.span_data.type'], r]));
    expect(Object.keys(byType).sort()).toEqual(['custom', 'guardrail', 'handoff', 'mcp_tools', 'planning', 'response', 'speech', 'speech_group', 'transcription']);
    // Without their trace item in the batch the spans still hang under the trace's root span id.
    expect(new Set(rows.map((r) => r.ParentSpanId)).size).toBe(1);
    const own = (type: string, id: string) => ({ 'openai.agents.trace_id': trace.sdk, 'openai.agents.span_id': id, 'openai.agents.span_data.type': type, ...SOURCE });

    expect(byType.response).toMatchObject({ SpanName: 'response', SpanKind: 'Client', GenAIOperation: 'chat', GenAIProvider: 'openai' });
    expect(byType.response.SpanAttributes).toEqual({ 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.response.id': 'resp_123', ...own('response', 'span_resp') });

    expect(byType.handoff).toMatchObject({ SpanName: 'handoff', SpanKind: 'Internal', GenAIOperation: '' });
    expect(byType.handoff.SpanAttributes).toEqual({ 'openai.agents.handoff.from': 'Triage agent', 'openai.agents.handoff.to': 'Billing agent', ...own('handoff', 'span_handoff') });

    expect(byType.guardrail.SpanName).toBe('no_pii');
    expect(byType.guardrail.SpanAttributes).toEqual({ 'tracehouse.guardrail.name': 'no_pii', 'tracehouse.guardrail.triggered': 'true', ...own('guardrail', 'span_guard') });

    // A task's usage sums the run: it must not be counted again in the token columns.
    expect(byType.custom).toMatchObject({ SpanName: 'task', InputTokens: 0 });
    expect(byType.custom.SpanAttributes).toEqual({
      'openai.agents.custom.sdk_span_type': 'task',
      'openai.agents.custom.name': 'Support run',
      'openai.agents.custom.usage.input_tokens': '320',
      'openai.agents.custom.usage.output_tokens': '43',
      ...own('custom', 'span_task'),
    });

    // Audio payloads are dropped; their format and the text side are kept.
    expect(byType.transcription).toMatchObject({ SpanName: 'transcription', SpanKind: 'Client', GenAIRequestModel: 'gpt-4o-transcribe' });
    expect(byType.transcription.SpanAttributes).toEqual({
      'gen_ai.request.model': 'gpt-4o-transcribe',
      'openai.agents.model_config.language': 'en',
      'openai.agents.audio.input_format': 'pcm',
      'gen_ai.output.messages': JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: 'where is my order' }] }]),
      ...own('transcription', 'span_stt'),
    });
    expect(byType.speech).toMatchObject({ SpanName: 'speech', GenAIRequestModel: 'gpt-4o-mini-tts', Input: JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: 'It shipped.' }] }]) });
    expect(byType.speech.SpanAttributes).toEqual({
      'gen_ai.request.model': 'gpt-4o-mini-tts',
      'openai.agents.model_config.voice': 'alloy',
      'gen_ai.input.messages': byType.speech.Input,
      'openai.agents.audio.output_format': 'pcm',
      ...own('speech', 'span_tts'),
    });
    expect(byType.speech_group.SpanAttributes).toEqual({ 'gen_ai.input.messages': byType.speech.Input, ...own('speech_group', 'span_group') });

    expect(byType.mcp_tools.SpanName).toBe('mcp_tools');
    expect(byType.mcp_tools.SpanAttributes).toEqual({ 'openai.agents.mcp.server': 'filesystem', 'openai.agents.mcp.tools': '["read_file","write_file"]', ...own('mcp_tools', 'span_mcp') });

    expect(byType.planning.SpanName).toBe('plan');
    expect(byType.planning.SpanAttributes).toEqual({
      'openai.agents.span_data.name': 'plan',
      'openai.agents.span_data.steps': '3',
      'openai.agents.span_data.detail.depth': 'deep',
      ...own('planning', 'span_future'),
    });

    // The trace item, sent later on its own, becomes the root those spans point at, at receive time.
    const before = BigInt(Date.now()) * 1_000_000n;
    const late = await postJson(`${base}${AGENTS_PATH}`, { data: [{ object: 'trace', id: trace.sdk, workflow_name: null, group_id: null, metadata: null }] });
    const after = BigInt(Date.now()) * 1_000_000n;
    expect(late.status).toBe(200);
    const [root] = await queryRows<Record<string, any>>(
      daemon,
      `SELECT SpanId, SpanName, toString(toUnixTimestamp64Nano(Timestamp)) AS ns, Duration, SpanAttributes FROM otel_traces WHERE TraceId = '${trace.otlp}' AND ParentSpanId = ''`,
      database,
    );
    expect(root.SpanId).toBe(rows[0].ParentSpanId);
    expect(root.SpanName).toBe('Agent workflow');
    expect(root.Duration).toBe(0);
    expect(BigInt(root.ns)).toBeGreaterThanOrEqual(before - 1_000_000n);
    expect(BigInt(root.ns)).toBeLessThanOrEqual(after);
    expect(root.SpanAttributes).toEqual({ 'gen_ai.operation.name': 'invoke_workflow', 'gen_ai.workflow.name': 'Agent workflow', 'openai.agents.trace_id': trace.sdk, ...SOURCE });
  });

  it('stores a failed span with status Error, and Python SDK timestamps and usage', async () => {
    const trace = traceIds('c3');
    const res = await postJson(`${base}${AGENTS_PATH}`, {
      data: [
        spanItem(trace.sdk, 'span_agent', null, '2026-11-20T12:00:00.000001+00:00', '2026-11-20T12:00:02.000002+00:00', { type: 'agent', name: 'Refunds' }),
        spanItem(trace.sdk, 'span_gen', 'span_agent', '2026-11-20T12:00:00.250000+00:00', '2026-11-20T12:00:01.000000+00:00', {
          type: 'generation',
          input: [{ role: 'user', content: 'Refund order 7' }],
          output: [{ role: 'assistant', content: 'Refunding now.' }],
          usage: { input_tokens: 200, output_tokens: 25 },
        }),
        // Still open when exported: it ends where it starts.
        spanItem(trace.sdk, 'span_tool', 'span_agent', '2026-11-20T13:00:01.500000+01:00', null, { type: 'function', name: 'refund', input: { order: 7 } }, {
          message: 'Error running tool (non-fatal)',
          data: { tool_name: 'refund', error: 'payment provider down' },
        }),
      ],
    });
    expect(res.status).toBe(200);
    const rows = await rowsOf(trace.otlp, 'SpanName, toString(Timestamp) AS ts, Duration, StatusCode, StatusMessage, InputTokens, OutputTokens, Input, Output, SpanAttributes');
    expect(rows.map(({ SpanAttributes, ...rest }) => rest)).toEqual([
      { SpanName: 'Refunds', ts: '2026-11-20 12:00:00.000001000', Duration: 2_000_001_000, StatusCode: 'Unset', StatusMessage: '', InputTokens: 0, OutputTokens: 0, Input: '', Output: '' },
      {
        SpanName: 'generation',
        ts: '2026-11-20 12:00:00.250000000',
        Duration: 750_000_000,
        StatusCode: 'Unset',
        StatusMessage: '',
        InputTokens: 200,
        OutputTokens: 25,
        Input: JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: 'Refund order 7' }] }]),
        Output: JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: 'Refunding now.' }] }]),
      },
      { SpanName: 'refund', ts: '2026-11-20 12:00:01.500000000', Duration: 0, StatusCode: 'Error', StatusMessage: 'Error running tool (non-fatal)', InputTokens: 0, OutputTokens: 0, Input: '', Output: '' },
    ]);
    expect(rows[2].SpanAttributes).toMatchObject({
      'gen_ai.tool.call.arguments': '{"order":7}',
      'openai.agents.error.data.tool_name': 'refund',
      'openai.agents.error.data.error': 'payment provider down',
    });
    expect(rows[2].SpanAttributes['gen_ai.tool.call.result']).toBeUndefined();
  });

  it('keeps input and output it cannot read as messages as the JSON it got', async () => {
    const trace = traceIds('d4');
    const input = [{ kind: 'mystery', payload: [1, 2] }];
    const output = { not: 'a list' };
    const res = await postJson(`${base}${AGENTS_PATH}`, {
      data: [spanItem(trace.sdk, 'span_odd', null, '2026-11-20T14:00:00Z', '2026-11-20T14:00:01Z', { type: 'generation', model: 'local-llm', input, output })],
    });
    expect(res.status).toBe(200);
    const [row] = await rowsOf(trace.otlp, 'Input, Output');
    expect(row).toEqual({ Input: JSON.stringify(input), Output: JSON.stringify(output) });
  });

  it('answers 422 listing every bad item and field, and stores none of the batch', async () => {
    const good = traceIds('e5');
    const res = await postJson(`${base}${AGENTS_PATH}`, {
      data: [
        { object: 'trace', id: good.sdk, workflow_name: 'ok' },
        { object: 'trace', workflow_name: 'no id' },
        spanItem(good.sdk, 'span_1', null, 'yesterday', null, { type: 'agent', name: 'a' }),
        { object: 'spam', id: 'x' },
        7,
        { object: 'trace.span', id: '', trace_id: good.sdk, started_at: '2026-11-20T10:00:00Z', ended_at: 'soon', span_data: {} },
        { object: 'trace.span', id: 'span_2', started_at: '2026-11-20T10:00:00Z', span_data: { type: 'agent' }, error: { data: {} } },
      ],
    });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('RCV_VALIDATION');
    expect(res.body.fields).toEqual([
      { field: 'data[1].id', message: expect.any(String), code: 'required' },
      { field: 'data[2].started_at', message: expect.stringContaining('ISO 8601'), code: 'invalid' },
      { field: 'data[3].object', message: 'must be "trace" or "trace.span"', code: 'invalid' },
      { field: 'data[4]', message: expect.any(String), code: 'invalid_type' },
      { field: 'data[5].id', message: 'must not be empty', code: 'too_short' },
      { field: 'data[5].ended_at', message: expect.stringContaining('ISO 8601'), code: 'invalid' },
      { field: 'data[5].span_data.type', message: expect.any(String), code: 'required' },
      { field: 'data[6].trace_id', message: expect.any(String), code: 'required' },
      { field: 'data[6].error.message', message: expect.any(String), code: 'required' },
    ]);
    expect(await rowsOf(good.otlp)).toEqual([]);

    const noData = await postJson(`${base}${AGENTS_PATH}`, { items: [] });
    expect(noData.status).toBe(422);
    expect(noData.body.fields).toEqual([{ field: 'data', message: expect.any(String), code: 'required' }]);
    const notList = await postJson(`${base}${AGENTS_PATH}`, { data: { object: 'trace' } });
    expect(notList.body.fields).toEqual([{ field: 'data', message: expect.any(String), code: 'invalid_type' }]);
    const notJson = await postJson(`${base}${AGENTS_PATH}`, '{"data": [');
    expect(notJson.status).toBe(400);
    expect(notJson.body.code).toBe('RCV_BAD_JSON');
  });

  it('answers 401 for a missing or unknown key and 403 for a key of another receiver', async () => {
    const body = { data: [{ object: 'trace', id: traceIds('f6').sdk }] };
    const missing = await postJson(`${base}${AGENTS_PATH}`, body, { authorization: '' });
    expect(missing.status).toBe(401);
    expect(missing.body).toEqual({ error: expect.stringContaining('missing API key'), code: 'RCV_UNAUTHENTICATED' });
    // The SDK sends its key as a Bearer token: an OpenAI key is not a Tracehouse key.
    const wrong = await postJson(`${base}${INGEST_PATH}`, body, { authorization: 'Bearer sk-proj-not-a-tracehouse-key' });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ error: 'invalid API key', code: 'RCV_UNAUTHENTICATED' });
    const otherReceiver = await postJson(`${base}${AGENTS_PATH}`, body, { authorization: `Bearer ${OTHER_RECEIVER_KEY}` });
    expect(otherReceiver.status).toBe(403);
    expect(otherReceiver.body.code).toBe('RCV_FORBIDDEN');
    expect(await rowsOf(traceIds('f6').otlp)).toEqual([]);
  });

  it('stores a replayed batch once: with an Idempotency-Key, and when the SDK resends the same bytes', async () => {
    const batch = (trace: { sdk: string }) => ({
      data: [
        { object: 'trace', id: trace.sdk, workflow_name: 'replayed' },
        spanItem(trace.sdk, 'span_once', null, '2026-11-20T15:00:00Z', '2026-11-20T15:00:01Z', { type: 'agent', name: 'Once' }),
      ],
    });
    const keyed = traceIds('a7');
    const first = await postJson(`${base}${AGENTS_PATH}`, batch(keyed), { 'idempotency-key': 'batch-a7' });
    const again = await postJson(`${base}${AGENTS_PATH}`, batch(keyed), { 'idempotency-key': 'batch-a7' });
    expect(first.status).toBe(200);
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const reused = await postJson(`${base}${AGENTS_PATH}`, { data: [] }, { 'idempotency-key': 'batch-a7' });
    expect(reused.status).toBe(422);
    expect(reused.body.code).toBe('RCV_IDEMPOTENCY_MISMATCH');
    expect(await rowsOf(keyed.otlp, 'SpanName')).toEqual([{ SpanName: 'Once' }, { SpanName: 'replayed' }]);

    // No key: the exporter resends a whole batch after a 5xx, 429 or network error.
    const unkeyed = traceIds('a8');
    const sent = await postJson(`${base}${AGENTS_PATH}`, batch(unkeyed));
    const resent = await postJson(`${base}${AGENTS_PATH}`, batch(unkeyed));
    expect(sent.status).toBe(200);
    expect(sent.headers.get('idempotent-replayed')).toBeNull();
    expect(resent.status).toBe(200);
    expect(resent.headers.get('idempotent-replayed')).toBe('true');
    expect(await rowsOf(unkeyed.otlp, 'SpanName')).toEqual([{ SpanName: 'Once' }, { SpanName: 'replayed' }]);
  });

  it('serves the SDK path /v1/traces/ingest under its own rate limit, answering 429 with Retry-After', async () => {
    const trace = traceIds('b8');
    for (let i = 0; i < 3; i++) {
      const res = await postJson(`${base}${INGEST_PATH}`, { data: [spanItem(trace.sdk, `span_rl_${i}`, null, '2026-11-20T16:00:00Z', '2026-11-20T16:00:01Z', { type: 'custom', name: `n${i}`, data: {} })] });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-ratelimit-limit')).toBe('3');
      expect(res.headers.get('x-ratelimit-remaining')).toBe(String(2 - i));
    }
    const limited = await postJson(`${base}${INGEST_PATH}`, { data: [] });
    expect(limited.status).toBe(429);
    expect(limited.body.code).toBe('RCV_RATE_LIMITED');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await rowsOf(trace.otlp, 'SpanName')).map((r) => r.SpanName)).toEqual(['n0', 'n1', 'n2']);
    // The other path keeps its own budget.
    expect((await postJson(`${base}${AGENTS_PATH}`, { data: [] })).status).toBe(200);
  });
});
