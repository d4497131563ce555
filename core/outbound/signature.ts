import { createHmac } from 'node:crypto';

/** Headers of a signed outbound delivery (HTTP header names are case-insensitive). */
export const OUTBOUND_TIMESTAMP_HEADER = 'X-Tracehouse-Timestamp';
export const OUTBOUND_SIGNATURE_HEADER = 'X-Tracehouse-Signature';

/**
 * Hex HMAC-SHA256 of "<timestamp>.<body>" under `secret`: the one signing scheme Tracehouse uses,
 * both for what it sends (callbacks, webhook alerts: `v1=<hex>`) and for what the webhook
 * receiver verifies. Binding the timestamp into the MAC lets the receiver reject replays of old
 * deliveries.
 */
export function signatureFor(secret: string, timestamp: string | number, body: string | Uint8Array): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

/** The two headers that sign `body` at `nowSeconds` (Unix seconds). */
export function signatureHeaders(secret: string, body: string | Uint8Array, nowSeconds: number): Record<string, string> {
  const timestamp = String(Math.floor(nowSeconds));
  return {
    [OUTBOUND_TIMESTAMP_HEADER]: timestamp,
    [OUTBOUND_SIGNATURE_HEADER]: `v1=${signatureFor(secret, timestamp, body)}`,
  };
}
