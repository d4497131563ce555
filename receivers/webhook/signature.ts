import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { IngestError } from '../../core/ingest/problems';
import { signatureFor } from '../../core/outbound/signature';

export const TIMESTAMP_HEADER = 'x-aitracer-delivery-timestamp';
export const SIGNATURE_HEADER = 'x-aitracer-signature';

const SCHEME = 'v1';
const UNIX_SECONDS = /^\d{1,12}$/;
const SHA256_HEX = /^[0-9a-fA-F]{64}$/;
/** More candidates than any rotation needs; bounds the HMAC comparisons one request can cause. */
const MAX_SIGNATURES = 8;

export interface VerifiedDelivery {
  /**
   * Identifies the signed content (timestamp and body): its HMAC under the workspace's first
   * secret. Keyed on that rather than on the header as sent, a replay that presents the same
   * delivery with a subset of its signatures (e.g. only the one of an older secret) is caught too.
   */
  replayKey: string;
}

export interface SignatureCheck {
  secrets: readonly string[];
  toleranceSeconds: number;
  nowSeconds: number;
}

/**
 * Verifies `X-AITracer-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<raw body>">` (several
 * comma-separated values allowed, any may match) and the timestamp's freshness, throwing a 401
 * IngestError otherwise. The signature is checked before the timestamp, so only an authentic but
 * old delivery is told it is stale.
 */
export function verifySignature(headers: IncomingHttpHeaders, raw: Buffer, check: SignatureCheck): VerifiedDelivery {
  const timestamp = headerText(headers[TIMESTAMP_HEADER]);
  const signature = headerText(headers[SIGNATURE_HEADER]);
  if (timestamp === undefined || signature === undefined) {
    const missing = [timestamp === undefined ? 'X-AITracer-Delivery-Timestamp' : '', signature === undefined ? 'X-AITracer-Signature' : ''].filter(Boolean);
    throw new IngestError(401, 'RCV_SIGNATURE_MISSING', `this workspace requires signed deliveries: missing ${missing.join(' and ')}`);
  }
  if (!UNIX_SECONDS.test(timestamp)) {
    throw new IngestError(401, 'RCV_SIGNATURE_INVALID', 'X-AITracer-Delivery-Timestamp must be Unix seconds (digits only)');
  }
  const presented = parseSignatures(signature);
  // The same HMAC scheme Tracehouse signs its own outbound deliveries with.
  const expected = check.secrets.map((secret) => Buffer.from(signatureFor(secret, timestamp, raw), 'hex'));
  if (!matchesAny(expected, presented)) {
    throw new IngestError(401, 'RCV_SIGNATURE_INVALID', 'X-AITracer-Signature does not match the request body and timestamp for any signing secret of this workspace');
  }
  const skew = check.nowSeconds - Number(timestamp);
  if (Math.abs(skew) > check.toleranceSeconds) {
    const direction = skew > 0 ? `${Math.round(skew)} s old` : `${Math.round(-skew)} s in the future`;
    throw new IngestError(401, 'RCV_SIGNATURE_STALE', `X-AITracer-Delivery-Timestamp is ${direction}; at most ${check.toleranceSeconds} s either way is accepted`);
  }
  return { replayKey: expected[0].toString('hex') };
}

/** The v1 values of the header; other schemes are ignored, a malformed v1 value refuses the request. */
function parseSignatures(header: string): Buffer[] {
  const out: Buffer[] = [];
  for (const entry of header.split(',')) {
    const eq = entry.indexOf('=');
    if (eq === -1) continue;
    if (entry.slice(0, eq).trim() !== SCHEME) continue;
    const value = entry.slice(eq + 1).trim();
    if (!SHA256_HEX.test(value)) {
      throw new IngestError(401, 'RCV_SIGNATURE_INVALID', 'X-AITracer-Signature values must be v1=<64 hex digits of HMAC-SHA256>');
    }
    out.push(Buffer.from(value, 'hex'));
  }
  if (out.length === 0) throw new IngestError(401, 'RCV_SIGNATURE_INVALID', 'X-AITracer-Signature has no v1=<hex> value');
  if (out.length > MAX_SIGNATURES) throw new IngestError(401, 'RCV_SIGNATURE_INVALID', `X-AITracer-Signature has more than ${MAX_SIGNATURES} v1 values`);
  return out;
}

/**
 * Compares every expected value with every presented one in constant time and without an early
 * exit, so the time taken says nothing about which secret or how much of a value matched.
 */
function matchesAny(expected: readonly Buffer[], presented: readonly Buffer[]): boolean {
  let matched = 0;
  for (const want of expected) {
    for (const got of presented) matched |= got.length === want.length && timingSafeEqual(got, want) ? 1 : 0;
  }
  return matched === 1;
}

function headerText(value: string | string[] | undefined): string | undefined {
  const text = Array.isArray(value) ? value.join(',') : value;
  return text === undefined || text.trim() === '' ? undefined : text.trim();
}
