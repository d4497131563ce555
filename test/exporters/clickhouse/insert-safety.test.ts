/**
 * Inserts that one caller cannot poison for the others (backfills across many partitions, rows the
 * engine refuses), and the fsync_after_insert option, against the embedded engine.
 */
import fs from 'node:fs';
import { PermanentError } from '../../../core/errors';
import { EmbeddedConnection } from '../../../exporters/clickhouse/embedded-connection';
import { isDataError } from '../../../exporters/clickhouse/connection';
import { dayOf, groupByDays, MAX_DAYS_PER_INSERT } from '../../../exporters/clickhouse/partitions';
import { embeddedHarnesses, genAiSpan, insertCount, settle, signal, tempDir } from './support';

const dataPath = tempDir('tracehouse-ch-insert-safety-');
const harnesses = embeddedHarnesses(dataPath);
const startHarness = harnesses.start;

afterAll(async () => {
  await harnesses.shutdown();
  fs.rmSync(dataPath, { recursive: true, force: true });
});

const DAY = 86_400_000_000_000n;
const JAN_2021 = 1_609_459_200_000_000_000n;

/** One span per day for `days` days from `from`, `step` days apart. */
function backfill(days: number, from = JAN_2021, step = 1n) {
  return Array.from({ length: days }, (_, i) => {
    const start = from + BigInt(i) * step * DAY + 3_600_000_000_000n;
    return genAiSpan({ startTimeUnixNano: start, endTimeUnixNano: start + 1_000_000_000n });
  });
}

async function engineFull(database: string, table: string): Promise<string> {
  const connection = new EmbeddedConnection(dataPath, 30_000);
  try {
    return await connection.select(
      `SELECT engine_full FROM system.tables WHERE database = '${database}' AND name = '${table}'`,
      'TabSeparatedRaw',
    );
  } finally {
    await connection.close();
  }
}

test('a call is cut into groups of at most MAX_DAYS_PER_INSERT days and max_spans spans, losing no span', () => {
  const spans = [...backfill(300), ...backfill(300)];
  const groups = groupByDays(spans, 70);
  expect(groups.flatMap((g) => g.spans).length).toBe(spans.length);
  expect(new Set(groups.flatMap((g) => g.spans))).toEqual(new Set(spans));
  for (const group of groups) {
    expect(group.spans.length).toBeLessThanOrEqual(70);
    expect(new Set(group.spans.map(dayOf)).size).toBeLessThanOrEqual(MAX_DAYS_PER_INSERT);
    expect(new Set(group.days)).toEqual(new Set(group.spans.map(dayOf)));
  }
  // A call within a few days keeps its order and is cut by size only.
  const recent = backfill(3);
  expect(groupByDays(recent, 5000)).toEqual([{ spans: recent, days: recent.map(dayOf) }]);
});

test('a backfill spanning several years in one call is stored completely', async () => {
  const h = await startHarness('backfill_years');
  // Three years, one span a day: about 11 times the engine's partitions-per-insert limit.
  const spans = backfill(3 * 365);
  await h.exporter.consume(spans, signal());
  expect(await h.count()).toBe(spans.length);
  const [row] = await h.rows<{ days: string }>('SELECT toString(uniqExact(toDate(Timestamp))) AS days FROM otel_traces');
  expect(Number(row.days)).toBe(3 * 365);
});

test('backfills batched with ordinary calls: every call is stored, none waits for a retry', async () => {
  const h = await startHarness('backfill_mixed', { timeout_ms: 60_000, retry: { max_elapsed_ms: 0 } });
  const ordinary = Array.from({ length: 10 }, () => [genAiSpan()]);
  const backfills = [backfill(150, JAN_2021), backfill(120, JAN_2021 + 400n * DAY, 2n)];
  // Called in one tick: the first insert runs alone, the rest share the inserts after it.
  const calls = [...ordinary, ...backfills].map((batch) => settle(h.exporter.consume(batch, signal())));
  const results = await Promise.all(calls);
  expect(results.filter((r) => !r.ok)).toEqual([]);
  expect(await h.count()).toBe(10 + 150 + 120);
});

test('one caller whose rows the engine refuses fails alone among many sharing its insert', async () => {
  const h = await startHarness('bisect', { timeout_ms: 60_000 });
  const connection = new EmbeddedConnection(dataPath, 30_000);
  await connection.command("ALTER TABLE bisect.otel_traces ADD CONSTRAINT no_poison CHECK SpanName != 'poison'");
  await connection.close();
  const first = genAiSpan();
  const good = Array.from({ length: 16 }, () => genAiSpan());
  const bad = genAiSpan({ name: 'poison' });
  const before = await insertCount(h.telemetry);
  const firstCall = settle(h.exporter.consume([first], signal()));
  // Queued while the first insert runs, so they share one insert with the bad caller in the middle.
  const calls = [...good.slice(0, 9).map((s) => [s]), [bad], ...good.slice(9).map((s) => [s])].map((batch) =>
    settle(h.exporter.consume(batch, signal())),
  );
  expect((await firstCall).ok).toBe(true);
  const results = await Promise.all(calls);
  const badResult = results[9];
  expect(badResult.ok).toBe(false);
  expect((badResult as { error: unknown }).error).toBeInstanceOf(PermanentError);
  expect((badResult as { error: unknown }).error).toMatchObject({ code: 'EXP_CLICKHOUSE_REJECTED' });
  expect(results.filter((r, i) => i !== 9 && !r.ok)).toEqual([]);
  expect(await h.count()).toBe(17);
  expect(await h.count(`SpanName = 'poison'`)).toBe(0);
  // Bisected, not one insert per caller: the first insert, the shared one, then about 2·log2(17).
  const inserts = (await insertCount(h.telemetry)) - before;
  expect(inserts).toBeGreaterThan(2);
  expect(inserts).toBeLessThan(2 + 17);
});

test('too many partitions for one insert block is a data error; too many parts (merges behind) is not', () => {
  const partitions = new Error(
    "Code: 252. DB::Exception: Too many partitions for single INSERT block (more than 100). The limit is controlled by 'max_partitions_per_insert_block' setting.",
  );
  const parts = new Error('Code: 252. DB::Exception: Too many parts (3001 with average size of 1.00 KiB) in table. Merges are processing significantly slower than inserts.');
  expect(isDataError(partitions)).toBe(true);
  expect(isDataError(parts)).toBe(false);
  expect(isDataError(new Error('Code: 469. DB::Exception: Constraint `no_poison` for table is violated.'))).toBe(true);
});

test('fsync_after_insert reaches the settings of every table an insert writes, at creation', async () => {
  const h = await startHarness('fsync_new', { fsync_after_insert: true });
  await h.exporter.consume([genAiSpan()], signal());
  expect(await h.count()).toBe(1);
  for (const table of ['otel_traces', 'otel_traces_trace_id_ts', 'tracehouse_record_times']) {
    const engine = await engineFull('fsync_new', table);
    expect(engine).toContain('fsync_after_insert = 1');
    expect(engine).toContain('fsync_part_directory = 1');
  }
});

test('fsync_after_insert is applied to existing tables on start, and turned off again', async () => {
  const plain = await startHarness('fsync_existing');
  await plain.exporter.consume([genAiSpan()], signal());
  await plain.exporter.shutdown();
  expect(await engineFull('fsync_existing', 'otel_traces')).not.toContain('fsync_after_insert');

  const durable = await startHarness('fsync_existing', { fsync_after_insert: true });
  await durable.exporter.consume([genAiSpan()], signal());
  await durable.exporter.shutdown();
  for (const table of ['otel_traces', 'otel_traces_trace_id_ts', 'tracehouse_record_times']) {
    expect(await engineFull('fsync_existing', table)).toContain('fsync_after_insert = 1, fsync_part_directory = 1');
  }

  const again = await startHarness('fsync_existing');
  await again.exporter.consume([genAiSpan()], signal());
  expect(await engineFull('fsync_existing', 'otel_traces')).toContain('fsync_after_insert = 0, fsync_part_directory = 0');
  expect(await again.count()).toBe(3);
});
