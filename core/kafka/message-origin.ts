/**
 * How a store tier tells a Tracehouse ingest tier's Kafka messages (whose `tracehouse.*` attributes
 * the daemon set) from anything else on the topic, such as an OpenTelemetry Collector forwarding
 * applications' spans. The kafka exporter marks every message; with a shared `signing_key` it also
 * signs the value (HMAC-SHA256), and the receiver then trusts only messages whose signature checks.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IHeaders } from 'kafkajs';

export const ORIGIN_HEADER = 'tracehouse-origin';
export const SIGNATURE_HEADER = 'tracehouse-signature';
const ORIGIN_VALUE = 'tracehouse';
const SIGNATURE_PREFIX = 'v1=';

/** The headers the kafka exporter adds to a message with this value. */
export function originHeaders(value: Buffer, signingKey: string | undefined): Record<string, string> {
  const headers: Record<string, string> = { [ORIGIN_HEADER]: ORIGIN_VALUE };
  if (signingKey) headers[SIGNATURE_HEADER] = SIGNATURE_PREFIX + signature(signingKey, value);
  return headers;
}

/** Bytes originHeaders adds to a record (names, values, their length varints). */
export const ORIGIN_HEADER_BYTES = 128;

/**
 * Whether a message comes from a Tracehouse ingest tier: with a signing key, its signature must
 * check (compared in constant time); without one, the exporter's origin mark is enough.
 */
export function fromTracehouse(value: Buffer, headers: IHeaders | undefined, signingKey: string | undefined): boolean {
  if (signingKey) {
    const presented = headerText(headers?.[SIGNATURE_HEADER]);
    if (presented === undefined || !presented.startsWith(SIGNATURE_PREFIX)) return false;
    const expected = Buffer.from(signature(signingKey, value));
    const given = Buffer.from(presented.slice(SIGNATURE_PREFIX.length));
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
  return headerText(headers?.[ORIGIN_HEADER]) === ORIGIN_VALUE;
}

function signature(key: string, value: Buffer): string {
  return createHmac('sha256', key).update(value).digest('hex');
}

function headerText(value: IHeaders[string]): string | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return value.length === 1 ? headerText(value[0]) : undefined;
  return Buffer.isBuffer(value) ? value.toString('latin1') : String(value);
}
