/** Wording every target shares, so Slack, email and logs describe an incident the same way. */
import { describeGroup } from '../group';
import type { AlertNotification, NotificationKind } from '../notification';

const KIND_WORD: Record<NotificationKind, string> = {
  firing: 'firing',
  updated: 'still firing',
  resolved: 'resolved',
  test: 'test',
  flagged: 'flagged',
  failed: 'failed',
};

export function kindWord(kind: NotificationKind): string {
  return KIND_WORD[kind];
}

/** A notification about one log (workspace settings), not an incident: it has no value or threshold. */
export function isLogNotice(n: AlertNotification): boolean {
  return n.kind === 'flagged' || n.kind === 'failed';
}

/** 4210.3 ms, $12.5, 7.5%, 1200 tokens. */
export function formatValue(value: number, unit: string | undefined): string {
  if (!Number.isFinite(value)) return String(value);
  const short = Number(value.toPrecision(6));
  switch (unit) {
    case 'USD':
      return `$${short}`;
    case 'ratio':
      return `${Number((value * 100).toPrecision(6))}%`;
    case 'ms':
      return `${Number(value.toFixed(1))} ms`;
    case 'spans':
      return `${short} ${short === 1 ? 'span' : 'spans'}`;
    case undefined:
    case '':
      return String(short);
    default:
      return `${short} ${unit}`;
  }
}

/** "[HIGH] High latency firing: workspace=acme, model=gpt-4o" (the email subject). */
export function headline(n: AlertNotification): string {
  if (n.kind === 'test') return `[TEST] ${n.ruleName}: ${n.condition}`;
  return `[${n.severity.toUpperCase()}] ${n.ruleName} ${kindWord(n.kind)}: ${describeGroup(n.group)}`;
}

/** "4210 ms (threshold 3000 ms)". */
export function valueVersusThreshold(n: AlertNotification): string {
  return `${formatValue(n.value, n.unit)} (threshold ${formatValue(n.threshold, n.unit)})`;
}

/** The notification as plain text lines (email body, logs). */
export function plainText(n: AlertNotification): string {
  if (isLogNotice(n)) {
    const lines = [headline(n), '', `Severity:   ${n.severity}`, `Verdict:    ${n.condition}`, `Where:      ${describeGroup(n.group)}`, `At:         ${n.lastSeen}`];
    lines.push(`Trace:      ${n.exampleTraceLinks?.[0] ?? n.exampleTraceIds[0] ?? n.incidentId}`);
    return lines.join('\n') + '\n';
  }
  const lines = [
    headline(n),
    '',
    `Rule:       ${n.ruleName} (${n.ruleId})`,
    `Severity:   ${n.severity}`,
    `Condition:  ${n.condition}`,
    `Value:      ${valueVersusThreshold(n)}`,
    `Group:      ${describeGroup(n.group)}`,
    `First seen: ${n.firstSeen}`,
    `Last seen:  ${n.lastSeen}`,
  ];
  if (n.resolvedAt) lines.push(`Resolved:   ${n.resolvedAt}`);
  lines.push(`Incident:   ${n.incidentId}`);
  if (n.exampleTraceIds.length) {
    lines.push('', 'Example traces:');
    n.exampleTraceIds.forEach((id, i) => lines.push(`  ${n.exampleTraceLinks?.[i] ?? id}`));
  }
  return lines.join('\n') + '\n';
}
