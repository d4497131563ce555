import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';

/**
 * Listener auth with plain API keys. `none` must be said explicitly to run a non-loopback listener
 * without keys. Keys are usually given as ${env:NAME} and are never logged.
 */
export const authConfigSchema = z.union([
  z.literal('none'),
  z.strictObject({
    api_keys: z.array(z.string().min(16, 'API keys must be at least 16 characters')).min(1),
  }),
]);

export type AuthConfig = z.output<typeof authConfigSchema>;

/**
 * Receiver auth: plain API keys, `none`, or `workspaces` (the keys of the top-level `workspaces`
 * section, each of which names its workspace).
 */
export const receiverAuthConfigSchema = z.union([authConfigSchema, z.literal('workspaces')]);

export type ReceiverAuthConfig = z.output<typeof receiverAuthConfigSchema>;

/**
 * What a key may do: `ingest` (write spans and logs), `read` (read logs and stored data back),
 * `admin` (change the control plane, rotate keys). Keys configured without roles have all three.
 */
export const ROLES = ['ingest', 'read', 'admin'] as const;
export type Role = (typeof ROLES)[number];
export const ALL_ROLES: readonly Role[] = ROLES;

/** The outcome of checking the key a request presents. */
export type AuthResult =
  | {
      outcome: 'ok';
      /** The workspace the key belongs to; undefined for plain API keys and `auth: none`. */
      workspace: string | undefined;
      /** A non-secret name for the key (a digest prefix), used for rate-limit buckets and logs. */
      principal: string;
      /** What the key may do (all roles for plain API keys and `auth: none`). */
      roles: readonly Role[];
    }
  | { outcome: 'missing' | 'invalid' }
  /** A valid key that is not allowed on this receiver. */
  | { outcome: 'forbidden'; workspace: string };

export interface Authenticator {
  /** False when every request is accepted (`auth: none` or nothing configured). */
  readonly enabled: boolean;
  authenticate(headers: IncomingHttpHeaders): AuthResult;
}

export const ANONYMOUS = 'anonymous';

/** Checks the key a request presents against the configured plain keys. */
export class ApiKeyAuth implements Authenticator {
  private readonly keys: KeyDigests;

  constructor(config: AuthConfig | undefined) {
    this.keys = new KeyDigests(config === undefined || config === 'none' ? [] : config.api_keys.map(digestOf));
  }

  get enabled(): boolean {
    return this.keys.size > 0;
  }

  authenticate(headers: IncomingHttpHeaders): AuthResult {
    if (!this.enabled) return { outcome: 'ok', workspace: undefined, principal: ANONYMOUS, roles: ALL_ROLES };
    const presented = presentedKey(headers);
    if (presented === undefined) return { outcome: 'missing' };
    const match = this.keys.find(digestOf(presented));
    return match === -1 ? { outcome: 'invalid' } : { outcome: 'ok', workspace: undefined, principal: principalOf(this.keys.at(match)), roles: ALL_ROLES };
  }
}

/**
 * A list of SHA-256 key digests searched in constant time: every digest is compared, with
 * timingSafeEqual, whatever matches, so neither the key length nor which key matched leaks.
 */
export class KeyDigests {
  constructor(private readonly digests: readonly Buffer[]) {}

  get size(): number {
    return this.digests.length;
  }

  at(index: number): Buffer {
    return this.digests[index];
  }

  /** Index of the matching digest, or -1. */
  find(candidate: Buffer): number {
    let found = -1;
    for (let i = 0; i < this.digests.length; i++) {
      if (timingSafeEqual(this.digests[i], candidate) && found === -1) found = i;
    }
    return found;
  }
}

/**
 * The key as a client presents it: X-API-Key, a Bearer token, or, so that ClickHouse clients can
 * talk to the admin query endpoint, the password of Basic auth or X-ClickHouse-Key. When X-API-Key
 * is present it is the workspace key even beside an Authorization header: TraceLM-style clients
 * send `Authorization: Bearer sk-...` (their provider key) and `X-API-Key: <project key>` together.
 */
export function presentedKey(headers: IncomingHttpHeaders): string | undefined {
  const apiKey = firstHeader(headers['x-api-key']);
  if (apiKey !== undefined && apiKey.trim() !== '') return apiKey.trim();
  const auth = headers.authorization?.trim();
  if (auth) {
    const bearer = /^Bearer\s+(.+)$/i.exec(auth);
    if (bearer) return bearer[1].trim();
    const basic = /^Basic\s+(.+)$/i.exec(auth);
    if (basic) {
      const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      return colon === -1 ? undefined : decoded.slice(colon + 1);
    }
    return undefined;
  }
  return firstHeader(headers['x-clickhouse-key']);
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export function digestOf(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** A name for a key that reveals nothing usable: the first 12 hex digits of its SHA-256. */
export function principalOf(digest: Buffer): string {
  return `key:${digest.subarray(0, 6).toString('hex')}`;
}
