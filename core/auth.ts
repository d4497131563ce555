import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';

/**
 * Listener auth. `none` must be said explicitly to run a non-loopback listener without keys.
 * Keys are usually given as ${env:NAME} and are never logged.
 */
export const authConfigSchema = z.union([
  z.literal('none'),
  z.strictObject({
    api_keys: z.array(z.string().min(16, 'API keys must be at least 16 characters')).min(1),
  }),
]);

export type AuthConfig = z.output<typeof authConfigSchema>;

export type AuthOutcome = 'ok' | 'missing' | 'invalid';

/** Checks the key a request presents against the configured keys. */
export class ApiKeyAuth {
  private readonly digests: Buffer[];

  constructor(config: AuthConfig | undefined) {
    this.digests =
      config === undefined || config === 'none' ? [] : config.api_keys.map((k) => digest(k));
  }

  get enabled(): boolean {
    return this.digests.length > 0;
  }

  check(headers: IncomingHttpHeaders): AuthOutcome {
    if (!this.enabled) return 'ok';
    const presented = presentedKey(headers);
    if (presented === undefined) return 'missing';
    // Comparing fixed-size digests in constant time, against every key, so neither the key length
    // nor which key matched leaks through timing.
    const candidate = digest(presented);
    let match = false;
    for (const d of this.digests) match = timingSafeEqual(d, candidate) || match;
    return match ? 'ok' : 'invalid';
  }
}

/**
 * The key as a client presents it: a Bearer token, X-API-Key, or, so that ClickHouse clients can
 * talk to the admin query endpoint, the password of Basic auth or X-ClickHouse-Key.
 */
function presentedKey(headers: IncomingHttpHeaders): string | undefined {
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
  return firstHeader(headers['x-api-key']) ?? firstHeader(headers['x-clickhouse-key']);
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function digest(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}
