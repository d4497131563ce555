/**
 * A workspace's settings (the log-evaluation API's `/api/settings`): ONE control-plane object per
 * workspace, kind `settings`, id `workspace`, whose spec holds the document's fields by their
 * names. The control plane writes it; whoever notifies (Slack, e-mail, outbound webhook) or
 * judges (provider keys and models) reads it through the host (`objects.get('settings', ws,
 * SETTINGS_OBJECT_ID)`). Unset fields are absent; secrets are plaintext in the catalog (sealed
 * at rest, masked in answers).
 */

export const SETTINGS_OBJECT_ID = 'workspace';

/** Events `outboundWebhookEvents` holds once written: the verdicts that notify (a flagged log, a failed evaluation). */
export const OUTBOUND_WEBHOOK_EVENTS = ['flagged', 'error'] as const;
export type OutboundWebhookEvent = (typeof OUTBOUND_WEBHOOK_EVENTS)[number];

/**
 * The names a client may write for them, normalized on write: the event names the webhook posts
 * (`log.flagged`, `log.failed`), the short forms, and the document's callback vocabulary
 * (`all`, `flagged_error`). Case and surrounding spaces do not matter.
 */
const WEBHOOK_EVENT_NAMES: Readonly<Record<string, readonly OutboundWebhookEvent[]>> = {
  flagged: ['flagged'],
  flag: ['flagged'],
  'log.flagged': ['flagged'],
  error: ['error'],
  fail: ['error'],
  failed: ['error'],
  'log.failed': ['error'],
  'log.error': ['error'],
  flagged_error: ['flagged', 'error'],
  all: ['flagged', 'error'],
  '*': ['flagged', 'error'],
};

export const OUTBOUND_WEBHOOK_EVENT_NAMES: readonly string[] = Object.keys(WEBHOOK_EVENT_NAMES);

/** The events a written name stands for; undefined for a name the webhook never sends. */
export function webhookEventsOf(name: string): readonly OutboundWebhookEvent[] | undefined {
  const key = name.trim().toLowerCase();
  return Object.prototype.hasOwnProperty.call(WEBHOOK_EVENT_NAMES, key) ? WEBHOOK_EVENT_NAMES[key] : undefined;
}

/** The canonical list for written names (each event once, in a fixed order); unknown names are left out. */
export function normalizeWebhookEvents(names: readonly string[]): OutboundWebhookEvent[] {
  const on = new Set(names.flatMap((n) => webhookEventsOf(n) ?? []));
  return OUTBOUND_WEBHOOK_EVENTS.filter((e) => on.has(e));
}

export const JUDGE_PROVIDERS = ['anthropic', 'openai', 'openrouter'] as const;
export type JudgeProvider = (typeof JUDGE_PROVIDERS)[number];

export interface WorkspaceSettings {
  onboardingDismissed?: boolean;
  workspaceName?: string;
  slackWebhookUrl?: string;
  notifyOnFlag?: boolean;
  notifyOnFail?: boolean;
  slackChannelId?: string;
  notificationEmail?: string;
  emailOnFlag?: boolean;
  emailOnFail?: boolean;
  slackNotificationsEnabled?: boolean;
  emailNotificationsEnabled?: boolean;
  webhookEnabled?: boolean;
  outboundWebhookUrl?: string;
  outboundWebhookEvents?: OutboundWebhookEvent[];
  estimatedIncidentCostUsd?: number;
  openaiApiKey?: string;
  anthropicApiKey?: string;
  openrouterApiKey?: string;
  openaiJudgeModel?: string;
  anthropicJudgeModel?: string;
  openrouterJudgeModel?: string;
  defaultJudgeProvider?: JudgeProvider;
  color?: string;
}

/** Every field, in the document's order. */
export const WORKSPACE_SETTINGS_FIELDS = [
  'onboardingDismissed',
  'workspaceName',
  'slackWebhookUrl',
  'notifyOnFlag',
  'notifyOnFail',
  'slackChannelId',
  'notificationEmail',
  'emailOnFlag',
  'emailOnFail',
  'slackNotificationsEnabled',
  'emailNotificationsEnabled',
  'webhookEnabled',
  'outboundWebhookUrl',
  'outboundWebhookEvents',
  'estimatedIncidentCostUsd',
  'openaiApiKey',
  'anthropicApiKey',
  'openrouterApiKey',
  'openaiJudgeModel',
  'anthropicJudgeModel',
  'openrouterJudgeModel',
  'defaultJudgeProvider',
  'color',
] as const satisfies readonly (keyof WorkspaceSettings)[];
