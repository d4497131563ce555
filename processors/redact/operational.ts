/**
 * Operational attributes: values the daemon itself writes or reads again later in the pipeline
 * (where to post a log's callback, which workspace a span belongs to, the verdict). Rewriting
 * them would break what depends on them (an IP literal or an e-mail in a callback URL masked
 * means the callback never fires), so they are redacted structurally instead of scanned as text.
 */

import { PIPELINE_KEYS } from '../../core/ingest/attributes';

/** Identifiers and markers the daemon sets or reads back: never scanned. */
const UNSCANNED: ReadonlySet<string> = new Set([
  ...PIPELINE_KEYS,
  'tracehouse.record_type',
  // The log's id: the callback payload carries it so that the client can match it to its log.
  'tracehouse.log_id',
  'tracehouse.callback.events',
]);

/** URLs the daemon calls: credentials (userinfo) are removed, everything else is kept as it is. */
const URLS: ReadonlySet<string> = new Set(['tracehouse.callback.url']);

/** no: an ordinary attribute (scanned); unscanned: kept as it is; url: userinfo removed. */
export type Operational = 'no' | 'unscanned' | 'url';

export function operationalKind(key: string): Operational {
  if (!key.startsWith('tracehouse.')) return 'no';
  if (UNSCANNED.has(key)) return 'unscanned';
  return URLS.has(key) ? 'url' : 'no';
}

/**
 * `url` without its userinfo (`user:password@`), still a URL that reaches the same host, port,
 * path and query; `url` itself when it has none; undefined when it is not an absolute URL.
 */
export function withoutUserinfo(url: string): string | undefined {
  if (!URL.canParse(url)) return undefined;
  const parsed = new URL(url);
  if (parsed.username === '' && parsed.password === '') return url;
  parsed.username = '';
  parsed.password = '';
  return parsed.href;
}
