/**
 * Server mode (over HTTP, against the ClickHouse HTTP test double): backfills split by partition,
 * bad callers isolated, and fsync_after_insert applied with ALTER ... MODIFY SETTING.
 */
import fs from 'node:fs';
import { PermanentError } from '../../../core/errors';
import { ClickhouseHttpServer } from '../../support/clickhouse-http-server';
import { createHarness, genAiSpan, settle, signal, tempDir, type Harness } from './support';
import { NATIVE_INSERT_COLUMNS } from '../../../exporters/clickhouse/native';

let server: ClickhouseHttpServer;
const dataPath = tempDir('tracehouse-ch-server-safety-');
const started: Harness[] = [];

async function startHarness(database: string, extra: Record<string, unknown> = {}): Promise<Harness> {
  const harness = createHarness({
    endpoint: server.url,
    database,
    timeout_ms: 60_000,
    retry: { initial_interval_ms: 10, max_interval_ms: 40, max_elapsed_ms: 2_000 },
    ...extra,
  });
  await harness.exporter.start(harness.host);
  started.push(harness);
  return harness;
}

const inserts = (database: string) => server.requests.filter((r) => r.query === `INSERT INTO ${database}.otel_traces ${NATIVE_INSERT_COLUMNS} FORMAT Native`);
const DAY = 86_400_000_000_000n;

beforeAll(async () => {
  server = await ClickhouseHttpServer.start({ path: dataPath });
});

afterAll(async () => {
  for (const harness of started) await harness.exporter.shutdown();
  await server.close();
  fs.rmSync(dataPath, { recursive: true, force: true });
});

test('a backfill over 200 days is stored in inserts the server accepts, none retried', async () => {
  const h = await startHarness('srv_backfill');
  const spans = Array.from({ length: 200 }, (_, i) => {
    const start = 1_600_000_000_000_000_000n + BigInt(i) * DAY;
    return genAiSpan({ startTimeUnixNano: start, endTimeUnixNano: start + 1_000n });
  });
  await h.exporter.consume(spans, signal());
  expect(await h.count()).toBe(200);
  // ceil(200 / 48) inserts, each accepted the first time.
  expect(inserts('srv_backfill').length).toBe(5);
  expect(inserts('srv_backfill').filter((r) => r.fault !== undefined)).toEqual([]);
});

test('a caller the server refuses fails alone among callers sharing its insert', async () => {
  const h = await startHarness('srv_bisect');
  await h.exporter.consume([genAiSpan()], signal());
  await server.sql("ALTER TABLE srv_bisect.otel_traces ADD CONSTRAINT no_poison CHECK SpanName != 'poison'");
  const release = server.holdInserts();
  const first = settle(h.exporter.consume([genAiSpan()], signal()));
  const calls = [genAiSpan(), genAiSpan(), genAiSpan({ name: 'poison' }), genAiSpan(), genAiSpan()].map((span) =>
    settle(h.exporter.consume([span], signal())),
  );
  release();
  expect((await first).ok).toBe(true);
  const results = await Promise.all(calls);
  expect(results.map((r) => r.ok)).toEqual([true, true, false, true, true]);
  expect((results[2] as { error: unknown }).error).toBeInstanceOf(PermanentError);
  expect(await h.count()).toBe(6);
});

test('fsync_after_insert turns the MergeTree fsync settings on for existing tables with ALTER ... MODIFY SETTING', async () => {
  const plain = await startHarness('srv_fsync');
  await plain.exporter.consume([genAiSpan()], signal());
  await plain.exporter.shutdown();
  const durable = await startHarness('srv_fsync', { fsync_after_insert: true });
  await durable.exporter.consume([genAiSpan()], signal());
  const alters = server.requests.map((r) => r.query).filter((q) => q.startsWith('ALTER TABLE `srv_fsync`'));
  expect(alters.sort()).toEqual([
    'ALTER TABLE `srv_fsync`.`otel_traces_trace_id_ts` MODIFY SETTING fsync_after_insert = 1, fsync_part_directory = 1',
    'ALTER TABLE `srv_fsync`.`otel_traces` MODIFY SETTING fsync_after_insert = 1, fsync_part_directory = 1',
    'ALTER TABLE `srv_fsync`.`tracehouse_record_times` MODIFY SETTING fsync_after_insert = 1, fsync_part_directory = 1',
  ]);
  const engine = await server.sql("SELECT engine_full FROM system.tables WHERE database = 'srv_fsync' AND name = 'otel_traces'", 'TabSeparatedRaw');
  expect(engine).toContain('fsync_after_insert = 1, fsync_part_directory = 1');
  expect(await durable.count()).toBe(2);
});
