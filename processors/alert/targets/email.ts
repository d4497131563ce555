import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import { TracehouseError, errorMessage } from '../../../core/errors';
import type { EmailTargetConfig } from '../config';
import type { AlertNotification } from '../notification';
import { headline, plainText } from './format';
import type { AlertTarget } from './target';

/**
 * Email over SMTP with nodemailer: the headline as subject ("[HIGH] <rule> firing: <group>") and a
 * plain-text body. The SMTP server is the operator's own configuration, not data from spans, so the
 * outbound address policy (meant against SSRF through span data and URLs) does not apply to it.
 */
export class EmailTarget implements AlertTarget {
  readonly type = 'email' as const;
  private readonly transport: Transporter<SMTPTransport.SentMessageInfo>;

  constructor(
    readonly id: string,
    private readonly config: EmailTargetConfig,
    timeoutMs: number,
  ) {
    const { smtp } = config;
    this.transport = nodemailer.createTransport({
      host: smtp.host,
      port: smtp.port,
      secure: smtp.secure,
      ignoreTLS: smtp.ignore_tls,
      auth: smtp.auth ? { user: smtp.auth.user, pass: smtp.auth.pass } : undefined,
      connectionTimeout: timeoutMs,
      greetingTimeout: timeoutMs,
      socketTimeout: timeoutMs,
    });
  }

  async send(notification: AlertNotification, signal: AbortSignal): Promise<void> {
    if (signal.aborted) throw new TracehouseError('PRC_ALERT_SMTP', 'email delivery aborted');
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(new TracehouseError('PRC_ALERT_SMTP', 'email delivery aborted'));
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      await Promise.race([
        this.transport.sendMail({
          from: this.config.from,
          to: this.config.to,
          subject: headline(notification),
          text: plainText(notification),
        }),
        aborted,
      ]);
    } catch (err) {
      if (err instanceof TracehouseError) throw err;
      // nodemailer's messages name the server and its answer, never the credentials.
      throw new TracehouseError('PRC_ALERT_SMTP', `email via ${this.config.smtp.host}:${this.config.smtp.port} failed: ${errorMessage(err)}`, { cause: err });
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort);
      aborted.catch(() => undefined);
    }
  }

  close(): void {
    this.transport.close();
  }
}
