import { postJson } from '../../../core/outbound/post-json';
import type { WebhookTargetConfig } from '../config';
import type { AlertNotification } from '../notification';
import type { AlertTarget, HttpDeliveryOptions } from './target';

/**
 * A generic webhook: the AlertNotification as JSON, HMAC-signed when signing_secret is set
 * (X-Tracehouse-Timestamp and X-Tracehouse-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<body>">).
 */
export class WebhookTarget implements AlertTarget {
  readonly type = 'webhook' as const;

  constructor(
    readonly id: string,
    private readonly config: WebhookTargetConfig,
    private readonly http: HttpDeliveryOptions,
  ) {}

  async send(notification: AlertNotification, signal: AbortSignal): Promise<void> {
    await postJson(this.config.url, notification, {
      headers: this.config.headers,
      signingSecret: this.config.signing_secret,
      allowPrivateAddresses: this.http.allowPrivateAddresses,
      timeoutMs: this.http.timeoutMs,
      signal,
    });
  }

  close(): void {}
}
