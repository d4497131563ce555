import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { BodyError, readBody } from '../../core/http-body';

/** A real loopback server that answers with what readBody made of the request. */
async function withServer(maxBytes: number, fn: (url: string) => Promise<void>): Promise<void> {
  const server = http.createServer((req, res) => {
    readBody(req, { maxBytes }).then(
      (body) => res.writeHead(200).end(`ok ${body.length}`),
      (err: BodyError) => res.writeHead(err.status).end(`${err.code} ${err.message}`),
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

describe('readBody', () => {
  it('reads plain and gzip bodies', async () => {
    await withServer(1000, async (url) => {
      const plain = await fetch(url, { method: 'POST', body: 'x'.repeat(500) });
      expect(await plain.text()).toBe('ok 500');
      const gz = await fetch(url, { method: 'POST', body: zlib.gzipSync('y'.repeat(900)), headers: { 'content-encoding': 'gzip' } });
      expect(await gz.text()).toBe('ok 900');
    });
  });

  it('refuses a body over the bound from Content-Length', async () => {
    await withServer(1000, async (url) => {
      const res = await fetch(url, { method: 'POST', body: 'x'.repeat(1001) });
      expect(res.status).toBe(413);
      expect(await res.text()).toMatch(/^RCV_TOO_LARGE request body exceeds max_request_body_bytes \(1000 bytes\)$/);
    });
  });

  it('refuses a gzip bomb on its decompressed size', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(50 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(100 * 1024);
    await withServer(1024 * 1024, async (url) => {
      const res = await fetch(url, { method: 'POST', body: bomb, headers: { 'content-encoding': 'gzip' } });
      expect(res.status).toBe(413);
      expect(await res.text()).toMatch(/RCV_TOO_LARGE .*after decompression/);
    });
  });

  // Fixtures made with the zstd CLI: a 917-byte text, and 64 MiB of zeros in 2 KB.
  const fixture = (name: string) => readFileSync(path.join(__dirname, 'fixtures', name));

  it('reads zstd bodies', async () => {
    await withServer(1000, async (url) => {
      const res = await fetch(url, { method: 'POST', body: fixture('hello-917b.zst'), headers: { 'content-encoding': 'zstd' } });
      expect(await res.text()).toBe('ok 917');
    });
  });

  it('refuses a zstd bomb on its decompressed size', async () => {
    await withServer(1024 * 1024, async (url) => {
      const res = await fetch(url, { method: 'POST', body: fixture('zeros-64mib.zst'), headers: { 'content-encoding': 'zstd' } });
      expect(res.status).toBe(413);
      expect(await res.text()).toMatch(/RCV_TOO_LARGE .*after decompression/);
      const corrupt = await fetch(url, { method: 'POST', body: Buffer.from('not zstd at all'), headers: { 'content-encoding': 'zstd' } });
      expect(corrupt.status).toBe(400);
      expect(await corrupt.text()).toMatch(/^RCV_BAD_ENCODING/);
    });
  });

  it('answers 400 for a corrupt gzip body and 415 for an unknown encoding', async () => {
    await withServer(1000, async (url) => {
      const corrupt = await fetch(url, { method: 'POST', body: 'not gzip', headers: { 'content-encoding': 'gzip' } });
      expect(corrupt.status).toBe(400);
      expect(await corrupt.text()).toMatch(/^RCV_BAD_ENCODING/);
      const unknown = await fetch(url, { method: 'POST', body: 'x', headers: { 'content-encoding': 'snappy' } });
      expect(unknown.status).toBe(415);
      expect(await unknown.text()).toMatch(/^RCV_UNSUPPORTED_ENCODING/);
    });
  });
});
