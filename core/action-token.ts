import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export const ACTION_TOKEN_HEADER = 'x-tracehouse-action-token';

/**
 * The operator-action token of an admin listener without `auth`: random per start, printed once in
 * the startup log, and required (as `Authorization: Bearer <token>` or `X-Tracehouse-Action-Token`)
 * on every `POST /actions/...`, so that nothing but the operator (who can read the log) can trigger
 * an action, even from a browser on the same machine.
 */
export class ActionToken {
  readonly value: string;
  private readonly digest: Buffer;

  constructor(value = randomBytes(24).toString('base64url')) {
    this.value = value;
    this.digest = digestOf(value);
  }

  /** Compared on SHA-256 digests in constant time, whatever the presented length. */
  matches(headers: IncomingHttpHeaders): boolean {
    const presented = presentedToken(headers);
    return presented !== undefined && timingSafeEqual(digestOf(presented), this.digest);
  }
}

function presentedToken(headers: IncomingHttpHeaders): string | undefined {
  const header = headers[ACTION_TOKEN_HEADER];
  const explicit = Array.isArray(header) ? header[0] : header;
  if (explicit !== undefined && explicit.trim() !== '') return explicit.trim();
  const bearer = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(headers.authorization ?? '');
  return bearer?.[1];
}

function digestOf(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
