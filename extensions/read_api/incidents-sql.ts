/**
 * SQL pieces of the incidents routes. TraceStore.selectRows takes no bound parameters, so every
 * value a request brings is a quoted literal made here (strings escaped, numbers checked whole),
 * and every identifier is backtick-quoted.
 */

export function ident(name: string): string {
  return `\`${name.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``;
}

/** `database`.`table`. */
export function tableOf(database: string, table: string): string {
  return `${ident(database)}.${ident(table)}`;
}

/** A ClickHouse string literal: backslash and quote escaped, so any text stays one value. */
export function str(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** ('a', 'b'): a list of string literals (never empty: ('') matches nothing useful but parses). */
export function strList(values: readonly string[]): string {
  return `(${values.length === 0 ? "''" : values.map(str).join(', ')})`;
}

/** A DateTime64(3) literal from Unix milliseconds (checked whole, so nothing else reaches the SQL). */
export function msTime(ms: number): string {
  if (!Number.isSafeInteger(ms)) throw new RangeError(`not a whole number of milliseconds: ${ms}`);
  return `fromUnixTimestamp64Milli(toInt64(${ms}))`;
}

/** ISO 8601 of a stored millisecond value (JSON may answer 64-bit numbers as strings). */
export function isoOf(ms: number | string | null | undefined): string | null {
  if (ms === null || ms === undefined || ms === '') return null;
  return new Date(Number(ms)).toISOString();
}
