import {
  createDatabaseStatement,
  createMigrationsTableStatement,
  MIGRATIONS,
  modifyFsyncStatement,
  type SchemaOptions,
} from '../../../exporters/clickhouse/schema';

const clustered: SchemaOptions = { database: 'otel', table: 'otel_traces', ttlDays: 30, clusterName: 'prod' };
const replicated = `'/clickhouse/tables/{shard}/{database}/{table}', '{replica}'`;

function statementsOf(options: SchemaOptions): string[] {
  return MIGRATIONS.flatMap((migration) => migration.statements(options));
}

test('migrations are numbered 1..n in order', () => {
  expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
});

test('with cluster_name every statement runs ON CLUSTER with Replicated engines from the standard macros', () => {
  expect(createDatabaseStatement(clustered)).toBe('CREATE DATABASE IF NOT EXISTS `otel` ON CLUSTER `prod`');
  expect(createMigrationsTableStatement(clustered)).toContain(
    'CREATE TABLE IF NOT EXISTS `otel`.`tracehouse_schema_migrations` ON CLUSTER `prod` (',
  );
  expect(createMigrationsTableStatement(clustered)).toContain(`ENGINE = ReplicatedReplacingMergeTree(${replicated})`);

  const [spans, lookup, view] = statementsOf(clustered);
  expect(spans.split('\n')[0]).toBe('CREATE TABLE IF NOT EXISTS `otel`.`otel_traces` ON CLUSTER `prod` (');
  expect(spans).toContain(
    `) ENGINE = ReplicatedReplacingMergeTree(${replicated})
PARTITION BY toDate(Timestamp)
PRIMARY KEY (ServiceName, SpanName, toDateTime(Timestamp))
ORDER BY (ServiceName, SpanName, toDateTime(Timestamp), TraceId, SpanId)
TTL toDateTime(Timestamp) + toIntervalDay(30)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1`,
  );
  expect(lookup.split('\n')[0]).toBe('CREATE TABLE IF NOT EXISTS `otel`.`otel_traces_trace_id_ts` ON CLUSTER `prod` (');
  expect(lookup).toContain(`ENGINE = ReplicatedMergeTree(${replicated})`);
  expect(lookup).toContain('TTL toDateTime(Start) + toIntervalDay(30)');
  expect(view.split('\n').slice(0, 2)).toEqual([
    'CREATE MATERIALIZED VIEW IF NOT EXISTS `otel`.`otel_traces_trace_id_ts_mv` ON CLUSTER `prod`',
    'TO `otel`.`otel_traces_trace_id_ts`',
  ]);
  expect(view).toContain('FROM `otel`.`otel_traces`');
});

test('without cluster_name or TTL the DDL names neither', () => {
  const plain = statementsOf({ database: 'default', table: 'spans', ttlDays: 0 }).join('\n');
  expect(plain).not.toMatch(/ON CLUSTER|Replicated|TTL /);
  expect(plain).toContain('ENGINE = ReplacingMergeTree()');
  expect(plain).toContain('CREATE TABLE IF NOT EXISTS `default`.`spans_trace_id_ts`');
});

test('the record receive-time table follows cluster_name and fsync_after_insert like the spans tables', () => {
  const [, , , recordTimes] = statementsOf({ ...clustered, fsyncAfterInsert: true });
  expect(recordTimes.split('\n')[0]).toBe('CREATE TABLE IF NOT EXISTS `otel`.`tracehouse_record_times` ON CLUSTER `prod` (');
  expect(recordTimes).toContain(`ENGINE = ReplicatedAggregatingMergeTree(${replicated})`);
  expect(recordTimes).toContain('SETTINGS fsync_after_insert = 1, fsync_part_directory = 1');
  const [spans, lookup] = statementsOf({ ...clustered, fsyncAfterInsert: true });
  expect(spans).toContain('SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, fsync_after_insert = 1, fsync_part_directory = 1');
  expect(lookup).toContain('SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, fsync_after_insert = 1, fsync_part_directory = 1');
  expect(modifyFsyncStatement(clustered, 'otel_traces', true)).toBe(
    'ALTER TABLE `otel`.`otel_traces` ON CLUSTER `prod` MODIFY SETTING fsync_after_insert = 1, fsync_part_directory = 1',
  );
  expect(statementsOf({ database: 'default', table: 'spans', ttlDays: 0 }).join('\n')).not.toContain('fsync');
});
