import type { IncomingMessage } from 'node:http';
import zlib from 'node:zlib';
import { Decompress as ZstdDecompress } from 'fzstd';
import { TracehouseError } from './errors';

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

export interface ReadBodyOptions {
  /** Bound on the body as sent AND after decompression, so a gzip bomb is refused. */
  maxBytes: number;
}

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
  const raw = await collect(req, maxBytes);
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

function collect(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > maxBytes) {
        failed = true;
        // Keep draining (without storing) so the 413 can still be delivered on this connection.
        reject(tooLarge(maxBytes));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    });
    req.on('error', (err) => {
      if (!failed) reject(new BodyError('RCV_BODY_READ', `error reading request body: ${err.message}`, 400));
      failed = true;
    });
    req.on('aborted', () => {
      if (!failed) reject(new BodyError('RCV_BODY_READ', 'client aborted the request', 400));
      failed = true;
    });
  });
}

function tooLarge(maxBytes: number, suffix = ''): BodyError {
  return new BodyError('RCV_TOO_LARGE', `request body exceeds max_request_body_bytes (${maxBytes} bytes)${suffix}`, 413);
}
