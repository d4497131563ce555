const ISO_8601 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})$/i;

/**
 * Nanoseconds since the epoch of an ISO 8601 / RFC 3339 timestamp with a time zone, keeping every
 * fractional digit (Date keeps only milliseconds). Undefined when the text is not one.
 */
export function isoToNanos(text: string): bigint | undefined {
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
