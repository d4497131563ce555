const ISO_8601 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})$/i;

/**
 * Nanoseconds since the epoch of an ISO 8601 / RFC 3339 timestamp with a time zone, keeping every
 * fractional digit (Date keeps only milliseconds). Undefined when the text is not one.
 */
export function isoToNanos(text: string): bigint | undefined {
  return canonicalUtcToNanos(text) ?? anyIsoToNanos(text);
}

const DIGIT_0 = 48;
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The decimal value of text[from, to), or -1 when any of it is not a digit. */
function digits(text: string, from: number, to: number): number {
  let value = 0;
  for (let i = from; i < to; i++) {
    const d = text.charCodeAt(i) - DIGIT_0;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

/**
 * The form SDKs send (`2026-01-31T12:00:00.123456Z`: UTC, 0-9 fractional digits) read without a
 * regex or a Date string parse: about 10x cheaper, and spans carry two each. Anything else, or a
 * field out of its plain range, is left to the general parser, so the answers are the same.
 */
function canonicalUtcToNanos(text: string): bigint | undefined {
  const n = text.length;
  if (n < 20 || n > 30 || text.charCodeAt(n - 1) !== 90 /* Z */) return undefined;
  if (text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || text.charCodeAt(10) !== 84) return undefined;
  if (text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) return undefined;
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 7);
  const day = digits(text, 8, 10);
  const hour = digits(text, 11, 13);
  const minute = digits(text, 14, 16);
  const second = digits(text, 17, 19);
  // Date.UTC reads years 0-99 as 1900-1999: those go to the general parser.
  if (year < 100 || month < 1 || month > 12 || day < 1 || day > DAYS_IN_MONTH[month - 1] || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) {
    return undefined;
  }
  if (month === 2 && day === 29 && !(year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0))) return undefined;
  let nanos = 0;
  if (n > 20) {
    if (text.charCodeAt(19) !== 46 /* . */ || n === 21) return undefined;
    const fraction = digits(text, 20, n - 1);
    if (fraction < 0) return undefined;
    nanos = fraction * 10 ** (9 - (n - 21));
  }
  return BigInt(Date.UTC(year, month - 1, day, hour, minute, second)) * 1_000_000n + BigInt(nanos);
}

function anyIsoToNanos(text: string): bigint | undefined {
  const m = ISO_8601.exec(text.trim());
  if (!m) return undefined;
  const zone = m[3].toUpperCase() === 'Z' ? 'Z' : m[3].length === 5 ? `${m[3].slice(0, 3)}:${m[3].slice(3)}` : m[3];
  const seconds = Date.parse(`${m[1]}${zone}`);
  if (Number.isNaN(seconds)) return undefined;
  const fraction = (m[2] ?? '').padEnd(9, '0');
  return BigInt(seconds) * 1_000_000n + BigInt(fraction);
}

/** True when `text` is an ISO 8601 timestamp isoToNanos accepts (for validation schemas). */
export function isIsoTimestamp(text: string): boolean {
  return isoToNanos(text) !== undefined;
}

export function msToNanos(ms: number): bigint {
  return BigInt(Math.round(ms * 1_000_000));
}

export function nowNanos(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}
