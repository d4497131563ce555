/**
 * A statement that would run for hours is stopped by the engine at its limit, holds one of a
 * bounded number of query slots while it runs, and never stalls ingestion.
 */
import { processDataDir, startDaemon, uniqueDatabase, type TestDaemon } from '../support/daemon';

let daemon: TestDaemon;
const database = uniqueDatabase('heavy');

beforeAll(async () => {
  daemon = await startDaemon(`
receivers:
  otlp:
    http: { listen: 127.0.0.1:0 }
    grpc: { enabled: false }
exporters:
  clickhouse:
    path: ${processDataDir}
    database: ${database}
    timeout_ms: 10
service:
  admin:
    listen: 127.0.0.1:0
    query_timeout_ms: 3000
    query_limits: { max_concurrent_queries: 2, max_memory_bytes: 200000000, max_result_bytes: 1000000, max_rows_to_read: 50000000 }
  pipelines:
    traces: { receivers: [otlp], exporters: [clickhouse] }
`);
});
afterAll(async () => {
  await daemon.stop();
});

async function query(sql: string): Promise<{ status: number; text: string; code: string | null; retryAfter: string | null }> {
  const res = await fetch(daemon.adminUrl, { method: 'POST', body: sql });
  return {
    status: res.status,
    text: await res.text(),
    code: res.headers.get('x-clickhouse-exception-code'),
    retryAfter: res.headers.get('retry-after'),
  };
}

function otlpBody(name: string, i: number): string {
  const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
  return JSON.stringify({
    resourceSpans: [
      {
        scopeSpans: [
          {
            spans: [
              {
                traceId: hex(i + 1, 32),
                spanId: hex(i + 1, 16),
                name,
                startTimeUnixNano: '1700000000000000000',
                endTimeUnixNano: '1700000001000000000',
              },
            ],
          },
        ],
      },
    ],
  });
}

// A cross join of 10^10 row pairs: minutes to hours of CPU, but few rows read, so only the time
// limit can stop it.
const FOREVER = 'SELECT count() FROM numbers(100000) AS a, numbers(100000) AS b WHERE cityHash64(a.number, b.number) % 7 = 1';

test('two endless statements hit the engine time limit, a third waits its turn, and OTLP keeps getting 200', async () => {
  const heavy = [query(FOREVER), query(FOREVER)];
  // Both slots are taken while they run: a third statement is told to come back.
  let third = await query('SELECT 1');
  for (let i = 0; i < 20 && third.status === 200; i++) third = await query('SELECT 1');
  expect(third.status).toBe(503);
  expect(third.code).toBe('202');
  expect(third.retryAfter).toBe('1');

  const writes: Promise<number>[] = [];
  for (let i = 0; i < 10; i++) {
    writes.push(
      fetch(`${daemon.receiverUrl('otlp')}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: otlpBody('during-heavy', i),
      }).then((r) => r.status),
    );
  }
  expect(await Promise.all(writes)).toEqual(new Array(10).fill(200));

  for (const answer of await Promise.all(heavy)) {
    expect(answer.status).toBe(400);
    expect(answer.code).toBe('159');
    expect(answer.text).toMatch(/TIMEOUT_EXCEEDED/);
  }
  // The slots are free again once the engine stopped the statements.
  const after = await query("SELECT count() FROM otel_traces WHERE SpanName = 'during-heavy'");
  expect(after).toMatchObject({ status: 200, text: '10\n' });
});

test('memory, rows-read and result-size limits are the engine\'s, per statement', async () => {
  const memory = await query('SELECT groupArray(number) FROM numbers(40000000)');
  expect(memory.code).toBe('241');
  const rows = await query('SELECT count() FROM numbers(1000000000000)');
  expect(rows.code).toBe('158');
  const result = await query('SELECT number FROM numbers(1000000)');
  expect(result.code).toBe('396');
  expect((await query('SELECT 2')).text).toBe('2\n');
});
