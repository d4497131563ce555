import { TracehouseError } from '../errors';

export type OutboundErrorCode =
  /** The URL's host is, or resolves to, an address the policy refuses. Not retryable. */
  | 'OUT_ADDRESS_REFUSED'
  /** The receiver answered with a non-2xx status (redirects included). Retryable for 5xx, 429, 408. */
  | 'OUT_HTTP_STATUS'
  /** DNS failure, refused or reset connection, TLS failure. Retryable. */
  | 'OUT_NETWORK'
  /** No response within timeout_ms. Retryable. */
  | 'OUT_TIMEOUT'
  /** Not an absolute http: or https: URL. Not retryable. */
  | 'OUT_BAD_URL'
  /** The caller aborted (shutdown). Not retryable. */
  | 'OUT_ABORTED';

/** Statuses worth another attempt: the receiver is overloaded, down, or timed the request out. */
export function retryableStatus(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

/**
 * Why an outbound call failed. Messages name the URL's host only: paths often carry a secret
 * (a Slack incoming-webhook URL is its own credential), and messages end up in logs.
 */
export class OutboundError extends TracehouseError {
  constructor(
    override readonly code: OutboundErrorCode,
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
    /** The receiver's Retry-After (429/503), in milliseconds. */
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}
