/**
 * Signed media URLs: HMAC-SHA-256 over the media key, the expiry (Unix seconds) and the
 * disposition, with the host's signing key for this purpose (derived from
 * service.control_plane.secrets_key, random per start without one). The signature is the only
 * credential of the URL; it is compared in constant time, before the expiry is looked at.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Host } from '../../core/component';

export type Disposition = 'inline' | 'attachment';

export interface SignedParams {
  key: string;
  expires: number;
  disposition: Disposition;
  signature: string;
}

export type Verdict = { ok: true; key: string; disposition: Disposition; expires: number } | { ok: false; reason: 'malformed' | 'bad_signature' | 'expired' };

export const MEDIA_SIGNING_PURPOSE = 'read_api/media-url';

export class MediaSigner {
  constructor(
    private readonly secret: Buffer,
    private readonly ttlSeconds: number,
    private readonly now: () => number = Date.now,
  ) {}

  sign(key: string, disposition: Disposition): SignedParams {
    const expires = Math.floor(this.now() / 1000) + this.ttlSeconds;
    return { key, expires, disposition, signature: this.mac(key, expires, disposition).toString('base64url') };
  }

  /** Checks a URL's query values as received (anything not a string is malformed). */
  verify(query: Record<string, unknown>): Verdict {
    const { key, expires, disposition, signature } = query;
    if (typeof key !== 'string' || key.length === 0 || key.length > 2048) return { ok: false, reason: 'malformed' };
    if (typeof expires !== 'string' || !/^\d{1,12}$/.test(expires)) return { ok: false, reason: 'malformed' };
    if (disposition !== 'inline' && disposition !== 'attachment') return { ok: false, reason: 'malformed' };
    if (typeof signature !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(signature)) return { ok: false, reason: 'malformed' };
    const expected = this.mac(key, Number(expires), disposition);
    const presented = Buffer.from(signature, 'base64url');
    if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) return { ok: false, reason: 'bad_signature' };
    if (this.now() >= Number(expires) * 1000) return { ok: false, reason: 'expired' };
    return { ok: true, key, disposition, expires: Number(expires) };
  }

  private mac(key: string, expires: number, disposition: Disposition): Buffer {
    return createHmac('sha256', this.secret).update(`tracehouse-media-v1\n${key}\n${expires}\n${disposition}`, 'utf8').digest();
  }
}

const fallbackKeys = new WeakMap<Host, Buffer>();

/** The signer every media route of this host uses (the same key for signing and checking). */
export function mediaSignerFor(host: Host, ttlSeconds: number): MediaSigner {
  let secret = host.signingKey?.(MEDIA_SIGNING_PURPOSE) ?? fallbackKeys.get(host);
  if (!secret) fallbackKeys.set(host, (secret = randomBytes(32)));
  return new MediaSigner(secret, ttlSeconds);
}

/** The query string of a signed URL. */
export function signedQuery(params: SignedParams): string {
  return new URLSearchParams({ key: params.key, expires: String(params.expires), disposition: params.disposition, signature: params.signature }).toString();
}
