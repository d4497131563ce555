/**
 * `GET /media/signed?key&expires&disposition&signature`: the signed URL GET /api/media/:key
 * redirects to. It needs no API key (the signature is the credential): an altered or expired URL
 * answers 403, a key whose log or file is gone 404. The file is streamed with the content type the
 * upload recorded, a Content-Disposition with a safe file name, and headers that keep a browser
 * from running it as a page of this origin.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Request, Response, Router } from 'express';
import { errorMessage } from '../../core/errors';
import { findAttachment } from './media-lookup';
import type { StoredAttachment } from './media-lookup';
import { parseMediaKey, safeFileName } from './media-key';
import type { Disposition, MediaSigner } from './media-signing';
import { SIGNED_MEDIA_PATH } from './media-api';
import type { ReadApiDeps } from './routes';

function refuse(res: Response, status: number, error: string): void {
  res.status(status).set('Cache-Control', 'no-store').type('application/json').send(JSON.stringify({ error }));
}

/** `inline; filename="report.pdf"; filename*=UTF-8''r%C3%A9port.pdf` */
export function contentDisposition(disposition: Disposition, name: string | undefined): string {
  const ascii = safeFileName(name);
  const utf8 = name ? encodeURIComponent(name.split(/[/\\]/).pop() ?? '').replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`) : '';
  return `${disposition}; filename="${ascii}"${utf8 && utf8 !== ascii ? `; filename*=UTF-8''${utf8}` : ''}`;
}

export function mountSignedMedia(router: Router, deps: ReadApiDeps, signer: MediaSigner): void {
  router.all(SIGNED_MEDIA_PATH, (req, res) => {
    void serve(req, res, deps, signer).catch((err: unknown) => {
      deps.logger.error({ err: errorMessage(err) }, 'serving a signed media URL failed');
      if (!res.headersSent) refuse(res, 500, 'internal error');
      else res.destroy();
    });
  });
}

async function serve(req: Request, res: Response, deps: ReadApiDeps, signer: MediaSigner): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.set('Allow', 'GET, HEAD');
    return refuse(res, 405, 'use GET');
  }
  const verdict = signer.verify(req.query as Record<string, unknown>);
  if (!verdict.ok) return refuse(res, 403, verdict.reason === 'expired' ? 'this media URL has expired' : 'invalid media URL signature');
  const key = parseMediaKey(verdict.key);
  const store = deps.host.store();
  if (!key || !store) return refuse(res, 404, 'media not found');
  const found = await findAttachment(store, key);
  const size = found ? await fileSize(deps.config.attachments_dir, found) : undefined;
  if (!found || size === undefined) return refuse(res, 404, 'media not found');
  res.status(200).set({
    'Content-Type': found.contentType,
    'Content-Length': String(size),
    'Content-Disposition': contentDisposition(verdict.disposition, found.name),
    'X-Content-Type-Options': 'nosniff',
    // Shown inline, an HTML or SVG upload must not run as a page of this origin.
    'Content-Security-Policy': "sandbox; default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'",
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': `private, max-age=${Math.max(0, verdict.expires - Math.floor(Date.now() / 1000))}`,
  });
  if (req.method === 'HEAD') return void res.end();
  const stream = createReadStream(fileOf(deps.config.attachments_dir, found));
  stream.on('error', (err) => {
    deps.logger.warn({ err: errorMessage(err) }, 'reading a media file failed mid-stream');
    res.destroy();
  });
  stream.pipe(res);
}

/** The file: attachments_dir and the recorded SHA-256 (64 hex digits), nothing else. */
function fileOf(dir: string, found: StoredAttachment): string {
  return path.join(dir, found.sha256);
}

async function fileSize(dir: string, found: StoredAttachment): Promise<number | undefined> {
  try {
    const info = await stat(fileOf(dir, found));
    return info.isFile() ? info.size : undefined;
  } catch {
    return undefined;
  }
}
