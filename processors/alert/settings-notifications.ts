/**
 * Workspace settings that notify (the log-evaluation API's `/api/settings`, one control-plane
 * object of kind `settings` and id `workspace` per workspace): a span of that workspace whose
 * verdict is `flagged` or `error` goes to the Slack webhook (notifyOnFlag / notifyOnFail), to the
 * notification e-mail (emailOnFlag / emailOnFail, through the SMTP server of a configured email
 * target) and to the outbound webhook (outboundWebhookEvents), each behind its `*Enabled` switch.
 */
import type { EmailTargetConfig, TargetConfig } from '../../core/alerting/target-configs';
import { targetSchema } from '../../core/alerting/target-configs';
import type { ControlObject } from '../../core/control/objects';
import { GLOBAL_WORKSPACE } from '../../core/control/objects';
import type { Severity } from '../../core/evaluation';
import type { Logger } from '../../core/logger';
import type { Span } from '../../core/span';
import { normalizeWebhookEvents, SETTINGS_OBJECT_ID } from '../../core/control/workspace-settings';
import { spanDimension } from './group';
import type { AlertNotification } from './notification';

export type LogVerdict = 'flagged' | 'error';

/** The notifier's keys to send to, per verdict. */
export type SettingsRoutes = Record<LogVerdict, string[]>;

/** The verdicts the outbound webhook is sent (names normalized as PATCH /api/settings does; absent: both). */
function eventsOf(value: unknown): Set<LogVerdict> {
  if (!Array.isArray(value)) return new Set(['flagged', 'error']);
  return new Set(normalizeWebhookEvents(value.filter((v): v is string => typeof v === 'string')));
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

export interface WorkspaceSettingsPlan {
  targets: Map<string, TargetConfig>;
  routes: Map<string, SettingsRoutes>;
}

/**
 * The targets and routes of every workspace's settings. `emailBase` is the configured email
 * target whose SMTP server and sender the e-mails use (none: no e-mail is sent).
 */
export function settingsPlan(objects: readonly ControlObject[], emailBase: EmailTargetConfig | undefined, logger: Logger): WorkspaceSettingsPlan {
  const targets = new Map<string, TargetConfig>();
  const routes = new Map<string, SettingsRoutes>();
  for (const object of objects) {
    if (object.id !== SETTINGS_OBJECT_ID || object.workspace === GLOBAL_WORKSPACE) continue;
    const s = object.spec;
    const ws = object.workspace;
    const route: SettingsRoutes = { flagged: [], error: [] };
    const add = (channel: string, candidate: unknown, on: Set<LogVerdict>) => {
      if (on.size === 0) return;
      const parsed = targetSchema.safeParse(candidate);
      if (!parsed.success) {
        // The value may be a secret (a webhook URL): only its field is named.
        logger.warn({ workspace: ws, channel }, 'workspace settings: this notification channel is not valid and is skipped');
        return;
      }
      const key = `settings/${ws}/${channel}`;
      targets.set(key, parsed.data);
      for (const verdict of on) route[verdict].push(key);
    };
    const when = (onFlag: unknown, onFail: unknown) => new Set<LogVerdict>([...(onFlag === true ? ['flagged' as const] : []), ...(onFail === true ? ['error' as const] : [])]);
    const slackUrl = text(s.slackWebhookUrl);
    if (slackUrl && s.slackNotificationsEnabled !== false) {
      const channel = text(s.slackChannelId);
      add('slack', { type: 'slack', webhook_url: slackUrl, ...(channel ? { channel } : {}) }, when(s.notifyOnFlag, s.notifyOnFail));
    }
    const email = text(s.notificationEmail);
    if (email && s.emailNotificationsEnabled !== false) {
      const on = when(s.emailOnFlag, s.emailOnFail);
      if (!emailBase && on.size > 0) logger.warn({ workspace: ws }, 'workspace settings ask for e-mail, but the alert processor has no email target to send it with');
      else if (emailBase) add('email', { ...emailBase, to: email.split(',').map((a) => a.trim()).filter((a) => a !== '') }, on);
    }
    const hookUrl = text(s.outboundWebhookUrl);
    if (hookUrl && s.webhookEnabled !== false) add('webhook', { type: 'webhook', url: hookUrl }, eventsOf(s.outboundWebhookEvents));
    if (route.flagged.length > 0 || route.error.length > 0) routes.set(ws, route);
  }
  return { targets, routes };
}

const SEVERITIES: readonly string[] = ['low', 'medium', 'high', 'critical'];
const MAX_RULE_NAMES = 5;

/** The names of the rules that flagged (or could not run on) the span, from tracehouse.findings. */
function ruleNames(span: Span): string[] {
  const raw = span.attributes['tracehouse.findings'];
  if (typeof raw !== 'string') return [];
  try {
    const findings: unknown = JSON.parse(raw);
    if (!Array.isArray(findings)) return [];
    const names = findings
      .filter((f): f is { ruleName: string; outcome: string } => typeof f === 'object' && f !== null && typeof f.ruleName === 'string' && f.outcome !== 'passed')
      .map((f) => f.ruleName);
    return [...new Set(names)].slice(0, MAX_RULE_NAMES);
  } catch {
    return [];
  }
}

/** The message for one flagged or failed span. */
export function settingsNotification(span: Span, verdict: LogVerdict, traceLink: string | undefined): AlertNotification {
  const severityAttr = span.attributes['tracehouse.verdict.severity'];
  const severity = (typeof severityAttr === 'string' && SEVERITIES.includes(severityAttr) ? severityAttr : verdict === 'error' ? 'high' : 'medium') as Severity;
  const names = ruleNames(span);
  const at = new Date(Number(span.endTimeUnixNano / 1_000_000n) || Date.now()).toISOString();
  const group: Record<string, string> = { workspace: spanDimension(span, 'workspace') };
  const project = spanDimension(span, 'project');
  if (project !== '') group.project = project;
  const task = span.attributes['tracehouse.task'];
  if (typeof task === 'string' && task !== '') group.task = task;
  return {
    kind: verdict === 'flagged' ? 'flagged' : 'failed',
    event: verdict === 'flagged' ? 'log.flagged' : 'log.failed',
    incidentId: span.traceId,
    ruleId: 'workspace-settings',
    ruleName: 'Output',
    severity,
    condition: `verdict ${verdict}${names.length ? ` (${verdict === 'flagged' ? 'rules' : 'could not run'}: ${names.join(', ')})` : ''}`,
    group,
    value: 1,
    threshold: 0,
    unit: 'spans',
    firstSeen: at,
    lastSeen: at,
    exampleTraceIds: [span.traceId],
    ...(traceLink ? { exampleTraceLinks: [traceLink.replaceAll('{trace_id}', encodeURIComponent(span.traceId))] } : {}),
  };
}
