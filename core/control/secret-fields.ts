import type { ObjectKind } from './objects';
import type { SecretPath } from './secrets';

/** Where each kind keeps secrets: encrypted at rest, masked in answers. */
export const SECRET_FIELDS: Readonly<Record<ObjectKind, readonly SecretPath[]>> = {
  // A rule names its judge's provider and model; keys come from the settings or the config.
  rule: [],
  alert_rule: [],
  // The alert processor's target settings (core/alerting/target-configs.ts): Slack and webhook URLs
  // carry their credential, the webhook's signing secret, SMTP's password, an Authorization header.
  delivery_target: [['config', 'webhook_url'], ['config', 'url'], ['config', 'signing_secret'], ['config', 'smtp', 'auth', 'pass'], ['config', 'headers', 'Authorization'], ['config', 'headers', 'authorization']],
  policy: [],
  failover_policy: [],
  settings: [['slackWebhookUrl'], ['outboundWebhookUrl'], ['openaiApiKey'], ['anthropicApiKey'], ['openrouterApiKey'], ['smtpPassword']],
  api_key: [],
  project: [],
  task: [],
  decision: [],
  deleted_log: [],
  incident_note: [],
  verification: [],
};
