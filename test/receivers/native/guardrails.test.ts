import { queryRows, postJson, TEST_WORKSPACE, uniqueDatabase } from '../../support/daemon';
import type { TestDaemon } from '../../support/daemon';
import { EVENTS_ONLY_KEY, startNative } from './native-daemon';

describe('native receiver POST /api/integrations/openai-guardrails', () => {
  const database = uniqueDatabase('native_guardrails');
  let daemon: TestDaemon;
  let base: string;
  let url: string;

  beforeAll(async () => {
    daemon = await startNative(database);
    base = daemon.receiverUrl('native');
    url = `${base}/api/integrations/openai-guardrails`;
  });
  afterAll(() => daemon.stop());

  it('stores each result as a zero-duration guardrail record under the root span of the trace named', async () => {
    await postJson(`${base}/api/traces`, { actionName: 'chat', requestId: 'req_gr_001', model: 'gpt-4o' });
    const res = await postJson(url, {
      traceId: 'req_gr_001',
      stage: 'input',
      results: [
        { name: 'Jailbreak', triggered: true, info: { confidence: 0.97, flagged: ['ignore previous'] } },
        { name: 'PII', triggered: false, info: { entities: [] } },
      ],
    });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ ok: true, ids: [expect.stringMatching(/^[0-9a-f]{16}$/), expect.stringMatching(/^[0-9a-f]{16}$/)], traceId: 'req_gr_001' });
    const [root] = await queryRows<{ TraceId: string; SpanId: string }>(daemon, `SELECT TraceId, SpanId FROM otel_traces WHERE SpanAttributes['aitracer.request_id'] = 'req_gr_001'`, database);
    const rows = await queryRows(
      daemon,
      `SELECT TraceId, SpanId, ParentSpanId, SpanName, Workspace, toString(Duration) AS Duration, StatusCode, SpanAttributes
       FROM otel_traces WHERE TraceId = '${root.TraceId}' AND SpanAttributes['tracehouse.record_type'] = 'guardrail' ORDER BY SpanName`,
      database,
    );
    const common = { TraceId: root.TraceId, ParentSpanId: root.SpanId, Workspace: TEST_WORKSPACE, Duration: '0', StatusCode: 'Unset' };
    const commonAttributes = { 'aitracer.stage': 'input', 'aitracer.trace_id': 'req_gr_001', 'tracehouse.record_type': 'guardrail', 'tracehouse.workspace': TEST_WORKSPACE, 'tracehouse.source': 'native' };
    expect(rows).toEqual([
      {
        ...common,
        SpanId: res.body.ids[0],
        SpanName: 'guardrail Jailbreak',
        SpanAttributes: { ...commonAttributes, 'tracehouse.guardrail.name': 'Jailbreak', 'tracehouse.guardrail.triggered': 'true', 'tracehouse.guardrail.info': '{"confidence":0.97,"flagged":["ignore previous"]}' },
      },
      {
        ...common,
        SpanId: res.body.ids[1],
        SpanName: 'guardrail PII',
        SpanAttributes: { ...commonAttributes, 'tracehouse.guardrail.name': 'PII', 'tracehouse.guardrail.triggered': 'false', 'tracehouse.guardrail.info': '{"entities":[]}' },
      },
    ]);
  });

  it("accepts one result alone, and the openai-guardrails library's field names; a failed run is an error", async () => {
    const single = await postJson(url, { name: 'Moderation', triggered: false });
    expect(single.status).toBe(202);
    expect(single.body).toEqual({ ok: true, ids: [expect.stringMatching(/^[0-9a-f]{16}$/)], traceId: expect.stringMatching(/^[0-9a-f]{32}$/) });
    const library = await postJson(url, { tripwire_triggered: true, execution_failed: true, info: { guardrail_name: 'URL Filter', blocked: ['evil.example'] } });
    expect(library.status).toBe(202);
    const rows = await queryRows(
      daemon,
      `SELECT TraceId, ParentSpanId, SpanName, StatusCode, StatusMessage, SpanAttributes FROM otel_traces WHERE SpanId IN ('${single.body.ids[0]}', '${library.body.ids[0]}') ORDER BY SpanName`,
      database,
    );
    expect(rows).toEqual([
      {
        TraceId: single.body.traceId,
        ParentSpanId: '',
        SpanName: 'guardrail Moderation',
        StatusCode: 'Unset',
        StatusMessage: '',
        SpanAttributes: { 'tracehouse.record_type': 'guardrail', 'tracehouse.guardrail.name': 'Moderation', 'tracehouse.guardrail.triggered': 'false', 'tracehouse.workspace': TEST_WORKSPACE, 'tracehouse.source': 'native' },
      },
      {
        TraceId: library.body.traceId,
        ParentSpanId: '',
        SpanName: 'guardrail URL Filter',
        StatusCode: 'Error',
        StatusMessage: 'guardrail execution failed',
        SpanAttributes: {
          'tracehouse.record_type': 'guardrail',
          'tracehouse.guardrail.name': 'URL Filter',
          'tracehouse.guardrail.triggered': 'true',
          'tracehouse.guardrail.info': '{"guardrail_name":"URL Filter","blocked":["evil.example"]}',
          'tracehouse.guardrail.execution_failed': 'true',
          'tracehouse.workspace': TEST_WORKSPACE,
          'tracehouse.source': 'native',
        },
      },
    ]);
  });

  it('answers 422 listing every failing field of every result', async () => {
    const res = await postJson(url, { traceId: '', results: [{ name: 'ok', triggered: true }, { triggered: 'yes' }, { name: 5 }] });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('RCV_VALIDATION');
    expect(res.body.fields).toEqual([
      { field: 'traceId', message: 'must not be empty', code: 'too_short' },
      { field: 'results[1].triggered', message: expect.any(String), code: 'invalid_type' },
      { field: 'results[1].name', message: 'required (or guardrail_name, or info.guardrail_name)', code: 'required' },
      { field: 'results[2].name', message: expect.any(String), code: 'invalid_type' },
      { field: 'results[2].triggered', message: 'required (or tripwire_triggered)', code: 'required' },
    ]);
    const single = await postJson(url, { info: 'x' });
    expect(single.body.fields).toEqual([
      { field: 'name', message: 'required (or guardrail_name, or info.guardrail_name)', code: 'required' },
      { field: 'triggered', message: 'required (or tripwire_triggered)', code: 'required' },
    ]);
    expect((await postJson(url, { results: [] })).body.fields).toEqual([{ field: 'results', message: 'must hold 1 to 1000 guardrail results', code: 'too_short' }]);
    expect((await postJson(url, { results: 'none' })).body.fields).toEqual([{ field: 'results', message: 'must be an array of guardrail results', code: 'invalid_type' }]);
    expect((await postJson(url, '[{"name":"a","triggered":true}]')).body.fields).toEqual([{ field: '', message: expect.any(String), code: 'invalid_type' }]);
    const stored = await queryRows(daemon, `SELECT count() AS n FROM otel_traces WHERE SpanName = 'guardrail ok'`, database);
    expect(stored).toEqual([{ n: 0 }]);
  });

  it('answers 401 and 403', async () => {
    const body = { name: 'x', triggered: false };
    expect((await postJson(url, body, { authorization: '' })).status).toBe(401);
    expect((await postJson(url, body, { authorization: 'Bearer th_unknown' })).status).toBe(401);
    expect((await postJson(url, body, { authorization: `Bearer ${EVENTS_ONLY_KEY}` })).status).toBe(403);
  });
});
