import type { IncomingHttpHeaders } from 'node:http';

/** Hop-by-hop headers (RFC 9110 7.6.1), never forwarded either way. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/** The gateway's own request headers: they never reach the provider. */
const GATEWAY_HEADERS = new Set(['x-api-key', 'x-task-id', 'x-conversation-id', 'x-user-id', 'x-route-id', 'idempotency-key']);

/** Set by the gateway itself, or meaningless upstream. */
const RECOMPUTED = new Set(['host', 'content-length', 'content-encoding', 'accept-encoding', 'authorization', 'cookie', 'forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-real-ip', 'origin', 'referer', 'expect']);

function connectionTokens(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>): Set<string> {
  const value = headers.connection;
  const text = Array.isArray(value) ? value.join(',') : (value ?? '');
  return new Set(
    text
      .split(',')
      .map((t) => t.trim().toLowerCase())
      .filter((t) => t !== ''),
  );
}

/**
 * The request headers for the provider: the client's (user-agent, content-type, accept,
 * OpenAI-Organization, OpenAI-Project, OpenAI-Beta, anthropic-version, anthropic-beta, SDK
 * headers, ...) without hop-by-hop headers, the gateway's own headers, and what the gateway sets
 * itself (authorization, host, length, encodings).
 */
export function upstreamRequestHeaders(incoming: IncomingHttpHeaders): Record<string, string> {
  const named = connectionTokens(incoming);
  const out: Record<string, string> = {};
  for (const name in incoming) {
    const value = incoming[name];
    if (value === undefined) continue;
    if (HOP_BY_HOP.has(name) || named.has(name) || GATEWAY_HEADERS.has(name) || RECOMPUTED.has(name)) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  // The body is read on the side: it must arrive as the provider wrote it, not compressed.
  out['accept-encoding'] = 'identity';
  return out;
}

/** Provider answer headers passed back verbatim (request ids, retry hints, processing time; rate limits by prefix). */
const PASSED_BACK = new Set(['content-type', 'x-request-id', 'request-id', 'retry-after', 'retry-after-ms', 'openai-processing-ms', 'openai-version', 'openai-model', 'anthropic-organization-id']);

/**
 * The answer headers for the client: only the provider headers that mean something to it, never
 * hop-by-hop headers, content-length or content-encoding (the body is streamed, and decoded when
 * the provider compressed it).
 */
export function clientResponseHeaders(upstream: Record<string, string | string[]>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in upstream) {
    const lower = name.toLowerCase();
    if (PASSED_BACK.has(lower) || lower.startsWith('x-ratelimit-') || lower.startsWith('anthropic-ratelimit-')) out[lower] = upstream[name];
  }
  return out;
}

/** Passthrough answers keep more of the provider's headers (still no hop-by-hop, length or encoding). */
export function passthroughResponseHeaders(upstream: Record<string, string | string[]>): Record<string, string | string[]> {
  const named = connectionTokens(upstream);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(upstream)) {
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || named.has(lower) || lower === 'content-length' || lower === 'content-encoding' || lower === 'set-cookie') continue;
    out[lower] = value;
  }
  return out;
}

export function firstHeader(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  const trimmed = v?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}
