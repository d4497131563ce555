/**
 * SQL text for the projects and media routes: quoted literals and identifiers (values never reach
 * the engine unquoted), and the table logs live in.
 */
import type { TraceStore } from '../../core/component';

/** The spans table the clickhouse exporter writes (one span per log). */
export const SPANS_TABLE = 'otel_traces';

/** A ClickHouse string literal. */
export function sqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** A backtick-quoted identifier. */
export function sqlIdent(name: string): string {
  return '`' + name.replace(/\\/g, '\\\\').replace(/`/g, '\\`') + '`';
}

/** `db`.`table` in the store's database. */
export function tableOf(store: TraceStore, table: string): string {
  return `${sqlIdent(store.database)}.${sqlIdent(table)}`;
}

/** `(a, b, ...)` of string literals (callers pass at least one value). */
export function sqlStringList(values: readonly string[]): string {
  return `(${values.map(sqlString).join(', ')})`;
}
