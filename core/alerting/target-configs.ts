/**
 * What each kind of alert delivery target needs (Slack incoming webhook, signed webhook, SMTP
 * email): one shape for the alert processor's `targets` in pipelines.yaml and for delivery targets
 * managed over HTTP (the `config` of a `delivery_target` object), so both are checked alike.
 */
import { z } from 'zod';

export const TARGET_TYPES = ['slack', 'webhook', 'email'] as const;
export type TargetType = (typeof TARGET_TYPES)[number];

export const slackTargetFields = {
  /** The incoming-webhook URL Slack gave you (a secret: use ${env:...}). */
  webhook_url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
  /** Overrides the webhook's default channel where the Slack app allows it. */
  channel: z.string().min(1).max(200).optional(),
};

export const webhookTargetFields = {
  url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
  /** Signs each POST (X-Tracehouse-Timestamp / X-Tracehouse-Signature: v1=<HMAC-SHA256 hex>). */
  signing_secret: z.string().min(1).optional(),
  headers: z.record(z.string(), z.string()).optional(),
};

export const emailTargetFields = {
  smtp: z.strictObject({
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535),
    /** TLS from the first byte (port 465); false means plain, upgraded with STARTTLS when offered. */
    secure: z.boolean().default(false),
    auth: z.strictObject({ user: z.string().min(1), pass: z.string() }).optional(),
    /** Do not upgrade with STARTTLS even when the server offers it. */
    ignore_tls: z.boolean().default(false),
  }),
  from: z.string().min(1),
  to: z.array(z.string().min(1)).min(1),
};

/**
 * A target's settings without its type (the `config` of a delivery_target object). An e-mail
 * target created over HTTP may leave out `smtp` and `from`: it then sends through the alert
 * processor's configured e-mail transport (withEmailTransport), as the workspace settings' e-mails do.
 */
export const TARGET_CONFIG_SCHEMAS = {
  slack: z.strictObject(slackTargetFields),
  webhook: z.strictObject(webhookTargetFields),
  email: z.strictObject({ ...emailTargetFields, smtp: emailTargetFields.smtp.optional(), from: emailTargetFields.from.optional() }),
} as const;

/** Whether an API e-mail target's config needs the configured transport (it has no SMTP server or sender of its own). */
export function needsEmailTransport(config: Record<string, unknown>): boolean {
  return config.smtp === undefined || config.from === undefined;
}

/** An API e-mail target's config completed with the transport's SMTP server and sender where it has none. */
export function withEmailTransport(config: Record<string, unknown>, transport: { smtp: unknown; from: string } | undefined): Record<string, unknown> {
  if (!transport || !needsEmailTransport(config)) return config;
  return { ...config, smtp: config.smtp ?? transport.smtp, from: config.from ?? transport.from };
}

/** A target as pipelines.yaml gives it: its type beside its settings. */
export const targetSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('slack'), ...slackTargetFields }),
  z.strictObject({ type: z.literal('webhook'), ...webhookTargetFields }),
  z.strictObject({ type: z.literal('email'), ...emailTargetFields }),
]);

export type TargetConfig = z.output<typeof targetSchema>;
export type EmailTargetConfig = Extract<TargetConfig, { type: 'email' }>;
