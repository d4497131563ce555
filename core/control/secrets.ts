/**
 * Secrets inside control-plane objects (webhook URLs, SMTP passwords, provider keys, signing
 * secrets): encrypted at rest with AES-256-GCM under a key derived (HKDF-SHA-256) from the
 * operator's `service.control_plane.secrets_key`, and never answered whole (`mask`).
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const PREFIX = 'enc:v1:';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class SecretsKeyError extends Error {}

export class SecretBox {
  private readonly key: Buffer;

  constructor(secret: string) {
    if (secret.length < 16) throw new SecretsKeyError('service.control_plane.secrets_key must have at least 16 characters');
    this.key = Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.alloc(0), 'tracehouse control-plane secrets v1', 32));
  }

  seal(plain: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
  }

  /** The plaintext of a sealed value; throws SecretsKeyError when it was sealed under another key. */
  open(sealed: string): string {
    if (!isSealed(sealed)) return sealed;
    const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, IV_BYTES));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretsKeyError('a stored secret cannot be decrypted: service.control_plane.secrets_key is not the key it was stored with');
    }
  }
}

export function isSealed(value: string): boolean {
  return value.startsWith(PREFIX);
}

/** A secret as answers show it: its first three and last four characters ("sk-…abcd"), or "…" when short. */
export function mask(value: string): string {
  return value.length >= 12 ? `${value.slice(0, 3)}…${value.slice(-4)}` : '…';
}

/** A dotted path into a spec ("config.webhook_url"). */
export type SecretPath = readonly string[];

/** Applies `fn` to every string found at `paths` (missing paths are skipped); returns a copy. */
export function mapSecrets(spec: Record<string, unknown>, paths: readonly SecretPath[], fn: (value: string) => string): Record<string, unknown> {
  const out = structuredClone(spec);
  for (const path of paths) {
    let node: unknown = out;
    for (let i = 0; i < path.length - 1 && node !== undefined; i++) node = isRecord(node) ? node[path[i]] : undefined;
    const last = path[path.length - 1];
    if (isRecord(node) && typeof node[last] === 'string' && node[last] !== '') node[last] = fn(node[last] as string);
  }
  return out;
}

/** Whether any of `paths` holds a non-empty string. */
export function hasSecrets(spec: Record<string, unknown>, paths: readonly SecretPath[]): boolean {
  let found = false;
  mapSecrets(spec, paths, (v) => {
    found = true;
    return v;
  });
  return found;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
