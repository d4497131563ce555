import type { AlertNotification } from '../notification';

/** One configured delivery target: a single attempt to deliver a notification (retries are the queue's). */
export interface AlertTarget {
  readonly id: string;
  readonly type: 'slack' | 'webhook' | 'email';
  /** Rejects when the attempt failed; an OutboundError's `retryable` tells the queue whether to try again. */
  send(notification: AlertNotification, signal: AbortSignal): Promise<void>;
  /** Releases connections (the SMTP transport). */
  close(): void;
}

/** What every HTTP target needs from the processor's `delivery` options. */
export interface HttpDeliveryOptions {
  allowPrivateAddresses: boolean;
  timeoutMs: number;
}
