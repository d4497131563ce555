import type { AlertNotification } from '../../../processors/alert/notification';
import { formatValue, headline, plainText } from '../../../processors/alert/targets/format';
import { slackMessage } from '../../../processors/alert/targets/slack';

const notification = (fields: Partial<AlertNotification> = {}): AlertNotification => ({
  kind: 'firing',
  incidentId: '0123456789abcdef0123456789abcdef',
  ruleId: 'slow-chat',
  ruleName: 'Slow chat',
  severity: 'high',
  condition: 'p95 latency over 5 min > 3000 ms',
  group: { workspace: 'acme', model: 'gpt-4o' },
  value: 4210.26,
  threshold: 3000,
  unit: 'ms',
  firstSeen: '2025-11-24T10:02:00.000Z',
  lastSeen: '2025-11-24T10:07:00.000Z',
  exampleTraceIds: ['5b8efff798038103d269b633813fc60c'],
  ...fields,
});

describe('alert messages', () => {
  it('formats values in their unit', () => {
    expect(formatValue(4210.26, 'ms')).toBe('4210.3 ms');
    expect(formatValue(12.5, 'USD')).toBe('$12.5');
    expect(formatValue(0.075, 'ratio')).toBe('7.5%');
    expect(formatValue(1, 'spans')).toBe('1 span');
    expect(formatValue(1500, 'tokens')).toBe('1500 tokens');
    expect(formatValue(Number.NaN, 'ms')).toBe('NaN');
  });

  it('names severity, rule, state and group in the headline (the email subject)', () => {
    expect(headline(notification())).toBe('[HIGH] Slow chat firing: workspace=acme, model=gpt-4o');
    expect(headline(notification({ kind: 'updated', group: {} }))).toBe('[HIGH] Slow chat still firing: all spans');
    expect(headline(notification({ kind: 'resolved', group: { project: '' } }))).toBe('[HIGH] Slow chat resolved: project=(none)');
  });

  it('writes a plain-text body with every fact and the trace links', () => {
    expect(plainText(notification({ kind: 'resolved', resolvedAt: '2025-11-24T10:20:00.000Z', exampleTraceLinks: ['https://g/x?trace=5b8e'] }))).toBe(
      [
        '[HIGH] Slow chat resolved: workspace=acme, model=gpt-4o',
        '',
        'Rule:       Slow chat (slow-chat)',
        'Severity:   high',
        'Condition:  p95 latency over 5 min > 3000 ms',
        'Value:      4210.3 ms (threshold 3000 ms)',
        'Group:      workspace=acme, model=gpt-4o',
        'First seen: 2025-11-24T10:02:00.000Z',
        'Last seen:  2025-11-24T10:07:00.000Z',
        'Resolved:   2025-11-24T10:20:00.000Z',
        'Incident:   0123456789abcdef0123456789abcdef',
        '',
        'Example traces:',
        '  https://g/x?trace=5b8e',
        '',
      ].join('\n'),
    );
  });

  it('escapes Slack control characters in values that come from span data', () => {
    const message = slackMessage(notification({ group: { 'attribute:user': '<!channel> & <@U123>' } }));
    expect(message.text).toBe(
      ':rotating_light: [HIGH] Slow chat firing: attribute:user=&lt;!channel&gt; &amp; &lt;@U123&gt; — p95 latency over 5 min &gt; 3000 ms: 4210.3 ms (threshold 3000 ms)',
    );
    expect(JSON.stringify(message)).not.toContain('<!channel>');
    expect(message.blocks[2]).toEqual({ type: 'section', text: { type: 'mrkdwn', text: '*Example traces*\n`5b8efff798038103d269b633813fc60c`' } });
  });

  it('cuts texts to Slack’s block limits instead of losing the message', () => {
    const message = slackMessage(notification({ ruleName: 'x'.repeat(400), group: { 'attribute:prompt': 'y'.repeat(5000) } }));
    const header = message.blocks[0] as { text: { text: string } };
    expect(header.text.text).toHaveLength(150);
    const section = message.blocks[1] as { text: { text: string }; fields: { text: string }[] };
    expect(section.text.text.length).toBeLessThanOrEqual(3000);
    for (const field of section.fields) expect(field.text.length).toBeLessThanOrEqual(2000);
    expect(message.text.length).toBeLessThanOrEqual(3000);
  });
});
