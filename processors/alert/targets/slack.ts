import { postJson } from '../../../core/outbound/post-json';
import type { SlackTargetConfig } from '../config';
import { describeGroup } from '../group';
import type { AlertNotification, NotificationKind } from '../notification';
import { headline, isLogNotice, kindWord, valueVersusThreshold } from './format';
import type { AlertTarget, HttpDeliveryOptions } from './target';

const KIND_EMOJI: Record<NotificationKind, string> = {
  firing: ':rotating_light:',
  updated: ':warning:',
  resolved: ':white_check_mark:',
  test: ':information_source:',
  flagged: ':triangular_flag_on_post:',
  failed: ':x:',
};

/** Slack's mrkdwn treats &, < and > as control characters; anything from span data is escaped. */
function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Slack refuses a block whose text is over its limit, so long values are cut rather than lost with the message. */
function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

interface MrkdwnText {
  type: 'mrkdwn' | 'plain_text';
  text: string;
}

export interface SlackMessage {
  text: string;
  channel?: string;
  blocks: ({ type: 'header'; text: MrkdwnText } | { type: 'section'; text?: MrkdwnText; fields?: MrkdwnText[] } | { type: 'context'; elements: MrkdwnText[] })[];
}

/** An incoming-webhook payload: `text` for notifications and old clients, blocks for the message itself. */
export function slackMessage(n: AlertNotification, channel?: string): SlackMessage {
  const field = (name: string, value: string): MrkdwnText => ({ type: 'mrkdwn', text: cut(`*${name}*\n${escape(value)}`, 2000) });
  const logNotice = isLogNotice(n);
  const fields = logNotice
    ? [field('Severity', n.severity.toUpperCase()), field('Verdict', n.condition), field('Where', describeGroup(n.group)), field('At', n.lastSeen)]
    : [
        field('Severity', n.severity.toUpperCase()),
        field('Condition', n.condition),
        field('Value', valueVersusThreshold(n)),
        field('Group', describeGroup(n.group)),
        field('First seen', n.firstSeen),
        field(n.resolvedAt ? 'Resolved' : 'Last seen', n.resolvedAt ?? n.lastSeen),
      ];
  const blocks: SlackMessage['blocks'] = [
    { type: 'header', text: { type: 'plain_text', text: cut(`${n.ruleName} ${kindWord(n.kind)}`, 150) } },
    { type: 'section', text: { type: 'mrkdwn', text: cut(`${KIND_EMOJI[n.kind]} *${escape(n.ruleName)}* is *${kindWord(n.kind)}* for ${escape(describeGroup(n.group))}`, 3000) }, fields },
  ];
  if (n.exampleTraceIds.length) {
    const links = n.exampleTraceIds.map((id, i) => {
      const link = n.exampleTraceLinks?.[i];
      return link ? `<${link}|${escape(id)}>` : `\`${escape(id)}\``;
    });
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: cut(`*Example traces*\n${links.join('\n')}`, 3000) } });
  }
  const context = logNotice ? `workspace settings · trace \`${escape(n.incidentId)}\`` : `incident \`${n.incidentId}\` · rule \`${escape(n.ruleId)}\``;
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: cut(context, 3000) }] });
  return {
    text: cut(
      n.kind === 'test'
        ? `${KIND_EMOJI[n.kind]} ${escape(headline(n))}`
        : logNotice
          ? `${KIND_EMOJI[n.kind]} ${escape(headline(n))} — ${escape(n.condition)}`
        : `${KIND_EMOJI[n.kind]} ${escape(headline(n))} — ${escape(n.condition)}: ${escape(valueVersusThreshold(n))}`,
      3000,
    ),
    ...(channel ? { channel } : {}),
    blocks,
  };
}

/** A Slack incoming webhook (its URL is its credential: it never appears in logs or errors). */
export class SlackTarget implements AlertTarget {
  readonly type = 'slack' as const;

  constructor(
    readonly id: string,
    private readonly config: SlackTargetConfig,
    private readonly http: HttpDeliveryOptions,
  ) {}

  async send(notification: AlertNotification, signal: AbortSignal): Promise<void> {
    await postJson(this.config.webhook_url, slackMessage(notification, this.config.channel), {
      allowPrivateAddresses: this.http.allowPrivateAddresses,
      timeoutMs: this.http.timeoutMs,
      signal,
    });
  }

  close(): void {}
}
