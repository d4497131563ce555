import { queryRows, postJson, TEST_WORKSPACE, uniqueDatabase } from '../../support/daemon';
import type { TestDaemon } from '../../support/daemon';
import { EVENTS_ONLY_KEY, ROW_COLUMNS, startNative } from './native-daemon';

/** The "Native trace example" of the AITracer Trace Ingestion API reference. */
const DOC_EXAMPLE = {
  actionName: 'finance-review',
  environment: 'prod',
  status: 'completed',
  requestId: 'req_finance_001',
  model: 'gpt-4o',
  prompt: 'Summarize this report',
  response: 'Summary text',
  metrics: { promptTokens: 420, completionTokens: 155, totalTokens: 575, latencyMs: 830, estimatedCostUsd: 0.0042, finishReason: 'stop' },
};

describe('native receiver POST /api/traces', () => {
  const database = uniqueDatabase('native_traces');
  let daemon: TestDaemon;
  let url: string;
  const rowsOf = (requestId: string) => queryRows(daemon, `SELECT TraceId, ${ROW_COLUMNS} FROM otel_traces WHERE SpanAttributes['aitracer.request_id'] = '${requestId}'`, database);

  beforeAll(async () => {
    daemon = await startNative(database, [
      'default_environment: staging',
      'rate_limit: { limit: 1000, per_route: { "/api/traces": { limit: 40, window_seconds: 60 } } }',
    ]);
    url = `${daemon.receiverUrl('native')}/api/traces`;
  });
  afterAll(() => daemon.stop());

  it("stores the reference example as one LLM span and answers as the reference's Response", async () => {
    const res = await postJson(url, DOC_EXAMPLE);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ trace: { traceId: 'req_finance_001', status: 'completed' } });
    expect(res.headers.get('x-ratelimit-limit')).toBe('40');
    const rows = await rowsOf('req_finance_001');
    expect(rows).toEqual([
      {
        TraceId: expect.stringMatching(/^[0-9a-f]{32}$/),
        SpanName: 'finance-review',
        SpanKind: 'Client',
        SpanId: expect.stringMatching(/^[0-9a-f]{16}$/),
        ParentSpanId: '',
        Workspace: TEST_WORKSPACE,
        Environment: 'prod',
        GenAIOperation: 'chat',
        GenAIProvider: '',
        GenAIRequestModel: 'gpt-4o',
        InputTokens: 420,
        OutputTokens: 155,
        CostUsd: 0.0042,
        Input: JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: 'Summarize this report' }] }]),
        Output: JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: 'Summary text' }], finish_reason: 'stop' }]),
        Duration: '830000000',
        StatusCode: 'Ok',
        StatusMessage: '',
        SpanAttributes: {
          'gen_ai.operation.name': 'chat',
          'gen_ai.request.model': 'gpt-4o',
          'gen_ai.usage.input_tokens': '420',
          'gen_ai.usage.output_tokens': '155',
          'gen_ai.usage.total_tokens': '575',
          'gen_ai.response.finish_reasons': '["stop"]',
          'gen_ai.input.messages': JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: 'Summarize this report' }] }]),
          'gen_ai.output.messages': JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: 'Summary text' }], finish_reason: 'stop' }]),
          'tracehouse.cost_usd': '0.0042',
          'tracehouse.environment': 'prod',
          'aitracer.latency_ms': '830',
          'aitracer.action_name': 'finance-review',
          'aitracer.status': 'completed',
          'aitracer.request_id': 'req_finance_001',
          'tracehouse.workspace': TEST_WORKSPACE,
          'tracehouse.source': 'native',
        },
      },
    ]);
  });

  it('stores a repeated requestId once and answers the repeat the same', async () => {
    const body = { ...DOC_EXAMPLE, requestId: 'req_repeat_7' };
    const first = await postJson(url, body);
    const again = await postJson(url, body);
    // A client retrying with a changed body still gets the first answer, and nothing new is stored.
    const changed = await postJson(url, { ...body, response: 'another summary' });
    expect(first.status).toBe(200);
    expect(again.status).toBe(200);
    expect(changed.status).toBe(200);
    expect(again.text).toBe(first.text);
    expect(changed.text).toBe(first.text);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const rows = await rowsOf('req_repeat_7');
    expect(rows).toHaveLength(1);
    expect(rows[0].Output).toContain('Summary text');
  });

  it('gives a trace without requestId a fresh id, answered so that later records can name it', async () => {
    const res = await postJson(url, { model: 'claude-sonnet-4', provider: 'Anthropic', prompt: 'hi' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ trace: { traceId: expect.stringMatching(/^[0-9a-f]{32}$/), status: 'completed' } });
    const rows = await queryRows(daemon, `SELECT SpanName, Environment, GenAIProvider, toString(Duration) AS Duration, StatusCode, SpanAttributes FROM otel_traces WHERE TraceId = '${res.body.trace.traceId}'`, database);
    expect(rows).toEqual([
      {
        SpanName: 'llm',
        Environment: 'staging',
        GenAIProvider: 'anthropic',
        Duration: '0',
        StatusCode: 'Unset',
        SpanAttributes: {
          'gen_ai.operation.name': 'chat',
          'gen_ai.request.model': 'claude-sonnet-4',
          'gen_ai.provider.name': 'anthropic',
          'gen_ai.input.messages': JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: 'hi' }] }]),
          'tracehouse.environment': 'staging',
          'tracehouse.workspace': TEST_WORKSPACE,
          'tracehouse.source': 'native',
        },
      },
    ]);
    // Without a requestId nothing makes the request idempotent: a second one is a second trace.
    const second = await postJson(url, { model: 'claude-sonnet-4', prompt: 'hi' });
    expect(second.body.trace.traceId).not.toBe(res.body.trace.traceId);
  });

  it('marks a failed call as an error span, and keeps session, user, metadata and unknown fields', async () => {
    const res = await postJson(url, {
      actionName: 'refund-check',
      status: 'failed',
      requestId: 'req_failed_1',
      model: 'gpt-4o-mini',
      error: 'upstream timeout',
      sessionId: 'sess_9',
      userId: 'user_42',
      metadata: { team: 'billing', retries: 2 },
      region: 'eu-west-1',
      cached: false,
      prompt: [
        { role: 'system', content: 'You check refunds.' },
        { role: 'user', content: 'Refund #12?' },
      ],
      metrics: { latencyMs: 1500.5, estimatedCostUsd: 0, gpuSeconds: 3 },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ trace: { traceId: 'req_failed_1', status: 'failed' } });
    const [row] = await rowsOf('req_failed_1');
    expect(row).toMatchObject({
      StatusCode: 'Error',
      StatusMessage: 'upstream timeout',
      Duration: '1500500000',
      CostUsd: 0,
      InputTokens: 0,
      Input: JSON.stringify([
        { role: 'system', parts: [{ type: 'text', content: 'You check refunds.' }] },
        { role: 'user', parts: [{ type: 'text', content: 'Refund #12?' }] },
      ]),
      Output: '',
    });
    expect(row.SpanAttributes).toEqual({
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.input.messages': row.Input,
      'gen_ai.conversation.id': 'sess_9',
      'enduser.id': 'user_42',
      'aitracer.metadata.team': 'billing',
      'aitracer.metadata.retries': '2',
      'aitracer.region': 'eu-west-1',
      'aitracer.cached': 'false',
      'aitracer.metrics.gpuSeconds': '3',
      'aitracer.latency_ms': '1500.5',
      'tracehouse.cost_usd': '0',
      'tracehouse.environment': 'staging',
      'aitracer.action_name': 'refund-check',
      'aitracer.status': 'failed',
      'aitracer.request_id': 'req_failed_1',
      'tracehouse.workspace': TEST_WORKSPACE,
      'tracehouse.source': 'native',
    });
  });

  it('answers 422 listing every failing field', async () => {
    const res = await postJson(url, {
      actionName: '',
      environment: 7,
      status: 'x'.repeat(65),
      requestId: 'r'.repeat(257),
      model: ['gpt-4o'],
      prompt: 42,
      response: { text: 'no' },
      metadata: 'not an object',
      metrics: { promptTokens: -1, completionTokens: 1.5, totalTokens: '575', latencyMs: -3, estimatedCostUsd: -0.01, finishReason: 5 },
    });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('RCV_VALIDATION');
    expect(res.body.error).toMatch(/^invalid request body: /);
    expect(res.body.fields).toEqual([
      { field: 'actionName', message: 'must not be empty', code: 'too_short' },
      { field: 'environment', message: expect.any(String), code: 'invalid_type' },
      { field: 'status', message: 'must be at most 64 characters', code: 'too_long' },
      { field: 'requestId', message: 'must be at most 256 characters', code: 'too_long' },
      { field: 'model', message: expect.any(String), code: 'invalid_type' },
      { field: 'prompt', message: expect.any(String), code: 'invalid' },
      { field: 'response', message: expect.any(String), code: 'invalid_type' },
      { field: 'metadata', message: expect.any(String), code: 'invalid_type' },
      { field: 'metrics.promptTokens', message: 'must not be negative', code: 'too_small' },
      { field: 'metrics.completionTokens', message: 'must be an integer', code: 'invalid_type' },
      { field: 'metrics.totalTokens', message: expect.any(String), code: 'invalid_type' },
      { field: 'metrics.latencyMs', message: 'must not be negative', code: 'too_small' },
      { field: 'metrics.estimatedCostUsd', message: 'must not be negative', code: 'too_small' },
      { field: 'metrics.finishReason', message: expect.any(String), code: 'invalid_type' },
    ]);
  });

  it('answers 422 when none of actionName, model, prompt or response is given, along with other problems', async () => {
    const res = await postJson(url, { environment: 'prod', requestId: '', metrics: { promptTokens: 3 } });
    expect(res.status).toBe(422);
    expect(res.body.fields).toEqual([
      { field: 'requestId', message: 'must not be empty', code: 'too_short' },
      { field: '', message: 'at least one of actionName, model, prompt or response is required', code: 'required' },
    ]);
    const notAnObject = await postJson(url, '["finance-review"]');
    expect(notAnObject.status).toBe(422);
    expect(notAnObject.body.fields).toEqual([{ field: '', message: expect.any(String), code: 'invalid_type' }]);
    const count = await queryRows(daemon, `SELECT count() AS n FROM otel_traces WHERE SpanAttributes['tracehouse.environment'] = 'prod' AND SpanName != 'finance-review'`, database);
    expect(count).toEqual([{ n: 0 }]);
  });

  it('refuses bad JSON (400) and other media types (415)', async () => {
    const bad = await postJson(url, '{"actionName":');
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('RCV_BAD_JSON');
    const form = await postJson(url, 'actionName=x', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(form.status).toBe(415);
    expect(form.body.code).toBe('RCV_UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers 401 without a key or with an unknown one, and 403 for a key of another receiver', async () => {
    const missing = await postJson(url, DOC_EXAMPLE, { authorization: '' });
    expect(missing.status).toBe(401);
    expect(missing.body).toEqual({ error: expect.stringContaining('missing API key'), code: 'RCV_UNAUTHENTICATED' });
    const unknown = await postJson(url, DOC_EXAMPLE, { authorization: 'Bearer akt_not_a_key' });
    expect(unknown.status).toBe(401);
    expect(unknown.body).toEqual({ error: 'invalid API key', code: 'RCV_UNAUTHENTICATED' });
    const forbidden = await postJson(url, DOC_EXAMPLE, { authorization: `Bearer ${EVENTS_ONLY_KEY}` });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body).toEqual({ error: 'this API key is not allowed on native', code: 'RCV_FORBIDDEN' });
  });

  it('limits requests per key and route, answering 429 with Retry-After and X-RateLimit-Remaining', async () => {
    let last = await postJson(url, { model: 'm' });
    for (let i = 0; i < 40 && last.status !== 429; i++) last = await postJson(url, { model: 'm' });
    expect(last.status).toBe(429);
    expect(last.body).toEqual({ error: expect.stringContaining('Too many requests'), code: 'RCV_RATE_LIMITED' });
    expect(last.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(last.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Another route keeps its own budget.
    const feedback = await postJson(`${daemon.receiverUrl('native')}/api/ingest/feedback`, { traceId: 'req_finance_001', rating: 'up' });
    expect(feedback.status).toBe(202);
  });
});
