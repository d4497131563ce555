import type { ObjectKind } from './objects';
import type { SecretPath } from './secrets';

/** Where each kind keeps secrets: encrypted at rest, masked in answers. */
export const SECRET_FIELDS: Readonly<Record<ObjectKind, readonly SecretPath[]>> = {
  rule: [['llmJudgeApiKey']],
  alert_rule: [],
  delivery_target: [['config', 'webhook_url'], ['config', 'url'], ['config', 'password'], ['config', 'secret'], ['config', 'signing_secret']],
  policy: [],
  failover_policy: [],
  settings: [['slackWebhookUrl'], ['outboundWebhookUrl'], ['openaiApiKey'], ['anthropicApiKey'], ['openrouterApiKey'], ['smtpPassword']],
  api_key: [],
  project: [],
  task: [],
};
