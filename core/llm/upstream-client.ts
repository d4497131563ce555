/**
 * HTTP calls to LLM providers: one undici Pool of keep-alive connections per upstream origin, with
 * explicit timeouts for connecting, for the response headers (long enough for non-streamed
 * reasoning calls, beyond Node's 300 s default), for the idle time between body chunks and for
 * the whole call. Aborting the caller's signal aborts the call at once, also while connecting or
 * waiting for headers.
 */
import type { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { DecoratorHandler, Pool } from 'undici';
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
  /**
   * Path and query, appended to the upstream's base path; the base URL's own query parameters
   * (Azure's `?api-version=`) come first, the request's after them.
   */
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

/**
 * Why an upstream call failed before an answer arrived. `connect`: no connection, or the
 * connection was lost before the whole request was written (the provider cannot have run it);
 * `network`: the connection was lost after the request was written (it may be running).
 */
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

/** The option of a dispatch that wants to hear when its request was written out in full. */
const ON_WRITTEN = Symbol('onWritten');

/** Passes every event on, and tells `onWritten` when the whole request (headers and body) was written. */
class WrittenMark extends DecoratorHandler {
  constructor(
    handler: Dispatcher.DispatchHandlers,
    private readonly onWritten: () => void,
  ) {
    super(handler);
  }

  onRequestSent(): void {
    this.onWritten();
  }
}

export class UpstreamClient {
  private readonly pool: Pool;
  private readonly dispatcher: Dispatcher;
  private readonly basePath: string;
  /** The base URL's query string without its "?" ('' when none). */
  private readonly baseQuery: string;
  readonly origin: string;

  constructor(
    baseUrl: string,
    private readonly timeouts: UpstreamTimeouts,
    pool: PoolOptions,
  ) {
    const url = new URL(baseUrl);
    this.origin = url.origin;
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.baseQuery = url.search.slice(1);
    this.pool = new Pool(url.origin, {
      connections: pool.connections,
      keepAliveTimeout: pool.keepAliveMs,
      keepAliveMaxTimeout: Math.max(pool.keepAliveMs, 1000),
      headersTimeout: timeouts.responseHeadersMs,
      bodyTimeout: timeouts.idleMs,
      connect: { timeout: timeouts.connectMs },
    });
    this.dispatcher = this.pool.compose((dispatch) => (options, handler) => {
      const onWritten = (options as { [ON_WRITTEN]?: () => void })[ON_WRITTEN];
      return dispatch(options, onWritten ? (new WrittenMark(handler, onWritten) as unknown as Dispatcher.DispatchHandlers) : handler);
    });
  }

  /** The request target: base path, request path, then the base URL's query and the request's. */
  target(path: string): string {
    if (this.baseQuery === '') return this.basePath + path;
    const at = path.indexOf('?');
    if (at === -1) return `${this.basePath}${path}?${this.baseQuery}`;
    const rest = path.slice(at + 1);
    return `${this.basePath}${path.slice(0, at)}?${this.baseQuery}${rest === '' ? '' : `&${rest}`}`;
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
    let written = false;
    let answer: Dispatcher.ResponseData;
    try {
      const options: Dispatcher.RequestOptions & { [ON_WRITTEN]: () => void } = {
        [ON_WRITTEN]: () => (written = true),
        method: request.method as Dispatcher.HttpMethod,
        path: this.target(request.path),
        headers: request.headers,
        body: request.body,
        signal: controller.signal,
        headersTimeout: this.timeouts.responseHeadersMs,
        bodyTimeout: this.timeouts.idleMs,
      };
      answer = await this.dispatcher.request(options);
    } catch (err) {
      done();
      throw asCallError(err, totalExpired, request.signal.aborted, written);
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
    // undici parses the headers into a fresh object of present values: no copy needed.
    const headers = answer.headers as Record<string, string | string[]>;
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

function asCallError(err: unknown, totalExpired: boolean, clientAborted: boolean, written: boolean): UpstreamCallError {
  if (err instanceof UpstreamCallError) return err;
  if (totalExpired) return new UpstreamCallError('total_timeout', 'upstream call exceeded its total timeout');
  if (clientAborted) return new UpstreamCallError('aborted', 'the client went away');
  const code = (err as { code?: string } | undefined)?.code ?? '';
  const message = (err as Error | undefined)?.message ?? String(err);
  if (code === 'UND_ERR_HEADERS_TIMEOUT') return new UpstreamCallError('headers_timeout', 'no response headers within the timeout');
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') {
    return new UpstreamCallError('connect', `cannot connect: ${code}`);
  }
  // Lost before the request was out in full (a stale keep-alive socket, a reset while sending):
  // the provider never got a whole request, so it is a connection failure like any other.
  if (!written) return new UpstreamCallError('connect', `connection lost before the request was sent: ${code || 'error'}: ${message}`);
  return new UpstreamCallError('network', `connection lost after the request was sent: ${code || 'error'}: ${message}`);
}
