/**
 * DDL for the spans table and its trace-id lookup, kept as ordered migrations recorded in
 * `tracehouse_schema_migrations`. Every statement is also idempotent on its own (IF NOT EXISTS), so
 * a crash between a statement and its migration record, or two exporters migrating at once, is
 * harmless.
 */

import { RECORD_TIMES_TABLE, recordTimesTableDdl } from '../../core/ingest/record-times';

export const MIGRATIONS_TABLE = 'tracehouse_schema_migrations';

export interface SchemaOptions {
  database: string;
  table: string;
  ttlDays: number;
  clusterName?: string;
  /** fsync_after_insert and fsync_part_directory on the tables inserts write to. */
  fsyncAfterInsert?: boolean;
  /**
   * MergeTree settings of the spans table, set on tables created earlier too (EMBEDDED_SPANS_TABLE_SETTINGS:
   * the embedded engine shares two cores with the daemon; a server keeps its own defaults).
   */
  spansTableSettings?: Readonly<Record<string, number>>;
  /**
   * Keep the Collector's bloom-filter indexes on attribute values (idx_res_attr_value,
   * idx_span_attr_value). Built at insert for every value of every row, they were most of the
   * engine's insert cost on attribute-heavy spans (measured: 62 -> 29 µs per OpenLLMetry-style
   * row without them); they only speed up filters on raw attribute values.
   */
  attributeValueIndexes?: boolean;
}

/** The Collector's indexes on attribute values, as the spans table is created with them. */
export const ATTRIBUTE_VALUE_INDEXES: Readonly<Record<string, string>> = {
  idx_res_attr_value: 'mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1',
  idx_span_attr_value: 'mapValues(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1',
};

/** The names of the spans table's skip indexes. */
export function skipIndexesQuery(options: SchemaOptions): string {
  return `SELECT name FROM system.data_skipping_indices WHERE database = ${sqlString(options.database)} AND table = ${sqlString(options.table)}`;
}

/**
 * Adds or drops the attribute-value indexes to match attributeValueIndexes. Metadata only: an
 * added index covers new parts (`ALTER TABLE … MATERIALIZE INDEX` builds it for old ones), a
 * dropped one stops being built.
 */
export function attributeValueIndexStatements(options: SchemaOptions, present: ReadonlySet<string>): string[] {
  const wanted = options.attributeValueIndexes !== false;
  const statements: string[] = [];
  for (const [name, definition] of Object.entries(ATTRIBUTE_VALUE_INDEXES)) {
    if (wanted && !present.has(name)) statements.push(`ALTER TABLE ${qualified(options, options.table)}${onCluster(options)} ADD INDEX IF NOT EXISTS ${name} ${definition}`);
    if (!wanted && present.has(name)) statements.push(`ALTER TABLE ${qualified(options, options.table)}${onCluster(options)} DROP INDEX IF EXISTS ${name}`);
  }
  return statements;
}

/**
 * What the embedded engine sets on the spans table:
 * - merge_selector_base 10 (the engine's default is 5): merging small parts was a quarter of the
 *   CPU; with 10 the selector merges more parts at once, so each row is rewritten fewer times
 *   (measured: 18-23 -> 12-13 µs of merge CPU per row).
 * - min_rows_for_wide_part 16384 (default 0): an insert's part stays Compact (one data file) below
 *   that many rows even past min_bytes_for_wide_part's 10 MB, which inserts of a few thousand
 *   OpenLLMetry-style rows reach; a Wide part writes two files per column and substream. Measured
 *   (scratch inserts of 3,100 such rows): 16.0-16.5 -> 12.4-13.0 µs of engine CPU per row on tmpfs,
 *   21.7-24.5 -> 12.6-15.5 on this machine's ext4. Merged parts are Wide again.
 */
export const EMBEDDED_SPANS_TABLE_SETTINGS: Readonly<Record<string, number>> = { merge_selector_base: 10, min_rows_for_wide_part: 16384 };

/** Whether engine_full shows the table setting at this value, and the statement that sets it. */
export function tableSettingSet(engineFull: string, name: string, value: number): boolean {
  return new RegExp(`\\b${name} = ${value}\\b`).test(engineFull);
}

export function modifyTableSettingStatement(options: SchemaOptions, name: string, value: number): string {
  return `ALTER TABLE ${qualified(options, options.table)}${onCluster(options)} MODIFY SETTING ${name} = ${value}`;
}

export interface Migration {
  version: number;
  description: string;
  statements(options: SchemaOptions): string[];
}

/** Backtick-quotes an identifier; config validation already restricts names, this is belt and braces. */
export function ident(name: string): string {
  return '`' + name.replace(/\\/g, '\\\\').replace(/`/g, '\\`') + '`';
}

export function qualified(options: SchemaOptions, table: string): string {
  return `${ident(options.database)}.${ident(table)}`;
}

function onCluster(options: SchemaOptions): string {
  return options.clusterName ? ` ON CLUSTER ${ident(options.clusterName)}` : '';
}

/**
 * Replicated engines take the ZooKeeper path from the standard server macros, so the same DDL
 * works on every node of the cluster.
 */
function engine(options: SchemaOptions, base: 'MergeTree' | 'ReplacingMergeTree', args = ''): string {
  if (!options.clusterName) return `${base}(${args})`;
  const replicated = `'/clickhouse/tables/{shard}/{database}/{table}', '{replica}'`;
  return `Replicated${base}(${args ? `${replicated}, ${args}` : replicated})`;
}

/** The MergeTree settings that make an acknowledged insert durable on disk. */
export const FSYNC_SETTINGS = ['fsync_after_insert', 'fsync_part_directory'] as const;

function fsync(options: SchemaOptions): string {
  return options.fsyncAfterInsert ? FSYNC_SETTINGS.map((name) => `, ${name} = 1`).join('') : '';
}

function ttl(options: SchemaOptions, column: string): string {
  return options.ttlDays > 0 ? `\nTTL toDateTime(${column}) + toIntervalDay(${options.ttlDays})` : '';
}

export function createDatabaseStatement(options: SchemaOptions): string {
  return `CREATE DATABASE IF NOT EXISTS ${ident(options.database)}${onCluster(options)}`;
}

export function createMigrationsTableStatement(options: SchemaOptions): string {
  // Keyed by table so several exporters can keep different tables in one database.
  return `CREATE TABLE IF NOT EXISTS ${qualified(options, MIGRATIONS_TABLE)}${onCluster(options)} (
    table_name String,
    version UInt32,
    description String,
    applied_at DateTime64(3)
) ENGINE = ${engine(options, 'ReplacingMergeTree')}
ORDER BY (table_name, version)`;
}

// Column names, types and value formats are the OpenTelemetry Collector's otel_traces so Grafana's
// ClickHouse plugin and existing queries work; the columns after Links are Tracehouse's additions.
function spansTable(options: SchemaOptions): string {
  return `CREATE TABLE IF NOT EXISTS ${qualified(options, options.table)}${onCluster(options)} (
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    ParentSpanId String CODEC(ZSTD(1)),
    TraceState String CODEC(ZSTD(1)),
    SpanName LowCardinality(String) CODEC(ZSTD(1)),
    SpanKind LowCardinality(String) CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion String CODEC(ZSTD(1)),
    SpanAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    Duration UInt64 CODEC(T64, ZSTD(1)),
    StatusCode LowCardinality(String) CODEC(ZSTD(1)),
    StatusMessage String CODEC(ZSTD(1)),
    Events Nested (
        Timestamp DateTime64(9),
        Name LowCardinality(String),
        Attributes Map(LowCardinality(String), String)
    ) CODEC(ZSTD(1)),
    Links Nested (
        TraceId String,
        SpanId String,
        TraceState String,
        Attributes Map(LowCardinality(String), String)
    ) CODEC(ZSTD(1)),
    ScopeAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ResourceSchemaUrl LowCardinality(String) CODEC(ZSTD(1)),
    ScopeSchemaUrl LowCardinality(String) CODEC(ZSTD(1)),
    TraceFlags UInt32 CODEC(ZSTD(1)),
    DroppedAttributesCount UInt32 CODEC(ZSTD(1)),
    DroppedEventsCount UInt32 CODEC(ZSTD(1)),
    DroppedLinksCount UInt32 CODEC(ZSTD(1)),
    Workspace LowCardinality(String) CODEC(ZSTD(1)),
    Project LowCardinality(String) CODEC(ZSTD(1)),
    Environment LowCardinality(String) CODEC(ZSTD(1)),
    GenAIOperation LowCardinality(String) CODEC(ZSTD(1)),
    GenAIProvider LowCardinality(String) CODEC(ZSTD(1)),
    GenAIRequestModel LowCardinality(String) CODEC(ZSTD(1)),
    GenAIResponseModel LowCardinality(String) CODEC(ZSTD(1)),
    InputTokens UInt64 CODEC(T64, ZSTD(1)),
    OutputTokens UInt64 CODEC(T64, ZSTD(1)),
    CostUsd Float64 CODEC(ZSTD(1)),
    Verdict LowCardinality(String) CODEC(ZSTD(1)),
    Input String CODEC(ZSTD(3)),
    Output String CODEC(ZSTD(3)),
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value ${ATTRIBUTE_VALUE_INDEXES.idx_res_attr_value},
    INDEX idx_span_attr_key mapKeys(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_value ${ATTRIBUTE_VALUE_INDEXES.idx_span_attr_value},
    INDEX idx_duration Duration TYPE minmax GRANULARITY 1,
    INDEX idx_lower_span_name lower(SpanName) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8
) ENGINE = ${engine(options, 'ReplacingMergeTree')}
PARTITION BY toDate(Timestamp)
PRIMARY KEY (ServiceName, SpanName, toDateTime(Timestamp))
ORDER BY (ServiceName, SpanName, toDateTime(Timestamp), TraceId, SpanId)${ttl(options, 'Timestamp')}
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1${fsync(options)}`;
}

function traceIdTsTable(options: SchemaOptions): string {
  return `CREATE TABLE IF NOT EXISTS ${qualified(options, `${options.table}_trace_id_ts`)}${onCluster(options)} (
    TraceId String CODEC(ZSTD(1)),
    Start SimpleAggregateFunction(min, DateTime) CODEC(ZSTD(1)),
    End SimpleAggregateFunction(max, DateTime) CODEC(ZSTD(1))
) ENGINE = ${engine(options, 'MergeTree')}
PARTITION BY toStartOfWeek(Start)
ORDER BY (TraceId)${ttl(options, 'Start')}
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1${fsync(options)}`;
}

function traceIdTsView(options: SchemaOptions): string {
  return `CREATE MATERIALIZED VIEW IF NOT EXISTS ${qualified(options, `${options.table}_trace_id_ts_mv`)}${onCluster(options)}
TO ${qualified(options, `${options.table}_trace_id_ts`)}
AS SELECT
    TraceId,
    min(Timestamp) AS Start,
    max(Timestamp) AS End
FROM ${qualified(options, options.table)}
WHERE TraceId != ''
GROUP BY TraceId`;
}

/** Append-only: a released migration is never edited, a change is a new version. */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, description: 'create spans table', statements: (o) => [spansTable(o)] },
  { version: 2, description: 'create trace id lookup table', statements: (o) => [traceIdTsTable(o)] },
  { version: 3, description: 'create trace id lookup view', statements: (o) => [traceIdTsView(o)] },
  {
    version: 4,
    description: 'create record receive-time table',
    statements: (o) => [recordTimesTableDdl({ database: o.database, clusterName: o.clusterName, fsyncAfterInsert: o.fsyncAfterInsert })],
  },
];

/** The tables an insert writes parts to, whose fsync settings follow fsync_after_insert. */
export function insertedTables(options: SchemaOptions): string[] {
  return [options.table, `${options.table}_trace_id_ts`, RECORD_TIMES_TABLE];
}

/** The settings clause (engine_full) of those tables, to compare with fsync_after_insert. */
export function tableSettingsQuery(options: SchemaOptions): string {
  const names = insertedTables(options).map(sqlString).join(', ');
  return `SELECT name, engine_full FROM system.tables WHERE database = ${sqlString(options.database)} AND name IN (${names})`;
}

/** Whether a table's engine_full has every fsync setting on. */
export function fsyncEnabled(engineFull: string): boolean {
  return FSYNC_SETTINGS.every((name) => new RegExp(`\\b${name} = (1|true)\\b`, 'i').test(engineFull));
}

/** Whether a table's engine_full has any fsync setting on. */
export function fsyncMentioned(engineFull: string): boolean {
  return FSYNC_SETTINGS.some((name) => new RegExp(`\\b${name} = (1|true)\\b`, 'i').test(engineFull));
}

export function modifyFsyncStatement(options: SchemaOptions, table: string, on: boolean): string {
  const value = on ? 1 : 0;
  return `ALTER TABLE ${qualified(options, table)}${onCluster(options)} MODIFY SETTING ${FSYNC_SETTINGS.map((name) => `${name} = ${value}`).join(', ')}`;
}

export function appliedVersionsQuery(options: SchemaOptions): string {
  return `SELECT version FROM ${qualified(options, MIGRATIONS_TABLE)} FINAL WHERE table_name = ${sqlString(options.table)} ORDER BY version`;
}

export function recordMigrationStatement(options: SchemaOptions, migration: Migration): string {
  // now64() on the server: the daemon's clock and time zone never leak into the record.
  return `INSERT INTO ${qualified(options, MIGRATIONS_TABLE)} (table_name, version, description, applied_at) VALUES (${sqlString(options.table)}, ${migration.version}, ${sqlString(migration.description)}, now64(3))`;
}

export function sqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
