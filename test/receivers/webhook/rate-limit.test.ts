import { ingestPipelineYaml, postJson, queryRows, startDaemon, uniqueDatabase } from '../../support/daemon';
import type { TestDaemon } from '../../support/daemon';

describe('webhook receiver: rate limits', () => {
  const database = uniqueDatabase('webhook_rate');
  let daemon: TestDaemon;
  let url: string;

  beforeAll(async () => {
    // A long window so that no window boundary falls between the requests of this test.
    daemon = await startDaemon(ingestPipelineYaml({ receivers: { webhook: ['rate_limit: { limit: 1000, per_route: { "/api/ingest/webhooks": { limit: 3, window_seconds: 3600 } } }'] }, database }));
    url = `${daemon.receiverUrl('webhook')}/api/ingest/webhooks`;
  });
  afterAll(() => daemon.stop());

  it('counts requests per key with X-RateLimit-* headers and answers 429 with Retry-After beyond the limit', async () => {
    const remaining: (string | null)[] = [];
    for (let i = 1; i <= 3; i += 1) {
      const res = await postJson(url, { title: `alert ${i}`, delivery_id: `rate-${i}` });
      expect(res.status).toBe(202);
      expect(res.headers.get('x-ratelimit-limit')).toBe('3');
      remaining.push(res.headers.get('x-ratelimit-remaining'));
    }
    expect(remaining).toEqual(['2', '1', '0']);
    const limited = await postJson(url, { title: 'alert 4', delivery_id: 'rate-4' });
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ error: expect.stringContaining('Too many requests'), code: 'RCV_RATE_LIMITED' });
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const rows = await queryRows(daemon, `SELECT SpanAttributes['tracehouse.webhook.delivery_id'] AS id FROM otel_traces ORDER BY id`, database);
    expect(rows).toEqual([{ id: 'rate-1' }, { id: 'rate-2' }, { id: 'rate-3' }]);
  });
});
