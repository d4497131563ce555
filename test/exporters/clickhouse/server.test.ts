/**
 * Server mode: @clickhouse/client over real HTTP on loopback, against the ClickHouse HTTP test
 * double (no ClickHouse server can be installed on these machines; see test/support).
 */
import fs from 'node:fs';
import net from 'node:net';
import { PermanentError } from '../../../core/errors';
import { ClickhouseHttpServer } from '../../support/clickhouse-http-server';
import { TEST_QUERY_LIMITS } from '../../support/daemon';
import { createHarness, genAiSpan, settle, signal, tempDir, type Harness } from './support';
import { NATIVE_INSERT_COLUMNS } from '../../../exporters/clickhouse/native';

let server: ClickhouseHttpServer;
const dataPath = tempDir('tracehouse-ch-server-');
const started: Harness[] = [];

const fastRetry = { initial_interval_ms: 10, max_interval_ms: 40, max_elapsed_ms: 5_000 };

async function startHarness(database: string, extra: Record<string, unknown> = {}): Promise<Harness> {
  const harness = createHarness({
    endpoint: server.url,
    username: 'tracehouse',
    password: 'secret',
    database,
    timeout_ms: 20,
    retry: fastRetry,
    ...extra,
  });
  await harness.exporter.start(harness.host);
  started.push(harness);
  return harness;
}

const isInsert = (query: string) => /^INSERT INTO \S+ \(.*\) FORMAT Native$/.test(query);

beforeAll(async () => {
  server = await ClickhouseHttpServer.start({ path: dataPath, user: 'tracehouse', password: 'secret', users: { th_reader: 'r3ad' } });
});

afterEach(() => server.clearFaults());

afterAll(async () => {
  for (const harness of started) await harness.exporter.shutdown();
  await server.close();
  fs.rmSync(dataPath, { recursive: true, force: true });
});

test('creates the schema over HTTP, inserts Native blocks, and reads deduplicated and read-only', async () => {
  const h = await startHarness('srv_basic');
  const span = genAiSpan();
  await h.exporter.consume([span, genAiSpan()], signal());
  await h.exporter.consume([span], signal());
  const ddl = server.requests.map((r) => r.query).filter((q) => q.startsWith('CREATE') && q.includes('srv_basic'));
  expect(ddl.map((q) => q.split('\n')[0].replace(/ \($/, ''))).toEqual([
    'CREATE DATABASE IF NOT EXISTS `srv_basic`',
    'CREATE TABLE IF NOT EXISTS `srv_basic`.`tracehouse_schema_migrations`',
    'CREATE TABLE IF NOT EXISTS `srv_basic`.`otel_traces`',
    'CREATE TABLE IF NOT EXISTS `srv_basic`.`otel_traces_trace_id_ts`',
    'CREATE MATERIALIZED VIEW IF NOT EXISTS `srv_basic`.`otel_traces_trace_id_ts_mv`',
    'CREATE TABLE IF NOT EXISTS `srv_basic`.`tracehouse_record_times`',
  ]);
  const insert = server.requests.find((r) => isInsert(r.query))!;
  expect(insert.query).toBe(`INSERT INTO srv_basic.otel_traces ${NATIVE_INSERT_COLUMNS} FORMAT Native`);

  expect(await h.count(`SpanId = '${span.spanId}'`)).toBe(1);
  const read = server.requests[server.requests.length - 1];
  expect(read).toMatchObject({ database: 'srv_basic', settings: { final: '1' } });
  const [row] = await h.rows(`SELECT InputTokens, GenAIRequestModel, ServiceName FROM otel_traces WHERE SpanId = '${span.spanId}'`);
  expect(row).toEqual({ InputTokens: '120', GenAIRequestModel: 'gpt-4o', ServiceName: 'support-bot' });

  const result = await h.host.backend().query({ sql: 'SELECT count() FROM otel_traces', defaultFormat: 'CSV', limits: TEST_QUERY_LIMITS });
  expect(result).toEqual({ format: 'CSV', body: Buffer.from('2\n') });
  await expect(
    h.host.backend().query({ sql: 'DROP TABLE otel_traces', defaultFormat: 'TSV', limits: TEST_QUERY_LIMITS }),
  ).rejects.toThrow(/only one read statement/);
});

test('retryable failures that recover inside the retry bound store the spans once', async () => {
  const h = await startHarness('srv_recover');
  server.fail({ kind: 'status', status: 503 }, 1, isInsert);
  server.fail({ kind: 'reset' }, 1, isInsert);
  server.fail({ kind: 'exception', code: 252, name: 'TOO_MANY_PARTS', message: 'Too many parts (300)' }, 1, isInsert);
  const spans = [genAiSpan(), genAiSpan(), genAiSpan()];
  // Calls encoded while an insert is being retried go into the same reused memory (byte-slabs.ts):
  // the retried block must still hold its own rows.
  const later = Array.from({ length: 6 }, () => genAiSpan());
  await Promise.all([h.exporter.consume(spans, signal()), ...later.map((span) => h.exporter.consume([span], signal()))]);
  const faults = server.requests.filter((r) => isInsert(r.query) && r.fault).map((r) => r.fault);
  expect(faults.sort()).toEqual(['exception', 'reset', 'status']);
  const stored = await h.rows<{ SpanId: string }>('SELECT SpanId FROM otel_traces ORDER BY SpanId');
  expect(stored.map((row) => row.SpanId)).toEqual([...spans, ...later].map((span) => span.spanId).sort());
});

test('a persistent failure rejects after the retry bound as retryable, then recovers', async () => {
  const h = await startHarness('srv_down', { retry: { ...fastRetry, max_elapsed_ms: 200 } });
  server.fail({ kind: 'status', status: 503 }, Infinity, isInsert);
  const outcome = await settle(h.exporter.consume([genAiSpan()], signal()));
  expect(outcome.ok).toBe(false);
  const error = (outcome as { error: unknown }).error;
  expect(error).not.toBeInstanceOf(PermanentError);
  expect(error).toMatchObject({ code: 'EXP_CLICKHOUSE_UNAVAILABLE' });
  expect(server.requests.filter((r) => isInsert(r.query) && r.fault).length).toBeGreaterThan(1);

  server.clearFaults();
  await h.exporter.consume([genAiSpan()], signal());
  expect(await h.count()).toBe(1);
});

test('rows the server cannot parse are rejected as permanent, without retries', async () => {
  const h = await startHarness('srv_rejected');
  await h.exporter.consume([genAiSpan()], signal());
  await server.sql(
    "ALTER TABLE srv_rejected.otel_traces MODIFY COLUMN Verdict Enum8('' = 0, 'pass' = 1, 'flagged' = 2, 'error' = 3)",
  );
  const before = server.requests.filter((r) => isInsert(r.query)).length;
  const outcome = await settle(h.exporter.consume([genAiSpan({ attributes: { 'tracehouse.verdict': 'bogus' } })], signal()));
  expect(outcome.ok).toBe(false);
  expect((outcome as { error: unknown }).error).toBeInstanceOf(PermanentError);
  expect((outcome as { error: unknown }).error).toMatchObject({ code: 'EXP_CLICKHOUSE_REJECTED' });
  expect(server.requests.filter((r) => isInsert(r.query)).length - before).toBe(1);
});

test('an unreachable server does not fail start; inserts retry the schema, then give up', async () => {
  const port = await new Promise<number>((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port: free } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(free));
    });
  });
  const h = createHarness({ endpoint: `http://127.0.0.1:${port}`, timeout_ms: 10, retry: { ...fastRetry, max_elapsed_ms: 100 } });
  await h.exporter.start(h.host);
  started.push(h);
  await expect(h.exporter.consume([genAiSpan()], signal())).rejects.toMatchObject({ code: 'EXP_CLICKHOUSE_UNAVAILABLE' });
});

test('wrong credentials surface as a retryable failure naming the cause', async () => {
  const h = createHarness({
    endpoint: server.url,
    username: 'tracehouse',
    password: 'wrong',
    database: 'srv_auth',
    timeout_ms: 10,
    retry: { ...fastRetry, max_elapsed_ms: 0 },
  });
  await h.exporter.start(h.host);
  started.push(h);
  const outcome = await settle(h.exporter.consume([genAiSpan()], signal()));
  expect((outcome as { error: unknown }).error).toMatchObject({ code: 'EXP_CLICKHOUSE_UNAVAILABLE' });
  expect(String((outcome as { error: Error }).error.message)).toMatch(/Authentication failed/);
});

test('analyst statements go through the server\'s own parser and run as the reader user, readonly and bounded', async () => {
  const h = await startHarness('srv_reader', { reader_username: 'th_reader', reader_password: 'r3ad' });
  await h.exporter.consume([genAiSpan()], signal());
  const backend = h.host.backend();
  const result = await backend.query({ sql: 'SELECT count() FROM otel_traces FORMAT CSV', defaultFormat: 'TSV', limits: TEST_QUERY_LIMITS });
  expect(result).toEqual({ format: 'CSV', body: Buffer.from('1\n') });
  const analyst = server.requests.filter((r) => r.user === 'th_reader');
  expect(analyst.map((r) => r.query.split(' ')[0])).toEqual(expect.arrayContaining(['SELECT', 'EXPLAIN']));
  const run = analyst.find((r) => r.query === 'SELECT count() FROM otel_traces')!;
  expect(run).toMatchObject({
    database: 'srv_reader',
    settings: { readonly: '1', final: '1', max_execution_time: '30', max_threads: '1', max_result_bytes: String(64 * 1024 ** 2) },
  });
  const inserts = server.requests.filter((r) => r.query.startsWith('INSERT INTO srv_reader.'));
  expect(inserts.length).toBeGreaterThan(0);
  expect(inserts.every((r) => r.user === 'tracehouse')).toBe(true);
  for (const sql of ["SELECT * FROM file('/etc/passwd')", 'SELECT 1; DROP TABLE otel_traces', 'SELECT * FROM system.settings', 'SELECT 1 SETTINGS readonly = 0']) {
    await expect(backend.query({ sql, defaultFormat: 'TSV', limits: TEST_QUERY_LIMITS })).rejects.toBeInstanceOf(PermanentError);
  }
  expect(await h.count()).toBe(1);
});
