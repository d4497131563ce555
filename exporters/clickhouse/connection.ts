/**
 * The little the exporter needs from ClickHouse, implemented once over the embedded engine and once
 * over the HTTP interface, so schema, rows and batching are one code path for both.
 */

import type { QueryLimits } from '../../core/component';
import type { SqlParser } from '../../core/clickhouse/query-guard';
import type { EngineFunction } from '../../core/clickhouse/query-policy';
import type { NativeBlock } from './native';

export interface ReadOptions {
  /** Output format, used unless the statement carries its own FORMAT clause. */
  format: string;
  /** Database for unqualified table names. */
  database: string;
  signal?: AbortSignal;
}

export interface AnalystReadOptions {
  /** Output format of the answer (the statement has no FORMAT clause). */
  format: string;
  /** Database for unqualified table names. */
  database: string;
  limits: QueryLimits;
}

/** What the engine knows about its functions, for the query guard's catalogue. */
export interface EngineCatalogue {
  functions: EngineFunction[];
  combinators: string[];
}

export const ENGINE_CATALOGUE_QUERIES = {
  functions: 'SELECT name, alias_to, case_insensitive, is_aggregate, categories, toString(origin) AS origin FROM system.functions',
  combinators: 'SELECT name FROM system.aggregate_function_combinators',
} as const;

/** The canonical one-line form of a statement, by the engine's own formatter (the text is a bound parameter). */
export const CANONICALIZE_QUERY = 'SELECT formatQuerySingleLine({q:String})';

/** Engine settings of every analyst statement: unable to change settings or write, and bounded. */
export function analystSettings(limits: QueryLimits): Record<string, number | string> {
  return {
    final: 1,
    max_execution_time: Math.max(1, Math.ceil(limits.timeoutMs / 1000)),
    timeout_overflow_mode: 'throw',
    max_memory_usage: limits.maxMemoryBytes,
    max_rows_to_read: limits.maxRowsToRead,
    read_overflow_mode: 'throw',
    max_result_bytes: limits.maxResultBytes,
    result_overflow_mode: 'throw',
    max_threads: limits.maxThreads,
  };
}

export interface ReadResult {
  body: Buffer;
  format: string;
}

/**
 * Settings for every span insert, measured with bench/clickhouse-insert.ts on the embedded engine:
 * about 30 % less CPU per row together. Deduplicating replays inside each insert block
 * (optimize_on_insert) is redundant, since merges and FINAL reads do it anyway; parallel parsing
 * costs more in thread hand-offs than it saves on blocks of a few thousand rows.
 */
export const INSERT_SETTINGS = { optimize_on_insert: 0, input_format_parallel_parsing: 0 } as const;

/** INSERT_SETTINGS as a SETTINGS clause, for inserts written as SQL. */
export const INSERT_SETTINGS_CLAUSE = `SETTINGS ${Object.entries(INSERT_SETTINGS).map(([k, v]) => `${k} = ${v}`).join(', ')}`;

export interface ClickhouseConnection {
  readonly mode: 'embedded' | 'server';
  /** Runs a statement whose output is not needed (DDL, INSERT ... VALUES). */
  command(sql: string): Promise<void>;
  /** Runs an internal SELECT and returns its text in `format`. */
  select(sql: string, format: string): Promise<string>;
  /** Inserts a JSONEachRow body into a qualified table ("db.table"). */
  insertNdjson(table: string, body: Buffer): Promise<void>;
  /** Inserts one Native block of spans (native.ts) into the spans table ("db.table"). */
  insertSpanBlock(table: string, block: NativeBlock): Promise<void>;
  /** Runs a component's own SELECT, deduplicated (`final = 1`); `sql` already ends in a FORMAT clause. */
  read(sql: string, options: ReadOptions): Promise<ReadResult>;
  /** The engine's parser for the query guard, on a connection that cannot change settings. */
  readonly parser: SqlParser;
  /** system.functions and the aggregate combinators, for the query guard. */
  catalogue(): Promise<EngineCatalogue>;
  /**
   * Runs one statement the query guard accepted, for an analyst: readonly = 1, deduplicated, within
   * `limits` enforced by the engine, on a connection no other caller or component uses.
   */
  analystRead(statement: string, options: AnalystReadOptions): Promise<ReadResult>;
  close(): Promise<void>;
}

/**
 * ClickHouse error codes caused by the inserted rows themselves: sending the same rows again fails
 * the same way. Everything else (network, memory, too many parts, auth, timeouts) may pass later.
 */
const DATA_ERROR_CODES = new Set([
  6, // CANNOT_PARSE_TEXT
  25, // CANNOT_PARSE_ESCAPE_SEQUENCE
  26, // CANNOT_PARSE_QUOTED_STRING
  27, // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  38, // CANNOT_PARSE_DATE
  41, // CANNOT_PARSE_DATETIME
  53, // TYPE_MISMATCH
  69, // ARGUMENT_OUT_OF_BOUND
  70, // CANNOT_CONVERT_TYPE
  72, // CANNOT_PARSE_NUMBER
  117, // INCORRECT_DATA
  131, // TOO_LARGE_STRING_SIZE
  321, // VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
  349, // CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
  407, // DECIMAL_OVERFLOW
  469, // VIOLATED_CONSTRAINT (a CHECK constraint an operator added to the table)
  691, // UNKNOWN_ELEMENT_OF_ENUM
]);

/**
 * TOO_MANY_PARTS (252) mostly means merges are behind, which passes. Its other meaning, more
 * partitions in one insert than max_partitions_per_insert_block, fails the same block every time:
 * the exporter keeps inserts under the default limit, so it only happens on a server configured
 * lower, and then only the callers whose rows span too many days must fail.
 */
const TOO_MANY_PARTITIONS = /too many partitions for single insert block/i;

/** The ClickHouse exception code carried by an error from chdb or @clickhouse/client, if any. */
export function clickhouseErrorCode(err: unknown): number | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const fields = err as { clickhouseCode?: unknown; code?: unknown; message?: unknown };
  if (typeof fields.clickhouseCode === 'number') return fields.clickhouseCode;
  // @clickhouse/client's ClickHouseError carries the numeric code as a string.
  if (typeof fields.code === 'string' && /^\d+$/.test(fields.code)) return Number(fields.code);
  if (typeof fields.message === 'string') {
    const match = /^Code: (\d+)\./.exec(fields.message);
    if (match) return Number(match[1]);
  }
  return undefined;
}

export function isDataError(err: unknown): boolean {
  const code = clickhouseErrorCode(err);
  if (code === 252) return TOO_MANY_PARTITIONS.test(messageOf(err));
  return code !== undefined && DATA_ERROR_CODES.has(code);
}

function messageOf(err: unknown): string {
  const message = err !== null && typeof err === 'object' ? (err as { message?: unknown }).message : undefined;
  return typeof message === 'string' ? message : '';
}
