import { BackpressureError, errorMessage, isPermanent } from './errors';

export interface DeliveryFailure {
  /** HTTP status to answer with. */
  status: 400 | 429 | 503;
  /** Seconds for Retry-After (set for retryable failures). */
  retryAfterSeconds?: number;
  /** Label for the refused-spans counter. */
  reason: 'downstream_rejected' | 'backpressure' | 'downstream_unavailable';
  message: string;
}

/** Retry-After for retryable downstream failures that name no better value. */
export const DEFAULT_RETRY_AFTER_SECONDS = 5;

/**
 * Maps a rejected `consume` onto the answer every HTTP receiver gives: bad data is the client's
 * problem (400), a full queue is throttling (429), anything else is a retryable outage (503).
 */
export function classifyDeliveryError(err: unknown): DeliveryFailure {
  if (isPermanent(err)) return { status: 400, reason: 'downstream_rejected', message: errorMessage(err) };
  if (err instanceof BackpressureError) {
    return { status: 429, retryAfterSeconds: err.retryAfterSeconds, reason: 'backpressure', message: errorMessage(err) };
  }
  return {
    status: 503,
    retryAfterSeconds: DEFAULT_RETRY_AFTER_SECONDS,
    reason: 'downstream_unavailable',
    message: `spans were not stored, retry later: ${errorMessage(err)}`,
  };
}
