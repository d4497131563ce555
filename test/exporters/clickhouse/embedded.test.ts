/**
 * The exporter against the embedded engine. chdb binds one data directory per process, so every
 * test in this file shares one directory and keeps to its own database.
 */
import fs from 'node:fs';
import { BackpressureError, PermanentError, ShuttingDownError, TracehouseError } from '../../../core/errors';
import { attributeToString, makeSpan, type Resource } from '../../../core/span';
import { ClickhouseExporter } from '../../../exporters/clickhouse/exporter';
import { EmbeddedConnection } from '../../../exporters/clickhouse/embedded-connection';
import { encodeNativeBlock } from '../../../exporters/clickhouse/native';
import { SchemaManager } from '../../../exporters/clickhouse/schema-manager';
import { MIGRATIONS } from '../../../exporters/clickhouse/schema';
import { clickhouseExporterConfigSchema } from '../../../exporters/clickhouse/config';
import { silentLogger } from '../../../core/logger';
import { Telemetry } from '../../../core/telemetry';
import { openEmbeddedPaths } from '../../../core/clickhouse/embedded-engine';
import { TEST_QUERY_LIMITS } from '../../support/daemon';
import { createHarness, embeddedHarnesses, genAiSpan, insertCount, settle, signal, tempDir } from './support';

const dataPath = tempDir('tracehouse-ch-embedded-');
const harnesses = embeddedHarnesses(dataPath);
const startHarness = harnesses.start;

afterAll(async () => {
  await harnesses.shutdown();
  expect(openEmbeddedPaths()).toEqual([]);
  fs.rmSync(dataPath, { recursive: true, force: true });
});

test('schema creation is idempotent and records each migration once', async () => {
  const options = { database: 'schema_idem', table: 'otel_traces', ttlDays: 7 };
  const connection = new EmbeddedConnection(dataPath, 30_000);
  try {
    await new SchemaManager(connection, options).ensure();
    await new SchemaManager(connection, options).ensure();
    const manager = new SchemaManager(connection, options);
    await manager.ensure();
    expect(await manager.appliedVersions()).toEqual(MIGRATIONS.map((m) => m.version));
    const records = await connection.select(
      'SELECT version, description FROM schema_idem.tracehouse_schema_migrations ORDER BY version',
      'JSONEachRow',
    );
    expect(records.trim().split('\n').map((l) => JSON.parse(l))).toEqual([
      { version: 1, description: 'create spans table' },
      { version: 2, description: 'create trace id lookup table' },
      { version: 3, description: 'create trace id lookup view' },
      { version: 4, description: 'create record receive-time table' },
    ]);
    const tables = await connection.select(
      "SELECT name, engine FROM system.tables WHERE database = 'schema_idem' ORDER BY name",
      'JSONEachRow',
    );
    expect(tables.trim().split('\n').map((l) => JSON.parse(l))).toEqual([
      { name: 'otel_traces', engine: 'ReplacingMergeTree' },
      { name: 'otel_traces_trace_id_ts', engine: 'MergeTree' },
      { name: 'otel_traces_trace_id_ts_mv', engine: 'MaterializedView' },
      { name: 'tracehouse_record_times', engine: 'AggregatingMergeTree' },
      { name: 'tracehouse_schema_migrations', engine: 'ReplacingMergeTree' },
    ]);
    const ttl = await connection.select(
      "SELECT engine_full FROM system.tables WHERE database = 'schema_idem' AND name = 'otel_traces'",
      'TabSeparatedRaw',
    );
    expect(ttl).toContain('TTL toDateTime(Timestamp) + toIntervalDay(7)');
  } finally {
    await connection.close();
  }
});

test('a fully populated span becomes exactly the expected row', async () => {
  const h = await startHarness('rows');
  const resource: Resource = {
    attributes: {
      'service.name': 'support-bot',
      'deployment.environment.name': 'staging',
      'tracehouse.workspace': 'acme',
    },
    droppedAttributesCount: 0,
    schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
  };
  const span = makeSpan({
    traceId: '5b8efff798038103d269b633813fc60c',
    spanId: 'eee19b7ec3c1b174',
    parentSpanId: 'eee19b7ec3c1b173',
    traceState: 'vendor=1',
    flags: 1,
    name: 'chat gpt-4o',
    kind: 'server',
    startTimeUnixNano: 1_700_000_000_123_456_789n,
    endTimeUnixNano: 1_700_000_001_623_456_790n,
    status: { code: 'error', message: 'rate limited' },
    attributes: {
      'gen_ai.operation.name': 'chat',
      'gen_ai.system': 'openai',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.response.model': 'gpt-4o-2024-08-06',
      'gen_ai.usage.input_tokens': 1234n,
      'gen_ai.usage.output_tokens': 56n,
      'gen_ai.input.messages': [{ role: 'user', content: 'hi' }],
      'gen_ai.completion': 'hello',
      'tracehouse.project': 'helpdesk',
      'tracehouse.cost_usd': 0.0125,
      'tracehouse.verdict': 'flagged',
      'big.int': 9_007_199_254_740_993n,
      'flag': true,
      'ratio': 0.5,
      'raw': new Uint8Array([1, 2, 3]),
      'list': ['a', 1n],
      'empty': null,
    },
    droppedAttributesCount: 2,
    events: [
      { timeUnixNano: 1_700_000_000_223_456_789n, name: 'gen_ai.choice', attributes: { index: 0n }, droppedAttributesCount: 0 },
      { timeUnixNano: 1_700_000_000_323_456_789n, name: 'exception', attributes: {}, droppedAttributesCount: 0 },
    ],
    droppedEventsCount: 3,
    links: [
      {
        traceId: '0af7651916cd43dd8448eb211c80319c',
        spanId: 'b7ad6b7169203331',
        traceState: 'a=b',
        attributes: { 'link.kind': 'retry' },
        droppedAttributesCount: 0,
        flags: 0,
      },
    ],
    droppedLinksCount: 4,
    resource,
    scope: { name: 'openai-instrumentation', version: '1.2.3', attributes: { 'scope.attr': 'x' }, droppedAttributesCount: 0 },
    scopeSchemaUrl: 'https://opentelemetry.io/schemas/1.27.0',
  });
  await h.exporter.consume([span], signal());

  const [row] = await h.rows(
    'SELECT *, toString(Timestamp) AS ts, toUnixTimestamp64Nano(Timestamp) AS ts_ns, ' +
      'arrayMap(t -> toUnixTimestamp64Nano(t), Events.Timestamp) AS event_ns FROM otel_traces',
  );
  expect(row).toEqual({
    Timestamp: '2023-11-14 22:13:20.123456789',
    ts: '2023-11-14 22:13:20.123456789',
    ts_ns: '1700000000123456789',
    TraceId: '5b8efff798038103d269b633813fc60c',
    SpanId: 'eee19b7ec3c1b174',
    ParentSpanId: 'eee19b7ec3c1b173',
    TraceState: 'vendor=1',
    SpanName: 'chat gpt-4o',
    SpanKind: 'Server',
    ServiceName: 'support-bot',
    ResourceAttributes: {
      'service.name': 'support-bot',
      'deployment.environment.name': 'staging',
      'tracehouse.workspace': 'acme',
    },
    ScopeName: 'openai-instrumentation',
    ScopeVersion: '1.2.3',
    SpanAttributes: {
      'gen_ai.operation.name': 'chat',
      'gen_ai.system': 'openai',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.response.model': 'gpt-4o-2024-08-06',
      'gen_ai.usage.input_tokens': '1234',
      'gen_ai.usage.output_tokens': '56',
      'gen_ai.input.messages': '[{"role":"user","content":"hi"}]',
      'gen_ai.completion': 'hello',
      'tracehouse.project': 'helpdesk',
      'tracehouse.cost_usd': '0.0125',
      'tracehouse.verdict': 'flagged',
      'big.int': '9007199254740993',
      flag: 'true',
      ratio: '0.5',
      raw: attributeToString(new Uint8Array([1, 2, 3])),
      list: '["a",1]',
      empty: '',
    },
    Duration: '1500000001',
    StatusCode: 'Error',
    StatusMessage: 'rate limited',
    'Events.Timestamp': ['2023-11-14 22:13:20.223456789', '2023-11-14 22:13:20.323456789'],
    event_ns: ['1700000000223456789', '1700000000323456789'],
    'Events.Name': ['gen_ai.choice', 'exception'],
    'Events.Attributes': [{ index: '0' }, {}],
    'Links.TraceId': ['0af7651916cd43dd8448eb211c80319c'],
    'Links.SpanId': ['b7ad6b7169203331'],
    'Links.TraceState': ['a=b'],
    'Links.Attributes': [{ 'link.kind': 'retry' }],
    ScopeAttributes: { 'scope.attr': 'x' },
    ResourceSchemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
    ScopeSchemaUrl: 'https://opentelemetry.io/schemas/1.27.0',
    TraceFlags: 1,
    DroppedAttributesCount: 2,
    DroppedEventsCount: 3,
    DroppedLinksCount: 4,
    Workspace: 'acme',
    Project: 'helpdesk',
    Environment: 'staging',
    GenAIOperation: 'chat',
    GenAIProvider: 'openai',
    GenAIRequestModel: 'gpt-4o',
    GenAIResponseModel: 'gpt-4o-2024-08-06',
    InputTokens: '1234',
    OutputTokens: '56',
    CostUsd: 0.0125,
    Verdict: 'flagged',
    Input: '[{"role":"user","content":"hi"}]',
    Output: 'hello',
  });

  const [lookup] = await h.rows('SELECT TraceId, toString(Start) AS s, toString(End) AS e FROM otel_traces_trace_id_ts');
  expect(lookup).toEqual({ TraceId: '5b8efff798038103d269b633813fc60c', s: '2023-11-14 22:13:20', e: '2023-11-14 22:13:20' });
});

test('values outside a column domain are clamped instead of failing the batch', async () => {
  const h = await startHarness('clamp');
  const span = makeSpan({
    traceId: 'c'.repeat(32),
    spanId: 'c'.repeat(16),
    name: 'odd',
    kind: 'unspecified',
    startTimeUnixNano: 20_000_000_000_000_000_000n,
    endTimeUnixNano: 5n,
    attributes: {
      'gen_ai.usage.input_tokens': -5n,
      'gen_ai.usage.output_tokens': 2n ** 70n,
      'tracehouse.cost_usd': Number.NaN,
      'gen_ai.provider.name': 'anthropic',
      'gen_ai.system': 'ignored',
      'lone': '\ud800 surrogate',
    },
  });
  await h.exporter.consume([span], signal());
  const [row] = await h.rows(
    "SELECT SpanKind, toUnixTimestamp64Nano(Timestamp) AS ns, Duration, InputTokens, OutputTokens, CostUsd, GenAIProvider, SpanAttributes['lone'] AS lone FROM otel_traces",
  );
  expect(row).toEqual({
    SpanKind: 'Unspecified',
    ns: '9223372036854775807',
    Duration: '0',
    InputTokens: '0',
    OutputTokens: '18446744073709551615',
    CostUsd: 0,
    GenAIProvider: 'anthropic',
    lone: '\ufffd surrogate',
  });
});

test('concurrent consume calls share inserts and resolve only once their rows are queryable', async () => {
  const h = await startHarness('batching', { max_spans: 1000, timeout_ms: 50 });
  const calls = Array.from({ length: 5 }, () => [genAiSpan(), genAiSpan(), genAiSpan()]);
  const seen: number[] = [];
  await Promise.all(
    calls.map(async (batch) => {
      await h.exporter.consume(batch, signal());
      const ids = batch.map((s) => `'${s.spanId}'`).join(',');
      seen.push(await h.count(`SpanId IN (${ids})`));
    }),
  );
  expect(seen).toEqual([3, 3, 3, 3, 3]);
  expect(await insertCount(h.telemetry)).toBeLessThan(5);
  expect(await h.count()).toBe(15);
});

test('a call larger than max_spans is split into several inserts and resolves after all of them', async () => {
  const h = await startHarness('split', { max_spans: 4, timeout_ms: 10 });
  await h.exporter.consume(Array.from({ length: 10 }, () => genAiSpan()), signal());
  expect(await h.count()).toBe(10);
  expect(await insertCount(h.telemetry)).toBe(3);
});

test('a replayed span is counted once through the query backend', async () => {
  const h = await startHarness('replay');
  const span = genAiSpan();
  await h.exporter.consume([span], signal());
  await h.exporter.consume([span], signal());
  await h.exporter.consume([{ ...span }, genAiSpan()], signal());
  expect(await h.count(`SpanId = '${span.spanId}'`)).toBe(1);
  expect(await h.count()).toBe(2);
});

test('the query backend honours a FORMAT clause, else the default format, and refuses writes', async () => {
  const h = await startHarness('query');
  await h.exporter.consume([genAiSpan()], signal());
  const backend = h.host.backend();
  const own = await backend.query({ sql: 'SELECT count() AS n FROM otel_traces FORMAT JSONEachRow;', defaultFormat: 'TabSeparated', limits: TEST_QUERY_LIMITS });
  expect(own).toEqual({ format: 'JSONEachRow', body: Buffer.from('{"n":1}\n') });
  const fallback = await backend.query({ sql: 'SELECT count() FROM otel_traces -- how many', defaultFormat: 'CSV', limits: TEST_QUERY_LIMITS });
  expect(fallback).toEqual({ format: 'CSV', body: Buffer.from('1\n') });
  // Only the store's own database: another exporter's (or any other) database is refused.
  await expect(
    backend.query({ sql: 'SELECT count() FROM otel_traces', defaultFormat: 'TSV', database: 'rows', limits: TEST_QUERY_LIMITS }),
  ).rejects.toThrow(/database rows is not allowed/);
  await expect(backend.query({ sql: 'DROP TABLE otel_traces', defaultFormat: 'TSV', limits: TEST_QUERY_LIMITS })).rejects.toThrow(/only one read statement/);
  await expect(backend.query({ sql: 'SELECT 1', defaultFormat: 'JSON; DROP', limits: TEST_QUERY_LIMITS })).rejects.toBeInstanceOf(PermanentError);
  expect(await h.count()).toBe(1);
});

test('a full queue refuses at once with EXP_QUEUE_FULL', async () => {
  const h = await startHarness('queue', { queue_max_spans: 5, timeout_ms: 60_000, max_spans: 100 });
  const first = h.exporter.consume([genAiSpan(), genAiSpan(), genAiSpan(), genAiSpan()], signal());
  const refused = await settle(h.exporter.consume([genAiSpan(), genAiSpan()], signal()));
  expect(refused.ok).toBe(false);
  const error = (refused as { error: unknown }).error;
  expect(error).toBeInstanceOf(BackpressureError);
  expect(error).toMatchObject({ code: 'EXP_QUEUE_FULL', retryAfterSeconds: 1 });
  // Still room for one more span; then shutdown flushes the pending batch (timeout_ms is a minute).
  const fits = h.exporter.consume([genAiSpan()], signal());
  await h.exporter.shutdown();
  await expect(first).resolves.toBeUndefined();
  await expect(fits).resolves.toBeUndefined();
});

test('shutdown flushes a pending batch, is safe twice, and then refuses new spans', async () => {
  const h = await startHarness('shutdown', { timeout_ms: 60_000 });
  const pending = h.exporter.consume([genAiSpan(), genAiSpan()], signal());
  await Promise.all([h.exporter.shutdown(), h.exporter.shutdown()]);
  await expect(pending).resolves.toBeUndefined();
  await expect(h.exporter.consume([genAiSpan()], signal())).rejects.toBeInstanceOf(ShuttingDownError);

  const reader = await startHarness('shutdown');
  expect(await reader.count()).toBe(2);
});

test('shutdown without start is a no-op, and start after shutdown opens nothing', async () => {
  const config = clickhouseExporterConfigSchema.parse({ path: dataPath, database: 'never' });
  const exporter = new ClickhouseExporter(config, {
    id: 'clickhouse/idle',
    logger: silentLogger(),
    telemetry: new Telemetry().forExporter('clickhouse/idle'),
  });
  await exporter.shutdown();
  await exporter.shutdown();
  const h = createHarness({ path: dataPath, database: 'never' });
  await h.exporter.shutdown();
  await h.exporter.start(h.host);
  expect(h.host.backends.size).toBe(0);
});

test('an aborted caller is released early while its spans are still written', async () => {
  const h = await startHarness('abort', { timeout_ms: 60_000 });
  const controller = new AbortController();
  const span = genAiSpan();
  const call = h.exporter.consume([span], controller.signal);
  controller.abort();
  await expect(call).rejects.toMatchObject({ code: 'EXP_ABORTED' });
  await expect(h.exporter.consume([genAiSpan()], controller.signal)).rejects.toMatchObject({ code: 'EXP_ABORTED' });
  await h.exporter.shutdown();
  const reader = await startHarness('abort');
  expect(await reader.count(`SpanId = '${span.spanId}'`)).toBe(1);
  expect(await reader.count()).toBe(1);
});

test('rows the engine rejects fail only their own caller, with a PermanentError', async () => {
  const h = await startHarness('rejected', { timeout_ms: 50 });
  // Narrow a column so that one caller's value is not parseable: a real engine-side data error.
  const connection = new EmbeddedConnection(dataPath, 30_000);
  await connection.command(
    "ALTER TABLE rejected.otel_traces MODIFY COLUMN Verdict Enum8('' = 0, 'pass' = 1, 'flagged' = 2, 'error' = 3)",
  );
  await connection.close();
  const good = genAiSpan({ attributes: { 'tracehouse.verdict': 'pass' } });
  const bad = genAiSpan({ attributes: { 'tracehouse.verdict': 'not-a-verdict' } });
  const [okCall, badCall] = await Promise.all([
    settle(h.exporter.consume([good], signal())),
    settle(h.exporter.consume([bad], signal())),
  ]);
  expect(okCall.ok).toBe(true);
  expect(badCall.ok).toBe(false);
  const error = (badCall as { error: unknown }).error;
  expect(error).toBeInstanceOf(PermanentError);
  expect(error).toMatchObject({ code: 'EXP_CLICKHOUSE_REJECTED' });
  expect(await h.count()).toBe(1);
});

test('two exporters on one path share the engine; another path is refused clearly', async () => {
  const a = await startHarness('shared_a');
  const b = await startHarness('shared_b');
  await Promise.all([a.exporter.consume([genAiSpan()], signal()), b.exporter.consume([genAiSpan()], signal())]);
  expect([await a.count(), await b.count()]).toEqual([1, 1]);

  const otherPath = tempDir('tracehouse-ch-other-');
  const elsewhere = createHarness({ path: otherPath });
  const failure = await settle(elsewhere.exporter.start(elsewhere.host));
  expect(failure.ok).toBe(false);
  expect((failure as { error: unknown }).error).toBeInstanceOf(TracehouseError);
  expect(String((failure as { error: Error }).error.message)).toMatch(/one data directory/);
  await elsewhere.exporter.shutdown();
  fs.rmSync(otherPath, { recursive: true, force: true });
});

test('offers its store to other components: tables beside the spans, rows in, deduplicated rows out', async () => {
  const harness = await startHarness('store_api');
  const store = harness.host.store();
  expect(store?.database).toBe('store_api');
  if (!store) throw new Error('no store registered');
  await store.command(
    'CREATE TABLE IF NOT EXISTS store_api.notes (id String, version UInt64, text String) ENGINE = ReplacingMergeTree(version) ORDER BY id',
  );
  await store.insertRows('notes', [
    { id: 'a', version: 1, text: 'first' },
    { id: 'b', version: 1, text: 'other' },
  ]);
  await store.insertRows('notes', [{ id: 'a', version: 2, text: 'updated' }]);
  await harness.exporter.consume([genAiSpan()], signal());
  expect(await store.selectRows('SELECT id, text FROM notes ORDER BY id')).toEqual([
    { id: 'a', text: 'updated' },
    { id: 'b', text: 'other' },
  ]);
  expect(await store.selectRows<{ n: string }>('SELECT toString(count()) AS n FROM otel_traces')).toEqual([{ n: '1' }]);
});

test('the embedded spans table gets its own settings (merge_selector_base, min_rows_for_wide_part), also when created before', async () => {
  const engineFull = async (): Promise<string> => {
    const connection = new EmbeddedConnection(dataPath, 30_000);
    try {
      return await connection.select("SELECT engine_full FROM system.tables WHERE database = 'merge_base' AND name = 'otel_traces'", 'TabSeparatedRaw');
    } finally {
      await connection.close();
    }
  };
  const first = createHarness({ path: dataPath, database: 'merge_base' });
  await first.exporter.start(first.host);
  await first.exporter.shutdown();
  expect(await engineFull()).toMatch(/\bmerge_selector_base = 10\b/);
  expect(await engineFull()).toMatch(/\bmin_rows_for_wide_part = 16384\b/);
  // A table from an earlier version has the engine's defaults; the next start sets them.
  const connection = new EmbeddedConnection(dataPath, 30_000);
  await connection.command('ALTER TABLE merge_base.otel_traces RESET SETTING merge_selector_base, min_rows_for_wide_part');
  await connection.close();
  expect(await engineFull()).not.toMatch(/merge_selector_base|min_rows_for_wide_part/);
  const second = createHarness({ path: dataPath, database: 'merge_base' });
  await second.exporter.start(second.host);
  await second.exporter.consume([genAiSpan()], signal());
  await second.exporter.shutdown();
  expect(await engineFull()).toMatch(/\bmerge_selector_base = 10\b/);
  expect(await engineFull()).toMatch(/\bmin_rows_for_wide_part = 16384\b/);
});

test('an insert of a few thousand large spans writes one Compact part, past the 10 MB that would make it Wide', async () => {
  const h = await startHarness('compact_parts');
  const spans = Array.from({ length: 2_000 }, (_, i) => ({ ...genAiSpan(), attributes: { ...genAiSpan().attributes, 'gen_ai.prompt': `${i} ${'long prompt text '.repeat(400)}` } }));
  await h.exporter.consume(spans, signal());
  const parts = await h.rows<{ part_type: string; rows: string; bytes: string }>(
    "SELECT part_type, toString(rows) AS rows, toString(data_uncompressed_bytes) AS bytes FROM system.parts WHERE database = 'compact_parts' AND table = 'otel_traces' AND active",
  );
  expect(parts).toHaveLength(1);
  expect(parts[0]).toMatchObject({ part_type: 'Compact', rows: '2000' });
  expect(Number(parts[0].bytes)).toBeGreaterThan(10 * 1024 * 1024);
});

test('an insert does not wait behind a statement running on the other writer connection', async () => {
  const h = await startHarness('second_writer');
  const connection = new EmbeddedConnection(dataPath, 30_000);
  try {
    const order: string[] = [];
    // chdb runs one statement at a time per connection: this holds the first writer for seconds.
    const slow = connection
      .select('SELECT sleepEachRow(1) FROM numbers(3) SETTINGS function_sleep_max_microseconds_per_block = 10000000', 'TSV')
      .then(() => order.push('slow statement'));
    await connection.insertSpanBlock('second_writer.otel_traces', [encodeNativeBlock([genAiSpan()])]).then(() => order.push('insert'));
    await slow;
    expect(order).toEqual(['insert', 'slow statement']);
    expect(await h.count()).toBe(1);
  } finally {
    await connection.close();
  }
});

test('the embedded spans table drops the attribute-value bloom filters by default; attribute_value_indexes: true brings them back', async () => {
  const indexes = async (): Promise<string[]> => {
    const connection = new EmbeddedConnection(dataPath, 30_000);
    try {
      const text = await connection.select("SELECT name FROM system.data_skipping_indices WHERE database = 'value_idx' AND table = 'otel_traces' ORDER BY name", 'TabSeparatedRaw');
      return text.split('\n').filter(Boolean);
    } finally {
      await connection.close();
    }
  };
  const collector = ['idx_duration', 'idx_lower_span_name', 'idx_res_attr_key', 'idx_res_attr_value', 'idx_span_attr_key', 'idx_span_attr_value', 'idx_trace_id'];
  const lean = await createHarnessStarted({ path: dataPath, database: 'value_idx' });
  await lean.exporter.consume([genAiSpan()], signal());
  await lean.exporter.shutdown();
  expect(await indexes()).toEqual(collector.filter((name) => !name.endsWith('_attr_value')));
  const full = await createHarnessStarted({ path: dataPath, database: 'value_idx', attribute_value_indexes: true });
  await full.exporter.consume([genAiSpan({ attributes: { 'user.id': 'u-42' } })], signal());
  expect(await indexes()).toEqual(collector);
  // The index serves a filter on a raw attribute value.
  expect(await full.count("SpanAttributes['user.id'] = 'u-42'")).toBe(1);
  await full.exporter.shutdown();
});

async function createHarnessStarted(config: Record<string, unknown>) {
  const h = createHarness(config);
  await h.exporter.start(h.host);
  return h;
}
