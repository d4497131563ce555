import type { IncomingMessage } from 'node:http';
import zlib from 'node:zlib';
import { Decompress as ZstdDecompress } from 'fzstd';
import { TracehouseError } from './errors';
import type { BodyReservation } from './inflight-limiter';

/** Why a body could not be read; receivers map `status` straight onto their HTTP answer. */
export class BodyError extends TracehouseError {
  constructor(
    code: string,
    message: string,
    readonly status: number,
  ) {
    super(code, message);
  }
}

export interface ReadBodyOptions extends BodyTimeouts {
  /** Bound on the body as sent AND after decompression, so a gzip bomb is refused. */
  maxBytes: number;
  /**
   * The receiver's in-flight bound, grown as bytes arrive; when it is reached the read fails with
   * a 429 BodyError (RCV_OVERLOADED).
   */
  reservation?: BodyReservation;
}

/** How slowly a body may arrive (the `body_*` options of receivers). */
export interface BodyTimeouts {
  /** A body that sends no byte for this long is aborted with 408; 0 turns it off. */
  idleTimeoutMs?: number;
  /**
   * Least average rate over every idle-timeout window (10 s by default): a body trickling a byte
   * now and then is aborted with 408 as well; 0 turns it off.
   */
  minBytesPerSecond?: number;
}

export const DEFAULT_BODY_IDLE_TIMEOUT_MS = 10_000;
export const DEFAULT_BODY_MIN_BYTES_PER_SECOND = 1024;

/**
 * Reads a request body, decompressing gzip, zstd, deflate or br,
 * refusing anything over `maxBytes` as early as possible: from Content-Length before reading,
 * then while streaming, then while inflating.
 */
export async function readBody(req: IncomingMessage, options: ReadBodyOptions): Promise<Buffer> {
  const { maxBytes } = options;
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.resume();
    throw tooLarge(maxBytes);
  }
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  const inflater = createInflater(encoding, maxBytes);
  const raw = await collect(req, maxBytes, Number.isFinite(declared) && declared >= 0 ? declared : undefined, options);
  if (!inflater) return raw;
  try {
    return await inflater(raw);
  } catch (err) {
    if (err instanceof BodyError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      throw tooLarge(maxBytes, ' after decompression');
    }
    throw new BodyError('RCV_BAD_ENCODING', `cannot decompress ${encoding} body: ${(err as Error).message}`, 400);
  }
}

type Inflater = (raw: Buffer) => Promise<Buffer>;

function createInflater(encoding: string, maxBytes: number): Inflater | undefined {
  const opts = { maxOutputLength: maxBytes };
  const wrap =
    (fn: (buf: Buffer, o: zlib.ZlibOptions, cb: (e: Error | null, r: Buffer) => void) => void): Inflater =>
    (raw) =>
      new Promise((resolve, reject) => fn(raw, opts, (e, r) => (e ? reject(e) : resolve(r))));
  switch (encoding) {
    case 'identity':
    case '':
      return undefined;
    case 'gzip':
    case 'x-gzip':
      return wrap(zlib.gunzip);
    case 'deflate':
      return wrap(zlib.inflate);
    case 'br':
      return (raw) =>
        new Promise((resolve, reject) =>
          zlib.brotliDecompress(raw, { maxOutputLength: maxBytes }, (e, r) => (e ? reject(e) : resolve(r))),
        );
    case 'zstd':
      return async (raw) => inflateZstd(raw, maxBytes);
    default:
      throw new BodyError('RCV_UNSUPPORTED_ENCODING', `unsupported Content-Encoding "${encoding}" (supported: gzip, zstd, deflate, br, identity)`, 415);
  }
}

/**
 * Node 20's zlib has no zstd; fzstd decodes it in JS. Streaming, so the bound is enforced block by
 * block as output appears, before a bomb can fill memory.
 */
function inflateZstd(raw: Buffer, maxBytes: number): Buffer {
  const chunks: Buffer[] = [];
  let size = 0;
  const stream = new ZstdDecompress((data) => {
    size += data.length;
    if (size > maxBytes) throw tooLarge(maxBytes, ' after decompression');
    // The decoder reuses its window buffer: keep a copy.
    chunks.push(Buffer.from(data));
  });
  stream.push(raw, true);
  return Buffer.concat(chunks, size);
}

/**
 * Collects the raw body, growing the in-flight reservation chunk by chunk and aborting (408) a body
 * that goes idle or trickles below the minimum rate.
 */
function collect(req: IncomingMessage, maxBytes: number, declared: number | undefined, options: ReadBodyOptions): Promise<Buffer> {
  const idleMs = options.idleTimeoutMs ?? DEFAULT_BODY_IDLE_TIMEOUT_MS;
  const minRate = options.minBytesPerSecond ?? DEFAULT_BODY_MIN_BYTES_PER_SECOND;
  const windowMs = idleMs > 0 ? idleMs : DEFAULT_BODY_IDLE_TIMEOUT_MS;
  const { reservation } = options;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    let lastByteAt = Date.now();
    let windowStart = lastByteAt;
    let windowBytes = 0;
    let idleTimer: NodeJS.Timeout | undefined;
    const fail = (err: BodyError) => {
      if (failed) return;
      failed = true;
      clearTimeout(idleTimer);
      // Nothing more is stored; the caller answers and closes the connection.
      chunks.length = 0;
      reject(err);
    };
    const onIdle = () => {
      // Decide after the poll phase: bytes that arrived while the event loop was busy count.
      setImmediate(() => {
        if (failed) return;
        const quiet = Date.now() - lastByteAt;
        if (quiet >= idleMs) return fail(new BodyError('RCV_BODY_TIMEOUT', `no request body byte received for ${Math.round(quiet / 1000)} s (body_idle_timeout_ms ${idleMs})`, 408));
        idleTimer = setTimeout(onIdle, idleMs - quiet);
      });
    };
    if (idleMs > 0) idleTimer = setTimeout(onIdle, idleMs);
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > maxBytes) {
        // Keep draining (without storing) so the 413 can still be delivered on this connection.
        return fail(tooLarge(maxBytes));
      }
      if (reservation && !reservation.grow(chunk.length, declared !== undefined && size >= declared)) {
        return fail(new BodyError('RCV_OVERLOADED', 'receiver is at max_inflight_bytes while reading the request body; retry later', 429));
      }
      const now = Date.now();
      lastByteAt = now;
      windowBytes += chunk.length;
      if (minRate > 0 && now - windowStart >= windowMs) {
        const needed = (minRate * (now - windowStart)) / 1000;
        if (windowBytes < needed) {
          return fail(new BodyError('RCV_BODY_TIMEOUT', `request body arrives slower than body_min_bytes_per_second (${minRate})`, 408));
        }
        windowStart = now;
        windowBytes = 0;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (failed) return;
      clearTimeout(idleTimer);
      reservation?.complete();
      failed = true;
      resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    });
    req.on('error', (err) => fail(new BodyError('RCV_BODY_READ', `error reading request body: ${err.message}`, 400)));
    req.on('aborted', () => fail(new BodyError('RCV_BODY_READ', 'client aborted the request', 400)));
    // Without 'end' first, the connection went away mid-body.
    // (Every request closes: the error, with its stack, is built only when the body did not end.)
    req.on('close', () => {
      if (!failed) fail(new BodyError('RCV_BODY_READ', 'the connection closed before the request body ended', 400));
    });
  });
}

/**
 * Prepares a receiver's answer to a BodyError: sets `Connection: close` and `Retry-After` on `res`
 * where they belong, counts an in-flight refusal, and returns the outcome to count the request under.
 */
export function prepareBodyErrorAnswer(
  res: { set(name: string, value: string): unknown },
  err: BodyError,
  telemetry: { refused(spans: number, reason: string): void },
): string {
  const answer = bodyErrorAnswer(err);
  if (answer.closeConnection) res.set('Connection', 'close');
  if (answer.retryAfterSeconds !== undefined) {
    res.set('Retry-After', String(answer.retryAfterSeconds));
    telemetry.refused(0, 'inflight_limit');
  }
  return answer.outcome;
}

/** How a receiver answers a BodyError besides its status: the outcome it counts, and what the answer carries. */
function bodyErrorAnswer(err: BodyError): { outcome: string; closeConnection: boolean; retryAfterSeconds?: number } {
  switch (err.code) {
    case 'RCV_TOO_LARGE':
      return { outcome: 'too_large', closeConnection: false };
    case 'RCV_BODY_TIMEOUT':
      // The rest of a stalled body is not waited for: the connection is closed after the answer.
      return { outcome: 'body_timeout', closeConnection: true };
    case 'RCV_OVERLOADED':
      return { outcome: 'inflight_limit', closeConnection: true, retryAfterSeconds: 1 };
    default:
      return { outcome: 'bad_body', closeConnection: false };
  }
}

function tooLarge(maxBytes: number, suffix = ''): BodyError {
  return new BodyError('RCV_TOO_LARGE', `request body exceeds max_request_body_bytes (${maxBytes} bytes)${suffix}`, 413);
}
