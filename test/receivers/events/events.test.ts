import { ingestPipelineYaml, postJson, queryRows, startDaemon, TEST_WORKSPACE, uniqueDatabase } from '../../support/daemon';
import type { TestDaemon } from '../../support/daemon';

describe('events receiver', () => {
  const database = uniqueDatabase('events');
  let daemon: TestDaemon;
  let base: string;

  beforeAll(async () => {
    daemon = await startDaemon(
      ingestPipelineYaml({ receivers: { events: ['rate_limit: { limit: 1000, per_route: { "/v1/ingest/change": { limit: 6, window_seconds: 60 } } }'] }, database }),
    );
    base = daemon.receiverUrl('events');
  });
  afterAll(() => daemon.stop());

  it('stores a runtime event with its fields, at its own timestamp, in the workspace of the key', async () => {
    const res = await postJson(`${base}/v1/ingest/runtime`, {
      route_id: 'prod-chat',
      event_id: 'evt_001',
      timestamp: '2026-11-20T10:00:00.123456789Z',
      latency_ms: 2300,
      endpoint: 'anthropic-claude',
      tags: ['failover', 'slow'],
    });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ id: 'evt_001', status: 'accepted', trace_id: expect.stringMatching(/^[0-9a-f]{32}$/) });
    expect(res.headers.get('x-ratelimit-limit')).toBe('1000');
    expect(res.headers.get('x-ratelimit-remaining')).toBe('999');
    const rows = await queryRows(daemon, `SELECT SpanName, Workspace, toString(Timestamp) AS ts, toString(Duration) AS Duration, SpanAttributes FROM otel_traces WHERE TraceId = '${res.body.trace_id}'`, database);
    expect(rows).toEqual([
      {
        SpanName: 'runtime_event',
        Workspace: TEST_WORKSPACE,
        ts: '2026-11-20 10:00:00.123456789',
        Duration: '0',
        SpanAttributes: {
          'tracehouse.record_type': 'runtime_event',
          'tracehouse.route_id': 'prod-chat',
          'tracehouse.event_id': 'evt_001',
          'event.latency_ms': '2300',
          'event.endpoint': 'anthropic-claude',
          'event.tags': '["failover","slow"]',
          'tracehouse.workspace': TEST_WORKSPACE,
          'tracehouse.source': 'events',
        },
      },
    ]);
  });

  it('answers 422 naming every missing or malformed field', async () => {
    const res = await postJson(`${base}/v1/ingest/runtime`, { route_id: '', timestamp: 'yesterday' });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('RCV_VALIDATION');
    expect(res.body.fields).toEqual([
      { field: 'route_id', message: 'must not be empty', code: 'too_short' },
      { field: 'event_id', message: expect.any(String), code: 'required' },
      { field: 'timestamp', message: expect.stringContaining('ISO 8601'), code: 'invalid' },
    ]);
  });

  it('refuses a body that is not JSON, not an object, or not application/json', async () => {
    expect((await postJson(`${base}/v1/ingest/change`, '{"provider":')).status).toBe(400);
    expect((await postJson(`${base}/v1/ingest/change`, '[1,2]')).status).toBe(422);
    const wrongType = await postJson(`${base}/v1/ingest/change`, 'provider=x', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(wrongType.status).toBe(415);
    expect(wrongType.body.code).toBe('RCV_UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers 401 without or with an unknown key, before counting against any limit', async () => {
    const missing = await postJson(`${base}/v1/ingest/runtime`, {}, { authorization: '' });
    expect(missing.status).toBe(401);
    expect(missing.body).toEqual({ error: expect.stringContaining('missing API key'), code: 'RCV_UNAUTHENTICATED' });
    const wrong = await postJson(`${base}/v1/ingest/runtime`, {}, { authorization: 'Bearer not-a-key' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('x-ratelimit-limit')).toBeNull();
  });

  it('stores a repeated event once and replays the first answer', async () => {
    const event = { provider: 'github', change_id: 'chg_42', classification: 'deploy', timestamp: '2026-11-20T11:00:00Z', sha: 'abc123' };
    const first = await postJson(`${base}/v1/ingest/change`, event, { 'idempotency-key': 'deploy-42' });
    const again = await postJson(`${base}/v1/ingest/change`, event, { 'idempotency-key': 'deploy-42' });
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.text).toBe(first.text);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const reused = await postJson(`${base}/v1/ingest/change`, { ...event, sha: 'def456' }, { 'idempotency-key': 'deploy-42' });
    expect(reused.status).toBe(422);
    expect(reused.body.code).toBe('RCV_IDEMPOTENCY_MISMATCH');
    const rows = await queryRows(daemon, `SELECT count() AS n FROM otel_traces WHERE SpanAttributes['tracehouse.change.id'] = 'chg_42'`, database);
    expect(rows).toEqual([{ n: 1 }]);
  });

  it('limits requests per key and route with a sliding window, answering 429 with Retry-After', async () => {
    // The change route allows 6 per minute: the tests above used them (refusals after auth count too).
    const limited = await postJson(`${base}/v1/ingest/change`, { provider: 'p', change_id: 'c-9', classification: 'x' });
    expect(limited.status).toBe(429);
    expect(limited.body.code).toBe('RCV_RATE_LIMITED');
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Other routes keep their own budget.
    const other = await postJson(`${base}/v1/ingest/runtime`, { route_id: 'r', event_id: 'e-9', timestamp: '2026-11-20T10:00:00Z' });
    expect(other.status).toBe(202);
  });
});
