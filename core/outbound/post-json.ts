import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { addressAllowed, classifyAddress } from './address-policy';
import { guardedLookup } from './guarded-lookup';
import { OutboundError, retryableStatus } from './outbound-error';
import { parseRetryAfter } from './retry-after';
import { signatureHeaders } from './signature';

export { OutboundError } from './outbound-error';
export type { OutboundErrorCode } from './outbound-error';

export interface PostJsonOptions {
  headers?: Record<string, string>;
  /** Signs the body (X-Tracehouse-Timestamp, X-Tracehouse-Signature: v1=<hex>). */
  signingSecret?: string;
  allowPrivateAddresses: boolean;
  /** Deadline for connecting, sending and receiving the response headers. */
  timeoutMs: number;
  /** Aborts the attempt (shutdown); the call then rejects with OUT_ABORTED. */
  signal?: AbortSignal;
}

const USER_AGENT = 'tracehouse-outbound/1';

/**
 * One agent per protocol and policy: keep-alive sockets are reused only by calls under the same
 * policy, and never ones another part of the process opened without the guarded lookup.
 */
const agents = new Map<string, http.Agent>();

function agentFor(protocol: 'http:' | 'https:', allowPrivateAddresses: boolean): http.Agent {
  const key = `${protocol}${allowPrivateAddresses}`;
  let agent = agents.get(key);
  if (!agent) {
    const options = { keepAlive: true, lookup: guardedLookup(allowPrivateAddresses) };
    agent = protocol === 'https:' ? new https.Agent(options) : new http.Agent(options);
    agents.set(key, agent);
  }
  return agent;
}

/** JSON text of a body that may hold span attribute values (int64 attributes are bigints). */
function jsonText(body: unknown): string {
  return JSON.stringify(body, (_key, value: unknown) =>
    typeof value === 'bigint' ? (value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString()) : value,
  );
}

function parseTarget(url: string): URL {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new OutboundError('OUT_BAD_URL', 'the outbound URL is not an absolute URL', false);
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    throw new OutboundError('OUT_BAD_URL', `outbound URLs must be http: or https:, not ${target.protocol}`, false);
  }
  return target;
}

/**
 * POSTs `body` as JSON and resolves with the status of a 2xx answer. The host is resolved here and
 * only addresses the policy allows are connected to; redirects are never followed (a 3xx is a
 * failure carrying its status), because a redirect could point anywhere, internal hosts included.
 * Rejects with an OutboundError whose `retryable` says whether another attempt may succeed.
 */
export async function postJson(url: string, body: unknown, options: PostJsonOptions): Promise<{ status: number }> {
  const target = parseTarget(url);
  const protocol = target.protocol as 'http:' | 'https:';
  const hostname = target.hostname.replace(/^\[|\]$/g, '');
  // An IP literal is connected to without a lookup, so the guarded lookup cannot check it.
  if (isIP(hostname) !== 0 && !addressAllowed(hostname, options.allowPrivateAddresses)) {
    throw new OutboundError(
      'OUT_ADDRESS_REFUSED',
      `${target.host} is a ${classifyAddress(hostname).range} address, which outbound calls may not reach (allow_private_addresses is off)`,
      false,
    );
  }
  if (options.signal?.aborted) throw new OutboundError('OUT_ABORTED', `call to ${target.host} aborted`, false);

  const text = jsonText(body);
  const headers: Record<string, string> = {
    'user-agent': USER_AGENT,
    ...options.headers,
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    ...(options.signingSecret !== undefined ? signatureHeaders(options.signingSecret, text, Date.now() / 1000) : {}),
  };
  const transport = protocol === 'https:' ? https : http;

  return new Promise<{ status: number }>((resolve, reject) => {
    const req = transport.request({
      protocol,
      hostname,
      port: target.port || undefined,
      path: `${target.pathname}${target.search}`,
      method: 'POST',
      headers,
      auth: target.username ? `${decodeURIComponent(target.username)}:${decodeURIComponent(target.password)}` : undefined,
      agent: agentFor(protocol, options.allowPrivateAddresses),
    });
    const timer = setTimeout(() => {
      req.destroy(new OutboundError('OUT_TIMEOUT', `no response from ${target.host} within ${options.timeoutMs} ms`, true));
    }, options.timeoutMs);
    const onAbort = () => req.destroy(new OutboundError('OUT_ABORTED', `call to ${target.host} aborted`, false));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const settle = () => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    };

    req.on('response', (res) => {
      settle();
      // Drained, not read: the answer's body is of no use, and draining frees the socket for reuse.
      res.resume();
      const status = res.statusCode ?? 0;
      if (status >= 200 && status < 300) {
        resolve({ status });
        return;
      }
      const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(res.headers['retry-after']) : undefined;
      const what = status >= 300 && status < 400 ? ' (redirects are not followed)' : '';
      reject(new OutboundError('OUT_HTTP_STATUS', `${target.host} answered ${status}${what}`, retryableStatus(status), status, retryAfterMs));
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      settle();
      if (err instanceof OutboundError) reject(err);
      else reject(new OutboundError('OUT_NETWORK', `call to ${target.host} failed: ${err.code ?? err.message}`, true, undefined, undefined, { cause: err }));
    });
    req.end(text);
  });
}
