import { isoToNanos } from '../../core/ingest/time';

/** RFC 3339 date-time: a "T" (or "t") separator and a Z or ±hh:mm offset are mandatory. */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * Unix nanoseconds of an RFC 3339 timestamp (up to nanosecond fractions), or undefined when the
 * text is not one. Calendar fields are checked because Date.parse rolls 2025-02-30 over to March.
 */
export function rfc3339Nanos(text: string): bigint | undefined {
  if (typeof text !== 'string') return undefined;
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  const offsetHours = m[7] === undefined ? 0 : Number(m[7]);
  const offsetMinutes = m[8] === undefined ? 0 : Number(m[8]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59 || offsetHours > 23 || offsetMinutes > 59) return undefined;
  return isoToNanos(text);
}

/** The RFC 3339 text (millisecond precision, UTC) of a time in Unix nanoseconds. */
export function nanosToRfc3339(nanos: bigint): string {
  return new Date(Number(nanos / 1_000_000n)).toISOString();
}
