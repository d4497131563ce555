/**
 * HTTP calls to LLM providers: one undici Pool of keep-alive connections per upstream origin, with
 * explicit timeouts for connecting, for the response headers (long enough for non-streamed
 * reasoning calls, beyond Node's 300 s default), for the idle time between body chunks and for
 * the whole call. Aborting the caller's signal aborts the call at once, also while connecting or
 * waiting for headers.
 */
import type { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';

export interface UpstreamTimeouts {
  connectMs: number;
  responseHeadersMs: number;
  /** Longest silence between two body chunks. */
  idleMs: number;
  /** Whole call, from the request to the last body byte. */
  totalMs: number;
}

export interface PoolOptions {
  connections: number;
  keepAliveMs: number;
}

export interface UpstreamRequest {
  method: string;
  /** Path and query, appended to the upstream's base path. */
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  signal: AbortSignal;
}

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[]>;
  /** The body, decoded when the upstream compressed it (then `decoded` is true). */
  body: Readable;
  decoded: boolean;
  /** Ends the total-time watch; call when the body has been read or abandoned. */
  done(): void;
}

/** Why an upstream call failed before an answer arrived. */
export type UpstreamFailureKind = 'connect' | 'headers_timeout' | 'total_timeout' | 'aborted' | 'network';

export class UpstreamCallError extends Error {
  constructor(
    readonly kind: UpstreamFailureKind,
    message: string,
  ) {
    super(message);
  }
}

/** A body failure after the headers: idle timeout, total timeout, connection lost, or the client went away. */
export function bodyFailureKind(err: unknown): 'idle_timeout' | 'total_timeout' | 'aborted' | 'network' {
  const code = (err as { code?: string } | undefined)?.code;
  if (code === 'UND_ERR_BODY_TIMEOUT') return 'idle_timeout';
  if (err instanceof UpstreamCallError && err.kind === 'total_timeout') return 'total_timeout';
  if (code === 'UND_ERR_ABORTED' || (err as Error | undefined)?.name === 'AbortError') return 'aborted';
  return 'network';
}

export class UpstreamClient {
  private readonly pool: Pool;
  private readonly basePath: string;
  readonly origin: string;

  constructor(
    baseUrl: string,
    private readonly timeouts: UpstreamTimeouts,
    pool: PoolOptions,
  ) {
    const url = new URL(baseUrl);
    this.origin = url.origin;
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.pool = new Pool(url.origin, {
      connections: pool.connections,
      keepAliveTimeout: pool.keepAliveMs,
      keepAliveMaxTimeout: Math.max(pool.keepAliveMs, 1000),
      headersTimeout: timeouts.responseHeadersMs,
      bodyTimeout: timeouts.idleMs,
      connect: { timeout: timeouts.connectMs },
    });
  }

  /** Sends a request; rejects with an UpstreamCallError when no answer (status and headers) arrived. */
  async send(request: UpstreamRequest): Promise<UpstreamResponse> {
    const controller = new AbortController();
    let totalExpired = false;
    const onAbort = () => controller.abort(request.signal.reason);
    if (request.signal.aborted) onAbort();
    else request.signal.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => {
      totalExpired = true;
      controller.abort(new UpstreamCallError('total_timeout', `upstream call exceeded ${this.timeouts.totalMs} ms`));
    }, this.timeouts.totalMs);
    timer.unref?.();
    const done = () => {
      clearTimeout(timer);
      request.signal.removeEventListener('abort', onAbort);
    };
    let answer: Dispatcher.ResponseData;
    try {
      answer = await this.pool.request({
        method: request.method as Dispatcher.HttpMethod,
        path: this.basePath + request.path,
        headers: request.headers,
        body: request.body,
        signal: controller.signal,
        headersTimeout: this.timeouts.responseHeadersMs,
        bodyTimeout: this.timeouts.idleMs,
      });
    } catch (err) {
      done();
      throw asCallError(err, totalExpired, request.signal.aborted);
    }
    const encoding = String(answer.headers['content-encoding'] ?? '').trim().toLowerCase();
    const decoder = decoderFor(encoding);
    let body: Readable = answer.body;
    if (decoder) {
      answer.body.on('error', (err) => decoder.destroy(err));
      body = answer.body.pipe(decoder);
    }
    // Destroying an abandoned body (failover, client gone) emits an error nobody else awaits;
    // readers still see errors through their own listeners.
    body.on('error', () => undefined);
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(answer.headers)) if (value !== undefined) headers[name] = value;
    return { status: answer.statusCode, headers, body, decoded: decoder !== undefined, done };
  }

  close(): Promise<void> {
    return this.pool.destroy();
  }
}

function decoderFor(encoding: string): zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress | undefined {
  switch (encoding) {
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip();
    case 'deflate':
      return zlib.createInflate();
    case 'br':
      return zlib.createBrotliDecompress();
    default:
      return undefined;
  }
}

function asCallError(err: unknown, totalExpired: boolean, clientAborted: boolean): UpstreamCallError {
  if (err instanceof UpstreamCallError) return err;
  if (totalExpired) return new UpstreamCallError('total_timeout', 'upstream call exceeded its total timeout');
  if (clientAborted) return new UpstreamCallError('aborted', 'the client went away');
  const code = (err as { code?: string } | undefined)?.code ?? '';
  const message = (err as Error | undefined)?.message ?? String(err);
  if (code === 'UND_ERR_HEADERS_TIMEOUT') return new UpstreamCallError('headers_timeout', 'no response headers within the timeout');
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') {
    return new UpstreamCallError('connect', `cannot connect: ${code}`);
  }
  return new UpstreamCallError('network', `${code || 'error'}: ${message}`);
}
