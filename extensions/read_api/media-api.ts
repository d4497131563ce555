/**
 * `GET /api/media/:key` (key: `<workspaceId>/<logId>/<index>-<file>`; `?download=1` for an
 * attachment disposition): a key of the caller's workspace naming a stored attachment answers 302
 * to a short-lived signed URL on the same listener (media-file-route.ts). Any other key answers
 * 404, the same whether or not it exists elsewhere; a malformed key (traversal attempts) 400.
 */
import type { ApiRoute } from '../../core/http-api';
import { notFound } from '../../core/http-api';
import { IngestError } from '../../core/ingest/problems';
import { findAttachment } from './media-lookup';
import { formatMediaKey, parseMediaKey } from './media-key';
import { mediaSignerFor, signedQuery } from './media-signing';
import { storeOf } from './projects-store';
import type { ReadApiDeps } from './routes';

const PREFIX = '/api/media/';
export const SIGNED_MEDIA_PATH = '/media/signed';
export const MEDIA_PATHS = ['/api/media/*key'] as const;

export function mediaRoutes(deps: ReadApiDeps): ApiRoute[] {
  const signer = mediaSignerFor(deps.host, deps.config.media_url_ttl_seconds);
  return [
    {
      method: 'GET',
      path: '/api/media/*key',
      role: 'read',
      handle: async ({ workspace, path, query }) => {
        const download = query.download;
        if (download !== undefined && download !== '1' && download !== '0') {
          throw new IngestError(422, 'API_VALIDATION', 'invalid query: download: must be 1 (or 0)', [{ path: ['download'], message: 'must be 1 (or 0)', code: 'invalid_value' }]);
        }
        // The path as sent (still percent-encoded): an encoded "/" stays inside its part.
        const key = path.startsWith(PREFIX) ? parseMediaKey(path.slice(PREFIX.length)) : undefined;
        if (!key) throw new IngestError(400, 'API_BAD_MEDIA_KEY', 'invalid media key: expected <workspaceId>/<logId>/<index>-<file>');
        const missing = notFound('media');
        if (key.workspace !== workspace) throw missing;
        const found = await findAttachment(storeOf(deps), key);
        if (!found) throw missing;
        const signed = signer.sign(formatMediaKey(key), download === '1' ? 'attachment' : 'inline');
        return { status: 302, headers: { Location: `${SIGNED_MEDIA_PATH}?${signedQuery(signed)}`, 'Cache-Control': 'no-store' } };
      },
    },
  ];
}
