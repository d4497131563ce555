import { ingestPipelineYaml, queryRows, startDaemon, TEST_WORKSPACE, uniqueDatabase } from '../../support/daemon';
import type { TestDaemon } from '../../support/daemon';
import { llmObservation, retrievalObservation, toolObservation, TRACE_ID, traceAttributes, traceWithObservations } from './documents';
import { chTime, idsOf, JSONAPI, postJsonApi, ROW_COLUMNS } from './jsonapi-support';
import type { SpanRow } from './jsonapi-support';

const RFC3339_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const BASE = '/instrumentation/tracing/v1';
const stamped = { 'tracehouse.workspace': TEST_WORKSPACE, 'tracehouse.source': 'jsonapi' };
const messages = (...list: [string, string][]) => JSON.stringify(list.map(([role, content]) => ({ role, parts: [{ type: 'text', content }] })));

/** A row's typed columns with neutral values, for spans that carry no GenAI data. */
const plainRow = { StatusMessage: '', GenAIOperation: '', GenAIProvider: '', GenAIRequestModel: '', GenAIResponseModel: '', InputTokens: '0', OutputTokens: '0', CostUsd: 0, Input: '', Output: '' };

describe('jsonapi receiver routes', () => {
  const database = uniqueDatabase('jsonapi_routes');
  let daemon: TestDaemon;
  let base: string;

  const rowsOf = (traceId: string) =>
    queryRows<SpanRow>(daemon, `SELECT ${ROW_COLUMNS} FROM otel_traces WHERE TraceId = '${traceId}' ORDER BY Timestamp, SpanId`, database);
  const countWhere = async (condition: string) =>
    (await queryRows<{ n: number }>(daemon, `SELECT count() AS n FROM otel_traces WHERE ${condition}`, database))[0].n;

  beforeAll(async () => {
    daemon = await startDaemon(ingestPipelineYaml({ receivers: { jsonapi: [] }, database }));
    base = daemon.receiverUrl('jsonapi');
  });
  afterAll(() => daemon.stop());

  it('creates an empty trace as a root span and answers 201 with the canonical trace resource', async () => {
    const id = 'trace_checkout_0001';
    const res = await postJsonApi(`${base}${BASE}/`, { data: { type: 'trace', id, attributes: traceAttributes } });
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')?.split(';')[0]).toBe(JSONAPI);
    const ingestedAt = res.body.data.attributes.ingested_at;
    expect(ingestedAt).toMatch(RFC3339_MS);
    const { traceId, rootSpanId } = idsOf(id);
    expect(res.body).toEqual({
      data: {
        type: 'trace',
        id,
        attributes: { ...traceAttributes, ingested_at: ingestedAt },
        relationships: { observations: { data: [] } },
        links: { self: `${BASE}/traces/${id}` },
        meta: { otlp_trace_id: traceId, otlp_span_id: rootSpanId },
      },
    });
    expect(await rowsOf(traceId)).toEqual([
      {
        ...plainRow,
        TraceId: traceId,
        SpanId: rootSpanId,
        ParentSpanId: '',
        SpanName: 'support-chat',
        SpanKind: 'Internal',
        Timestamp: '2025-09-17 12:34:56.100000000',
        Duration: '2800123456',
        StatusCode: 'Ok',
        Workspace: TEST_WORKSPACE,
        Project: 'helpdesk',
        Environment: 'prod',
        SpanAttributes: {
          'jsonapi.type': 'trace',
          'jsonapi.id': id,
          'tracehouse.environment': 'prod',
          'tracehouse.project': 'helpdesk',
          'client.sdk': 'brixo-python',
          'client.version': '1.4.2',
          'client.user_agent': 'brixo-python/1.4.2 CPython/3.12',
          'tracehouse.status': 'success',
          'metric.user.satisfaction': '4.5',
          'metric.user.satisfaction.scale': '1-5',
          'metric.user.satisfaction.source': 'human',
          'metric.user.satisfaction.at': '2025-09-17T12:40:00Z',
          'metadata.customer.tier': 'gold',
          'metadata.customer.region': 'eu',
          'metadata.ticket': 'T-1042',
          'metadata.attempt': '2',
          ...stamped,
        },
      },
    ]);
  });

  it('accepts the path without its trailing slash, generates a UUID id, and times a trace without times at receipt', async () => {
    const res = await postJsonApi(`${base}${BASE}`, { data: { type: 'trace', attributes: { environment: 'staging', status: 'cancelled' } } });
    expect(res.status).toBe(201);
    const id = res.body.data.id;
    expect(id).toMatch(UUID);
    const ingestedAt = res.body.data.attributes.ingested_at;
    const { traceId, rootSpanId } = idsOf(id);
    expect(res.body).toEqual({
      data: {
        type: 'trace',
        id,
        attributes: { environment: 'staging', status: 'cancelled', ingested_at: ingestedAt },
        relationships: { observations: { data: [] } },
        links: { self: `${BASE}/traces/${id}` },
        meta: { otlp_trace_id: traceId, otlp_span_id: rootSpanId },
      },
    });
    // Cancelled is not a failure: the status stays unset and the document's status is kept.
    expect(await rowsOf(traceId)).toEqual([
      {
        ...plainRow,
        TraceId: traceId,
        SpanId: rootSpanId,
        ParentSpanId: '',
        SpanName: 'trace',
        SpanKind: 'Internal',
        Timestamp: chTime(ingestedAt),
        Duration: '0',
        StatusCode: 'Unset',
        Workspace: TEST_WORKSPACE,
        Project: '',
        Environment: 'staging',
        SpanAttributes: { 'jsonapi.type': 'trace', 'jsonapi.id': id, 'tracehouse.environment': 'staging', 'tracehouse.status': 'cancelled', ...stamped },
      },
    ]);
  });

  it('creates a trace with its observations: root span plus child spans, canonical document with included', async () => {
    const res = await postJsonApi(`${base}${BASE}/traces`, traceWithObservations);
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')?.split(';')[0]).toBe(JSONAPI);
    const ingestedAt = res.body.data.attributes.ingested_at;
    expect(ingestedAt).toMatch(RFC3339_MS);
    const { traceId, rootSpanId, observationSpanId } = idsOf(TRACE_ID);
    const included = (observation: { id: string; attributes: object }, attributes: object = observation.attributes) => ({
      type: 'observation',
      id: observation.id,
      attributes: { ...attributes, ingested_at: ingestedAt },
      relationships: { trace: { data: { type: 'trace', id: TRACE_ID } } },
      links: { self: `${BASE}/traces/${TRACE_ID}/observations/${observation.id}` },
      meta: { otlp_trace_id: traceId, otlp_span_id: observationSpanId(observation.id) },
    });
    expect(res.body).toEqual({
      data: {
        type: 'trace',
        id: TRACE_ID,
        attributes: { ...traceAttributes, ingested_at: ingestedAt },
        relationships: {
          observations: {
            data: [
              { type: 'observation', id: 'obs_kb_search' },
              { type: 'observation', id: 'obs_answer' },
              { type: 'observation', id: 'obs_lookup' },
            ],
          },
        },
        links: { self: `${BASE}/traces/${TRACE_ID}` },
        meta: { otlp_trace_id: traceId, otlp_span_id: rootSpanId },
      },
      included: [
        included(retrievalObservation),
        // The currency defaults to USD, as stored.
        included(llmObservation, { ...llmObservation.attributes, cost: { total: 0.0000135, currency: 'USD', estimated: true } }),
        included(toolObservation),
      ],
    });

    const context = { Workspace: TEST_WORKSPACE, Project: 'helpdesk', Environment: 'prod', TraceId: traceId, ParentSpanId: rootSpanId };
    const observationIdentity = (id: string, kind: string, endpoint: string) => ({
      'jsonapi.type': 'observation',
      'jsonapi.id': id,
      'jsonapi.trace_id': TRACE_ID,
      'jsonapi.observation.kind': kind,
      'jsonapi.observation.endpoint': endpoint,
      'tracehouse.environment': 'prod',
      'tracehouse.project': 'helpdesk',
    });
    const rows = await rowsOf(traceId);
    expect(rows.map((r) => r.SpanName)).toEqual(['support-chat', 'kb-search', 'chat gpt-4o-mini', 'lookup_account']);
    expect(rows[0]).toMatchObject({ SpanId: rootSpanId, ParentSpanId: '', Timestamp: '2025-09-17 12:34:56.100000000', Duration: '2800123456', StatusCode: 'Ok', Project: 'helpdesk' });
    expect(rows[1]).toEqual({
      ...context,
      SpanId: observationSpanId('obs_kb_search'),
      SpanName: 'kb-search',
      SpanKind: 'Client',
      Timestamp: '2025-09-17 12:34:56.200000000',
      Duration: '250000000',
      StatusCode: 'Ok',
      StatusMessage: '',
      GenAIOperation: 'retrieval',
      GenAIProvider: 'pinecone',
      GenAIRequestModel: 'multilingual-e5-large',
      GenAIResponseModel: 'multilingual-e5-large',
      InputTokens: '9',
      OutputTokens: '0',
      // A cost in euros is kept apart and never summed as dollars.
      CostUsd: 0,
      Input: '{"query":"How do I reset my password?"}',
      Output: '{"matches":[{"id":"kb-12","score":0.91},{"id":"kb-40","score":0.77}]}',
      SpanAttributes: {
        ...observationIdentity('obs_kb_search', 'retrieval', 'query'),
        'gen_ai.operation.name': 'retrieval',
        'gen_ai.provider.name': 'pinecone',
        'gen_ai.request.model': 'multilingual-e5-large',
        'gen_ai.response.model': 'multilingual-e5-large',
        'gen_ai.request.top_k': '3',
        'jsonapi.parameters.namespace': 'kb-en',
        'input.value': '{"query":"How do I reset my password?"}',
        'output.value': '{"matches":[{"id":"kb-12","score":0.91},{"id":"kb-40","score":0.77}]}',
        'gen_ai.usage.input_tokens': '9',
        'tracehouse.cost': '0.0004',
        'tracehouse.cost.currency': 'EUR',
        'tracehouse.status': 'success',
        ...stamped,
      },
    });
    const inputMessages = messages(['system', 'You are a helpful support agent.'], ['user', 'How do I reset my password?']);
    const outputMessages = JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: 'Click "Forgot password" on the sign-in page.' }], finish_reason: 'stop' }]);
    expect(rows[2]).toEqual({
      ...context,
      SpanId: observationSpanId('obs_answer'),
      SpanName: 'chat gpt-4o-mini',
      SpanKind: 'Client',
      Timestamp: '2025-09-17 12:34:56.500000000',
      Duration: '2300000000',
      StatusCode: 'Ok',
      StatusMessage: '',
      GenAIOperation: 'chat',
      GenAIProvider: 'openai',
      GenAIRequestModel: 'gpt-4o-mini',
      GenAIResponseModel: 'gpt-4o-mini-2024-07-18',
      InputTokens: '42',
      OutputTokens: '12',
      CostUsd: 0.0000135,
      Input: inputMessages,
      Output: outputMessages,
      SpanAttributes: {
        ...observationIdentity('obs_answer', 'llm', 'chat.completions'),
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'openai',
        'gen_ai.request.model': 'gpt-4o-mini',
        'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
        'gen_ai.response.id': 'chatcmpl-B9x1',
        'jsonapi.provider_request_id': 'req_7f3a',
        'cloud.region': 'us-east-1',
        'gen_ai.request.temperature': '0.2',
        'gen_ai.request.top_p': '1',
        'gen_ai.request.max_tokens': '512',
        'gen_ai.request.seed': '7',
        'gen_ai.request.stop_sequences': '["\\n\\n"]',
        'jsonapi.parameters.tool_choice': 'auto',
        'gen_ai.input.messages': inputMessages,
        'jsonapi.input.extra': '{"tools":[{"type":"function","function":{"name":"lookup_account"}}]}',
        'gen_ai.output.messages': outputMessages,
        'gen_ai.response.finish_reasons': '["stop"]',
        'gen_ai.usage.input_tokens': '42',
        'gen_ai.usage.output_tokens': '12',
        'gen_ai.usage.total_tokens': '54',
        'jsonapi.usage.total_time_ms': '2300',
        'tracehouse.cost_usd': '0.0000135',
        'tracehouse.cost.estimated': 'true',
        'tracehouse.status': 'success',
        'metric.groundedness': '0.93',
        'metric.groundedness.source': 'auto',
        'metadata.prompt_version': 'v7',
        ...stamped,
      },
    });
    expect(rows[3]).toEqual({
      ...context,
      SpanId: observationSpanId('obs_lookup'),
      SpanName: 'lookup_account',
      SpanKind: 'Internal',
      Timestamp: '2025-09-17 12:34:58.810000000',
      Duration: '80000000',
      StatusCode: 'Error',
      StatusMessage: 'no account for that email',
      GenAIOperation: 'execute_tool',
      GenAIProvider: 'internal',
      GenAIRequestModel: 'accounts-service',
      GenAIResponseModel: 'accounts-service',
      InputTokens: '0',
      OutputTokens: '0',
      CostUsd: 0,
      Input: '{"email":"ada@example.com"}',
      Output: '{"found":false}',
      SpanAttributes: {
        ...observationIdentity('obs_lookup', 'tool', 'accounts.lookup'),
        'gen_ai.operation.name': 'execute_tool',
        'gen_ai.provider.name': 'internal',
        'gen_ai.request.model': 'accounts-service',
        'gen_ai.response.model': 'accounts-service',
        'input.value': '{"email":"ada@example.com"}',
        'output.value': '{"found":false}',
        'gen_ai.tool.name': 'lookup_account',
        'gen_ai.tool.call.arguments': '{"email":"ada@example.com"}',
        'gen_ai.tool.call.result': '{"found":false}',
        'tracehouse.status': 'error',
        'error.type': 'lookup_error',
        'jsonapi.error.code': 'NOT_FOUND',
        'jsonapi.error.message': 'no account for that email',
        'jsonapi.error.retryable': 'false',
        ...stamped,
      },
    });
  });

  it('times a trace that gives no times by the observations sent with it', async () => {
    const id = 'trace_untimed_with_observations';
    const { started_at, ended_at, ...untimed } = traceAttributes;
    const res = await postJsonApi(`${base}${BASE}/traces`, {
      data: { type: 'trace', id, attributes: untimed, relationships: { observations: { data: [retrievalObservation, toolObservation] } } },
    });
    expect(res.status).toBe(201);
    const root = (await rowsOf(idsOf(id).traceId))[0];
    // From the retrieval's start (12:34:56.200) to the tool's end (12:34:58.890).
    expect(root).toMatchObject({ SpanId: idsOf(id).rootSpanId, Timestamp: '2025-09-17 12:34:56.200000000', Duration: '2690000000' });
  });

  it('adds one observation to a trace by its id: a child of the root span created earlier', async () => {
    const id = 'trace_for_later_observations';
    const created = await postJsonApi(`${base}${BASE}/`, { data: { type: 'trace', id, attributes: { environment: 'prod', project: 'helpdesk', started_at: '2025-09-17T12:34:56Z' } } });
    expect(created.status).toBe(201);
    const res = await postJsonApi(`${base}${BASE}/traces/${id}/observations`, { data: llmObservation });
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')?.split(';')[0]).toBe(JSONAPI);
    const ingestedAt = res.body.data.attributes.ingested_at;
    const { traceId, rootSpanId, observationSpanId } = idsOf(id);
    expect(res.body).toEqual({
      data: {
        type: 'observation',
        id: 'obs_answer',
        attributes: { ...llmObservation.attributes, cost: { total: 0.0000135, currency: 'USD', estimated: true }, ingested_at: ingestedAt },
        relationships: { trace: { data: { type: 'trace', id } } },
        links: { self: `${BASE}/traces/${id}/observations/obs_answer` },
        meta: { otlp_trace_id: traceId, otlp_span_id: observationSpanId('obs_answer') },
      },
    });
    const rows = await rowsOf(traceId);
    expect(rows.map((r) => [r.SpanId, r.ParentSpanId, r.SpanName])).toEqual([
      [rootSpanId, '', 'trace'],
      [observationSpanId('obs_answer'), rootSpanId, 'chat gpt-4o-mini'],
    ]);
    // Sent on its own, the observation cannot know the trace's project or environment.
    expect(rows[1]).toMatchObject({
      Project: '',
      Environment: '',
      GenAIOperation: 'chat',
      GenAIProvider: 'openai',
      GenAIRequestModel: 'gpt-4o-mini',
      InputTokens: '42',
      OutputTokens: '12',
      CostUsd: 0.0000135,
      StatusCode: 'Ok',
    });
    expect(rows[1].SpanAttributes).toMatchObject({ 'jsonapi.trace_id': id, 'jsonapi.id': 'obs_answer' });
    expect(rows[1].SpanAttributes['tracehouse.project']).toBeUndefined();
  });

  it('adds an array of observations, keeping a 16-hex id as the span id and generating missing ids', async () => {
    const id = 'trace_batch_observations';
    const hexId = '00f067aa0ba902b7';
    const withHexId = { ...toolObservation, id: hexId };
    const { id: _omitted, ...withoutId } = retrievalObservation;
    const res = await postJsonApi(`${base}${BASE}/traces/${id}/observations`, { data: [withHexId, withoutId] });
    expect(res.status).toBe(201);
    expect(Array.isArray(res.body.data)).toBe(true);
    const generated = res.body.data[1].id;
    expect(generated).toMatch(UUID);
    const { traceId, rootSpanId, observationSpanId } = idsOf(id);
    expect(res.body.data.map((o: { id: string; meta: object; relationships: object }) => [o.id, o.meta, o.relationships])).toEqual([
      [hexId, { otlp_trace_id: traceId, otlp_span_id: hexId }, { trace: { data: { type: 'trace', id } } }],
      [generated, { otlp_trace_id: traceId, otlp_span_id: observationSpanId(generated) }, { trace: { data: { type: 'trace', id } } }],
    ]);
    const rows = await rowsOf(traceId);
    expect(rows.map((r) => [r.SpanId, r.ParentSpanId, r.SpanName, r.SpanAttributes['jsonapi.id']])).toEqual([
      [observationSpanId(generated), rootSpanId, 'kb-search', generated],
      [hexId, rootSpanId, 'lookup_account', hexId],
    ]);
  });

  it('maps each observation kind and payload shape onto the GenAI operation, span kind and messages', async () => {
    const id = 'trace_every_kind';
    const at = (second: number) => ({ started_at: `2025-09-18T08:00:0${second}Z`, ended_at: `2025-09-18T08:00:0${second}.5Z` });
    const observation = (obsId: string, second: number, attributes: object) => ({
      type: 'observation',
      id: obsId,
      attributes: { ...at(second), parameters: {}, input: {}, output: {}, ...attributes },
    });
    const res = await postJsonApi(`${base}${BASE}/traces/${id}/observations`, {
      data: [
        observation('embed', 1, { kind: 'llm', provider: 'openai', model: 'text-embedding-3-small', endpoint: 'embeddings', input: { input: ['reset password'] }, output: { data: [{ embedding: [0.1, 0.2] }] } }),
        observation('claude', 2, {
          kind: 'llm',
          provider: 'anthropic',
          model: 'claude-sonnet-4',
          endpoint: 'messages',
          input: { system: 'Be brief.', messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }] },
          output: { role: 'assistant', content: [{ type: 'text', text: 'Hello!' }], stop_reason: 'end_turn' },
          status: 'timeout',
          error: { code: 'TIMEOUT', message: 'provider timed out after 30 s', provider_code: 504 },
        }),
        observation('complete', 3, { kind: 'llm', provider: 'openai', model: 'gpt-3.5-turbo-instruct', endpoint: 'completions', input: { prompt: 'Say hi' }, output: { text: 'hi' } }),
        observation('rerank', 4, { kind: 'rerank', provider: 'cohere', model: 'rerank-v3.5', endpoint: 'rerank' }),
        observation('judge', 5, { kind: 'eval', provider: 'openai', model: 'gpt-4o', endpoint: 'chat.completions' }),
        observation('guard', 6, { kind: 'system', provider: 'tracehouse', model: 'pii-filter', endpoint: 'filter', name: 'pii-filter' }),
      ],
    });
    expect(res.status).toBe(201);
    const rows = await rowsOf(idsOf(id).traceId);
    expect(rows.map((r) => [r.SpanAttributes['jsonapi.id'], r.SpanName, r.SpanKind, r.GenAIOperation, r.StatusCode, r.StatusMessage, r.Input, r.Output])).toEqual([
      ['embed', 'embeddings text-embedding-3-small', 'Client', 'embeddings', 'Unset', '', '{"input":["reset password"]}', '{"data":[{"embedding":[0.1,0.2]}]}'],
      [
        'claude',
        'chat claude-sonnet-4',
        'Client',
        'chat',
        'Error',
        'provider timed out after 30 s',
        messages(['system', 'Be brief.'], ['user', 'Hi']),
        JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: 'Hello!' }], finish_reason: 'end_turn' }]),
      ],
      ['complete', 'text_completion gpt-3.5-turbo-instruct', 'Client', 'text_completion', 'Unset', '', messages(['user', 'Say hi']), messages(['assistant', 'hi'])],
      ['rerank', 'rerank rerank-v3.5', 'Client', 'rerank', 'Unset', '', '{}', '{}'],
      ['judge', 'evaluate gpt-4o', 'Internal', 'evaluate', 'Unset', '', '{}', '{}'],
      ['guard', 'pii-filter', 'Internal', '', 'Unset', '', '{}', '{}'],
    ]);
    expect(rows[1].SpanAttributes).toMatchObject({
      'tracehouse.status': 'timeout',
      'error.type': 'TIMEOUT',
      'jsonapi.error.code': 'TIMEOUT',
      'jsonapi.error.provider_code': '504',
      'gen_ai.response.finish_reasons': '["end_turn"]',
    });
  });

  it('stores a trace resent with the same client id once, replaying the first answer, and refuses another document under that id with 409', async () => {
    const id = 'trace_resent_by_sdk';
    const document = { data: { ...traceWithObservations.data, id } };
    const first = await postJsonApi(`${base}${BASE}/traces`, document);
    const again = await postJsonApi(`${base}${BASE}/traces`, document);
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.text).toBe(first.text);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.headers.get('content-type')?.split(';')[0]).toBe(JSONAPI);
    // The id names the trace: another document under the same id is a conflict (JSON:API 409).
    const changed = await postJsonApi(`${base}${BASE}/traces`, { data: { ...document.data, attributes: { ...traceAttributes, name: 'renamed' } } });
    expect(changed.status).toBe(409);
    expect(changed.headers.get('content-type')).toBe(JSONAPI);
    expect(changed.body).toEqual({ errors: [expect.objectContaining({ status: '409', code: 'RCV_ID_CONFLICT' })] });
    expect(await countWhere(`TraceId = '${idsOf(id).traceId}'`)).toBe(4);
    expect(await countWhere(`TraceId = '${idsOf(id).traceId}' AND ParentSpanId = ''`)).toBe(1);
  });

  it('honours Idempotency-Key for observations without ids: one row, the same generated id replayed', async () => {
    const id = 'trace_idempotency_header';
    const { id: _omitted, ...withoutId } = toolObservation;
    const headers = { 'idempotency-key': 'obs-upload-77' };
    const first = await postJsonApi(`${base}${BASE}/traces/${id}/observations`, { data: withoutId }, headers);
    const again = await postJsonApi(`${base}${BASE}/traces/${id}/observations`, { data: withoutId }, headers);
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body.data.id).toBe(first.body.data.id);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await countWhere(`TraceId = '${idsOf(id).traceId}'`)).toBe(1);
    const reused = await postJsonApi(`${base}${BASE}/traces/${id}/observations`, { data: { ...withoutId, attributes: { ...withoutId.attributes, name: 'other' } } }, headers);
    expect(reused.status).toBe(422);
    expect(reused.body).toEqual({
      errors: [{ status: '422', code: 'RCV_IDEMPOTENCY_MISMATCH', title: 'Unprocessable Entity', detail: 'Idempotency-Key was already used with a different request body' }],
    });
    expect(await countWhere(`TraceId = '${idsOf(id).traceId}'`)).toBe(1);
  });
});
