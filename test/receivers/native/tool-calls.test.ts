import { queryRows, postJson, TEST_WORKSPACE, uniqueDatabase } from '../../support/daemon';
import type { TestDaemon } from '../../support/daemon';
import { EVENTS_ONLY_KEY, startNative } from './native-daemon';

describe('native receiver POST /api/ingest/tool-calls', () => {
  const database = uniqueDatabase('native_tools');
  let daemon: TestDaemon;
  let base: string;
  let url: string;
  const columns = `TraceId, SpanId, ParentSpanId, SpanName, SpanKind, Workspace, GenAIOperation, toString(Timestamp) AS ts, toString(Duration) AS Duration, StatusCode, StatusMessage, SpanAttributes`;

  beforeAll(async () => {
    daemon = await startNative(database, ['rate_limit: { limit: 1000, per_route: { "/api/ingest/tool-calls": { limit: 14, window_seconds: 60 } } }']);
    base = daemon.receiverUrl('native');
    url = `${base}/api/ingest/tool-calls`;
  });
  afterAll(() => daemon.stop());

  it('stores a tool call in the trace of the /api/traces requestId it names, under its root span', async () => {
    const call = await postJson(url, {
      name: 'lookup_invoice',
      toolCallId: 'call_abc',
      traceId: 'req_tools_001',
      arguments: { invoiceId: 'INV-7', currency: 'EUR' },
      result: { total: 1200.5, paid: true },
      startedAt: '2026-11-20T10:00:00.250000001Z',
      endedAt: '2026-11-20T10:00:00.750000001Z',
      attempt: 2,
    });
    // Sent after the tool call on purpose: records may arrive in any order.
    const trace = await postJson(`${base}/api/traces`, { actionName: 'billing-agent', requestId: 'req_tools_001', model: 'gpt-4o' });
    expect(trace.status).toBe(200);
    expect(call.status).toBe(202);
    expect(call.body).toEqual({ ok: true, ids: [expect.stringMatching(/^[0-9a-f]{16}$/)], traceIds: [expect.stringMatching(/^[0-9a-f]{32}$/)] });

    const [root] = await queryRows<{ TraceId: string; SpanId: string }>(daemon, `SELECT TraceId, SpanId FROM otel_traces WHERE SpanAttributes['aitracer.request_id'] = 'req_tools_001'`, database);
    const rows = await queryRows(daemon, `SELECT ${columns} FROM otel_traces WHERE TraceId = '${root.TraceId}' AND SpanName != 'billing-agent'`, database);
    expect(rows).toEqual([
      {
        TraceId: root.TraceId,
        SpanId: call.body.ids[0],
        ParentSpanId: root.SpanId,
        SpanName: 'execute_tool lookup_invoice',
        SpanKind: 'Internal',
        Workspace: TEST_WORKSPACE,
        GenAIOperation: 'execute_tool',
        ts: '2026-11-20 10:00:00.250000001',
        Duration: '500000000',
        StatusCode: 'Unset',
        StatusMessage: '',
        SpanAttributes: {
          'gen_ai.operation.name': 'execute_tool',
          'gen_ai.tool.name': 'lookup_invoice',
          'gen_ai.tool.call.id': 'call_abc',
          'gen_ai.tool.call.arguments': '{"invoiceId":"INV-7","currency":"EUR"}',
          'gen_ai.tool.call.result': '{"total":1200.5,"paid":true}',
          'tracehouse.record_type': 'tool_call',
          'aitracer.trace_id': 'req_tools_001',
          'aitracer.attempt': '2',
          'tracehouse.workspace': TEST_WORKSPACE,
          'tracehouse.source': 'native',
        },
      },
    ]);
    expect(call.body.traceIds).toEqual([root.TraceId]);
  });

  it('stores a failed call as an error span, with toolName, string arguments, durationMs and the client span ids', async () => {
    const res = await postJson(url, {
      toolName: 'send_email',
      arguments: '{"to":"a@example.com"}',
      error: { message: 'SMTP refused', type: 'SmtpError' },
      traceId: 'req_tools_002',
      spanId: 'tool-span-1',
      parentSpanId: 'agent-step-3',
      endedAt: '2026-11-20T11:00:01Z',
      durationMs: 250,
    });
    expect(res.status).toBe(202);
    const rows = await queryRows(daemon, `SELECT ${columns} FROM otel_traces WHERE SpanId = '${res.body.ids[0]}'`, database);
    expect(rows).toEqual([
      expect.objectContaining({
        TraceId: res.body.traceIds[0],
        ParentSpanId: expect.stringMatching(/^[0-9a-f]{16}$/),
        SpanName: 'execute_tool send_email',
        ts: '2026-11-20 11:00:00.750000000',
        Duration: '250000000',
        StatusCode: 'Error',
        StatusMessage: 'SMTP refused',
        SpanAttributes: {
          'gen_ai.operation.name': 'execute_tool',
          'gen_ai.tool.name': 'send_email',
          'gen_ai.tool.call.arguments': '{"to":"a@example.com"}',
          'tracehouse.record_type': 'tool_call',
          'aitracer.trace_id': 'req_tools_002',
          'aitracer.span_id': 'tool-span-1',
          'aitracer.parent_span_id': 'agent-step-3',
          'error.type': 'SmtpError',
          'tracehouse.workspace': TEST_WORKSPACE,
          'tracehouse.source': 'native',
        },
      }),
    ]);
    // The client's parent id is mapped the same way wherever it is used: a second call naming
    // "tool-span-1" as its parent hangs under the first one.
    const child = await postJson(url, { name: 'render', traceId: 'req_tools_002', parentSpanId: 'tool-span-1', error: 'template missing' });
    const [childRow] = await queryRows(daemon, `SELECT TraceId, ParentSpanId, StatusMessage FROM otel_traces WHERE SpanId = '${child.body.ids[0]}'`, database);
    expect(childRow).toEqual({ TraceId: res.body.traceIds[0], ParentSpanId: res.body.ids[0], StatusMessage: 'template missing' });
  });

  it('accepts a batch as { toolCalls: [...] } or as an array, and a resend of calls with ids is stored once', async () => {
    const batch = { toolCalls: [{ name: 'a', toolCallId: 'call_b1', traceId: 'req_tools_003', result: 'one' }, { name: 'b', toolCallId: 'call_b2', traceId: 'req_tools_003', result: 2 }] };
    const first = await postJson(url, batch);
    const again = await postJson(url, batch);
    expect(first.status).toBe(202);
    expect(first.body.ids).toHaveLength(2);
    expect(again.text).toBe(first.text);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const array = await postJson(url, [{ name: 'c', traceId: 'req_tools_003' }]);
    expect(array.status).toBe(202);
    const rows = await queryRows(daemon, `SELECT SpanName, SpanAttributes['gen_ai.tool.call.result'] AS result FROM otel_traces WHERE SpanAttributes['aitracer.trace_id'] = 'req_tools_003' ORDER BY SpanName`, database);
    expect(rows).toEqual([
      { SpanName: 'execute_tool a', result: 'one' },
      { SpanName: 'execute_tool b', result: '2' },
      { SpanName: 'execute_tool c', result: '' },
    ]);
  });

  it('answers 422 listing every failing field, of one call or of every call of a batch', async () => {
    const one = await postJson(url, {
      arguments: 5,
      result: 'ok',
      error: { code: 1 },
      traceId: '',
      spanId: 7,
      toolCallId: 'x'.repeat(257),
      startedAt: '2026-11-20T10:00:01Z',
      endedAt: '2026-11-20T10:00:00Z',
      durationMs: -1,
    });
    expect(one.status).toBe(422);
    expect(one.body.code).toBe('RCV_VALIDATION');
    expect(one.body.fields).toEqual([
      { field: 'arguments', message: expect.any(String), code: 'invalid' },
      { field: 'error', message: expect.any(String), code: 'invalid' },
      { field: 'traceId', message: 'must not be empty', code: 'too_short' },
      { field: 'spanId', message: expect.any(String), code: 'invalid_type' },
      { field: 'toolCallId', message: 'must be at most 256 characters', code: 'too_long' },
      { field: 'durationMs', message: 'must not be negative', code: 'too_small' },
      { field: 'name', message: 'required (or toolName)', code: 'required' },
      { field: 'error', message: 'give either result or error, not both', code: 'invalid' },
      { field: 'endedAt', message: 'must not be before startedAt', code: 'invalid' },
    ]);
    const batch = await postJson(url, { toolCalls: [{ name: 'ok' }, { startedAt: 'noon' }, { name: 'x', parentSpanId: '' }] });
    expect(batch.status).toBe(422);
    expect(batch.body.fields).toEqual([
      { field: 'toolCalls[1].startedAt', message: expect.stringContaining('ISO 8601'), code: 'invalid' },
      { field: 'toolCalls[1].name', message: 'required (or toolName)', code: 'required' },
      { field: 'toolCalls[2].parentSpanId', message: 'must not be empty', code: 'too_short' },
    ]);
    const empty = await postJson(url, { toolCalls: [] });
    expect(empty.body.fields).toEqual([{ field: 'toolCalls', message: 'must hold 1 to 1000 tool calls', code: 'too_short' }]);
    const notArray = await postJson(url, { toolCalls: { name: 'a' } });
    expect(notArray.body.fields).toEqual([{ field: 'toolCalls', message: 'must be an array of tool calls', code: 'invalid_type' }]);
    const rows = await queryRows(daemon, `SELECT count() AS n FROM otel_traces WHERE SpanName IN ('execute_tool ok', 'execute_tool x', 'execute_tool a') AND SpanAttributes['aitracer.trace_id'] = ''`, database);
    expect(rows).toEqual([{ n: 0 }]);
  });

  it('answers 401 and 403 before reading the body, and 429 past the route limit', async () => {
    expect((await postJson(url, { name: 'a' }, { authorization: '' })).status).toBe(401);
    expect((await postJson(url, { name: 'a' }, { authorization: 'Bearer nope' })).status).toBe(401);
    const forbidden = await postJson(url, { name: 'a' }, { authorization: `Bearer ${EVENTS_ONLY_KEY}` });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.code).toBe('RCV_FORBIDDEN');
    let last = await postJson(url, { name: 'limit' });
    for (let i = 0; i < 14 && last.status !== 429; i++) last = await postJson(url, { name: 'limit' });
    expect(last.status).toBe(429);
    expect(last.body.code).toBe('RCV_RATE_LIMITED');
    expect(last.headers.get('retry-after')).not.toBeNull();
  });
});
