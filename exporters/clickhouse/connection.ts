/**
 * The little the exporter needs from ClickHouse, implemented once over the embedded engine and once
 * over the HTTP interface, so schema, rows and batching are one code path for both.
 */

export interface ReadOptions {
  /** Output format, used unless the statement carries its own FORMAT clause. */
  format: string;
  /** Database for unqualified table names. */
  database: string;
  signal?: AbortSignal;
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

export interface ClickhouseConnection {
  readonly mode: 'embedded' | 'server';
  /** Runs a statement whose output is not needed (DDL, INSERT ... VALUES). */
  command(sql: string): Promise<void>;
  /** Runs an internal SELECT and returns its text in `format`. */
  select(sql: string, format: string): Promise<string>;
  /** Inserts a JSONEachRow body into a qualified table ("db.table"). */
  insertNdjson(table: string, body: Buffer): Promise<void>;
  /**
   * Runs one statement for an analyst: deduplicated (`final = 1`) and unable to write. `sql`
   * already ends in a FORMAT clause.
   */
  read(sql: string, options: ReadOptions): Promise<ReadResult>;
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
  691, // UNKNOWN_ELEMENT_OF_ENUM
]);

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
  return code !== undefined && DATA_ERROR_CODES.has(code);
}

/** Splits a statement's trailing `FORMAT name` off, so the format actually used is known. */
export function splitFormat(sql: string): { statement: string; format?: string } {
  const trimmed = sql.replace(/[\s;]+$/, '');
  const match = /\bFORMAT\s+([A-Za-z][A-Za-z0-9_]*)$/i.exec(trimmed);
  if (!match) return { statement: trimmed };
  return { statement: trimmed.slice(0, match.index).trimEnd(), format: match[1] };
}
