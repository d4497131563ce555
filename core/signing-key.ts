import { hkdfSync, randomBytes } from 'node:crypto';

/**
 * The key that signs short-lived tokens for `purpose`: HKDF-SHA-256 of the operator's secrets key
 * (every daemon sharing it derives the same key), or a random key kept in `perStart` (one map per
 * running service, so such tokens die with it).
 */
export function signingKeyFor(secretsKey: string | undefined, purpose: string, perStart: Map<string, Buffer>): Buffer {
  if (secretsKey) return Buffer.from(hkdfSync('sha256', secretsKey, 'tracehouse-signing-key', `tracehouse:${purpose}`, 32));
  let key = perStart.get(purpose);
  if (!key) perStart.set(purpose, (key = randomBytes(32)));
  return key;
}
