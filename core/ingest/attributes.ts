import type { AttributeValue, Attributes } from '../span';

/**
 * Adds a JSON value to `out` as attributes under `prefix`: objects become dotted keys (down to
 * `depth` levels, deeper ones JSON text), arrays of scalars stay arrays, other arrays become JSON
 * text, integers become int64 and other numbers doubles. Null and undefined are skipped.
 */
export function flattenJson(out: Attributes, prefix: string, value: unknown, depth = 4): void {
  if (value === null || value === undefined) return;
  if (typeof value === 'string' || typeof value === 'boolean') {
    out[prefix] = value;
  } else if (typeof value === 'number') {
    out[prefix] = jsonNumber(value);
  } else if (Array.isArray(value)) {
    out[prefix] = value.every(isScalar) ? value.map((v) => (typeof v === 'number' ? jsonNumber(v) : (v as AttributeValue))) : JSON.stringify(value);
  } else if (typeof value === 'object') {
    if (depth <= 0) {
      out[prefix] = JSON.stringify(value);
      return;
    }
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) flattenJson(out, prefix ? `${prefix}.${k}` : k, v, depth - 1);
  }
}

/** JSON text of any value, for attributes that keep a structured payload whole. */
export function jsonText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value) ?? '';
}

function isScalar(v: unknown): boolean {
  return typeof v === 'string' || typeof v === 'boolean' || typeof v === 'number';
}

function jsonNumber(n: number): AttributeValue {
  return Number.isSafeInteger(n) ? BigInt(n) : n;
}
