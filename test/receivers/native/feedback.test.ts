import { queryRows, postJson, TEST_WORKSPACE, uniqueDatabase } from '../../support/daemon';
import type { TestDaemon } from '../../support/daemon';
import { EVENTS_ONLY_KEY, startNative } from './native-daemon';

describe('native receiver POST /api/ingest/feedback', () => {
  const database = uniqueDatabase('native_feedback');
  let daemon: TestDaemon;
  let base: string;
  let url: string;
  const columns = `TraceId, SpanId, ParentSpanId, SpanName, Workspace, toString(Duration) AS Duration, StatusCode, SpanAttributes`;

  beforeAll(async () => {
    daemon = await startNative(database, ['rate_limit: { limit: 1000, per_route: { "/api/ingest/feedback": { limit: 12, window_seconds: 60 } } }']);
    base = daemon.receiverUrl('native');
    url = `${base}/api/ingest/feedback`;
  });
  afterAll(() => daemon.stop());

  it('parents feedback on an OpenAI Agents trace to the root span the Agents route created', async () => {
    const hex = 'aabbccddeeff00112233445566778899';
    const exported = await postJson(`${base}/v1/traces/ingest`, { data: [{ object: 'trace', id: `trace_${hex}`, workflow_name: 'Support agent' }] });
    expect(exported.status).toBe(200);
    const res = await postJson(url, { traceId: `trace_${hex}`, rating: 'down' });
    expect(res.status).toBe(202);
    const rows = await queryRows<{ SpanName: string; SpanId: string; ParentSpanId: string }>(
      daemon,
      `SELECT SpanName, SpanId, ParentSpanId FROM otel_traces WHERE TraceId = '${hex}' ORDER BY SpanName`,
      database,
    );
    expect(rows).toHaveLength(2);
    const root = rows.find((r) => r.SpanName === 'Support agent');
    expect(rows.find((r) => r.SpanName === 'feedback')?.ParentSpanId).toBe(root?.SpanId);
  });

  it('stores a thumbs-up as a zero-duration record under the root span of the rated trace', async () => {
    const trace = await postJson(`${base}/api/traces`, { actionName: 'support-reply', requestId: 'req_fb_001', model: 'gpt-4o' });
    expect(trace.status).toBe(200);
    const res = await postJson(url, {
      traceId: 'req_fb_001',
      rating: 'thumbs_up',
      score: 0.9,
      comment: 'Exactly what I needed',
      userId: 'user_7',
      metadata: { channel: 'widget' },
      surface: 'chat',
    });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ ok: true, id: expect.stringMatching(/^[0-9a-f]{16}$/), traceId: 'req_fb_001' });
    const [root] = await queryRows<{ TraceId: string; SpanId: string }>(daemon, `SELECT TraceId, SpanId FROM otel_traces WHERE SpanAttributes['aitracer.request_id'] = 'req_fb_001'`, database);
    const rows = await queryRows(daemon, `SELECT ${columns} FROM otel_traces WHERE TraceId = '${root.TraceId}' AND SpanName = 'feedback'`, database);
    expect(rows).toEqual([
      {
        TraceId: root.TraceId,
        SpanId: res.body.id,
        ParentSpanId: root.SpanId,
        SpanName: 'feedback',
        Workspace: TEST_WORKSPACE,
        Duration: '0',
        StatusCode: 'Unset',
        SpanAttributes: {
          'tracehouse.record_type': 'feedback',
          'tracehouse.feedback.rating': 'up',
          'tracehouse.feedback.score': '0.9',
          'tracehouse.feedback.comment': 'Exactly what I needed',
          'enduser.id': 'user_7',
          'aitracer.trace_id': 'req_fb_001',
          'aitracer.metadata.channel': 'widget',
          'aitracer.surface': 'chat',
          'tracehouse.workspace': TEST_WORKSPACE,
          'tracehouse.source': 'native',
        },
      },
    ]);
  });

  it('reads every spelling of a rating, thumbsUp, or a score alone; a feedbackId makes a resend idempotent', async () => {
    const sent = [
      { traceId: 'req_fb_002', rating: 'DOWN', feedbackId: 'fb_1' },
      { traceId: 'req_fb_002', rating: 'negative', feedbackId: 'fb_2' },
      { traceId: 'req_fb_002', rating: 'positive', feedbackId: 'fb_3' },
      { traceId: 'req_fb_002', thumbsUp: false, feedbackId: 'fb_4' },
      { traceId: 'req_fb_002', score: 3, feedbackId: 'fb_5', timestamp: '2026-11-20T09:00:00.5Z' },
    ];
    for (const body of sent) expect((await postJson(url, body)).status).toBe(202);
    const again = await postJson(url, sent[0]);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const rows = await queryRows(
      daemon,
      `SELECT SpanAttributes['aitracer.feedback_id'] AS id, SpanAttributes['tracehouse.feedback.rating'] AS rating, SpanAttributes['tracehouse.feedback.score'] AS score, toString(Timestamp) AS ts
       FROM otel_traces WHERE SpanAttributes['aitracer.trace_id'] = 'req_fb_002' ORDER BY id`,
      database,
    );
    expect(rows).toEqual([
      { id: 'fb_1', rating: 'down', score: '', ts: expect.any(String) },
      { id: 'fb_2', rating: 'down', score: '', ts: expect.any(String) },
      { id: 'fb_3', rating: 'up', score: '', ts: expect.any(String) },
      { id: 'fb_4', rating: 'down', score: '', ts: expect.any(String) },
      { id: 'fb_5', rating: '', score: '3', ts: '2026-11-20 09:00:00.500000000' },
    ]);
  });

  it('answers 422 when neither rating nor score is given, listing the other problems too', async () => {
    const res = await postJson(url, { comment: 'meh', userId: '' });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('RCV_VALIDATION');
    expect(res.body.fields).toEqual([
      { field: 'traceId', message: expect.any(String), code: 'required' },
      { field: 'userId', message: 'must not be empty', code: 'too_short' },
      { field: 'rating', message: 'give a rating (up or down), thumbsUp or a score', code: 'required' },
    ]);
  });

  it('answers 422 for a wrong rating, a non-numeric score, a comment over 10,000 characters and more, all at once', async () => {
    const res = await postJson(url, {
      traceId: 'r'.repeat(257),
      rating: 'meh',
      thumbsUp: 'yes',
      score: '5',
      comment: 'x'.repeat(10_001),
      feedbackId: 3,
      timestamp: 'today',
      metadata: [1],
    });
    expect(res.status).toBe(422);
    expect(res.body.fields).toEqual([
      { field: 'traceId', message: 'must be at most 256 characters', code: 'too_long' },
      { field: 'rating', message: 'must be one of up, down, thumbs_up, thumbs_down, positive, negative', code: 'invalid' },
      { field: 'thumbsUp', message: expect.any(String), code: 'invalid_type' },
      { field: 'score', message: expect.any(String), code: 'invalid_type' },
      { field: 'comment', message: 'must be at most 10000 characters', code: 'too_long' },
      { field: 'feedbackId', message: expect.any(String), code: 'invalid_type' },
      { field: 'timestamp', message: expect.stringContaining('ISO 8601'), code: 'invalid' },
      { field: 'metadata', message: expect.any(String), code: 'invalid_type' },
    ]);
    const contradiction = await postJson(url, { traceId: 't', rating: 'up', thumbsUp: false });
    expect(contradiction.status).toBe(422);
    expect(contradiction.body.fields).toEqual([{ field: 'thumbsUp', message: 'contradicts rating "up"', code: 'invalid' }]);
    const exactlyTenThousand = await postJson(url, { traceId: 'req_fb_003', rating: 'up', comment: 'y'.repeat(10_000) });
    expect(exactlyTenThousand.status).toBe(202);
  });

  it('answers 401, 403 and 429', async () => {
    expect((await postJson(url, { traceId: 't', rating: 'up' }, { authorization: '' })).status).toBe(401);
    expect((await postJson(url, { traceId: 't', rating: 'up' }, { authorization: 'Bearer th_unknown' })).status).toBe(401);
    expect((await postJson(url, { traceId: 't', rating: 'up' }, { authorization: `Bearer ${EVENTS_ONLY_KEY}` })).status).toBe(403);
    let last = await postJson(url, { traceId: 't', rating: 'up' });
    for (let i = 0; i < 12 && last.status !== 429; i++) last = await postJson(url, { traceId: 't', rating: 'up' });
    expect(last.status).toBe(429);
    expect(last.body.code).toBe('RCV_RATE_LIMITED');
  });
});
