/**
 * Per-span alerts through the real daemon: a flagged, a failing and a costly span each open one
 * incident, notify once (Slack stand-in, a signed webhook, a real email over SMTP) and leave one
 * incident row; more matching spans update the same incident without paging again.
 */
import { createHmac } from 'node:crypto';
import { startDaemon, uniqueDatabase, type TestDaemon } from '../../support/daemon';
import {
  alertPipelineYaml,
  eventCount,
  incidentRows,
  sendSpans,
  span,
  startHttpStandIn,
  startSmtpStandIn,
  waitFor,
  type HttpStandIn,
  type SmtpStandIn,
} from './support';

const SECRET = 'webhook-signing-secret';

describe('per-span alerts', () => {
  const database = uniqueDatabase('alert_per_span');
  let slack: HttpStandIn;
  let hook: HttpStandIn;
  let smtp: SmtpStandIn;
  let daemon: TestDaemon;

  beforeAll(async () => {
    [slack, hook, smtp] = await Promise.all([startHttpStandIn(), startHttpStandIn(), startSmtpStandIn()]);
    daemon = await startDaemon(
      alertPipelineYaml(
        database,
        `
delivery: { allow_private_addresses: true }
trace_link: "https://grafana.example/explore?trace={trace_id}"
targets:
  slack-oncall: { type: slack, webhook_url: "${slack.url}/services/T000/B000/XXXX", channel: "#ai-ops" }
  pager: { type: webhook, url: "${hook.url}/hooks/alerts", signing_secret: ${SECRET}, headers: { X-Team: ai-platform } }
  email-oncall:
    type: email
    smtp: { host: 127.0.0.1, port: ${smtp.port}, ignore_tls: true }
    from: tracehouse@example.com
    to: [oncall@example.com]
rules:
  - id: flagged-high
    name: Flagged outputs
    severity: high
    targets: [slack-oncall]
    condition: { type: verdict, min_severity: high }
    group_by: [workspace]
  - id: errors
    name: Model errors
    severity: critical
    targets: [slack-oncall, email-oncall]
    condition: { type: error_status }
    group_by: [workspace, model]
  - id: costly
    name: Costly call
    severity: low
    targets: [slack-oncall, pager]
    condition: { type: cost_above, threshold_usd: 0.5 }
`,
      ),
    );
  });

  afterAll(async () => {
    await daemon?.stop();
    await Promise.all([slack?.close(), hook?.close(), smtp?.close()]);
  });

  const flagged = span({ attributes: { 'tracehouse.verdict': 'flagged', 'tracehouse.verdict.severity': 'critical' } });
  const failing = span({ status: 'error' });
  const costly = span({ attributes: { 'tracehouse.cost_usd': 0.75 } });

  it('fires one notification per rule and leaves one incident row each', async () => {
    const harmless = [
      span({ attributes: { 'tracehouse.verdict': 'flagged', 'tracehouse.verdict.severity': 'medium' } }),
      span({ attributes: { 'tracehouse.verdict': 'pass' } }),
      span({ attributes: { 'tracehouse.cost_usd': 0.1 } }),
    ];
    expect(await sendSpans(daemon, [...harmless, flagged, failing, costly])).toBe(200);

    await waitFor('three Slack posts', () => slack.posts.length === 3);
    const byRule = new Map(slack.posts.map((p) => [/rule `([^`]+)`/.exec(p.body.blocks.at(-1).elements[0].text)?.[1], p.body]));
    expect([...byRule.keys()].sort()).toEqual(['costly', 'errors', 'flagged-high']);
    const errors = byRule.get('errors');
    expect(errors.channel).toBe('#ai-ops');
    expect(errors.text).toBe(':rotating_light: [CRITICAL] Model errors firing: workspace=acme, model=gpt-4o — span status error: 1 span (threshold 0 spans)');
    expect(errors.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'Model errors firing' } });
    expect(errors.blocks[1].fields.map((f: { text: string }) => f.text.split('\n')[0])).toEqual([
      '*Severity*',
      '*Condition*',
      '*Value*',
      '*Group*',
      '*First seen*',
      '*Last seen*',
    ]);
    expect(errors.blocks[2].text.text).toBe(`*Example traces*\n<https://grafana.example/explore?trace=${failing.traceId}|${failing.traceId}>`);
    expect(byRule.get('costly').blocks[1].fields[2].text).toBe('*Value*\n$0.75 (threshold $0.5)');

    const rows = await waitFor('three incident rows', async () => {
      const found = await incidentRows(daemon, database);
      return found.length === 3 ? found : undefined;
    });
    expect(rows.map((r) => [r.rule_id, r.status, r.group, r.value, r.threshold, r.example_trace_ids]).sort()).toEqual([
      ['costly', 'firing', {}, 0.75, 0.5, [costly.traceId]],
      ['errors', 'firing', { workspace: 'acme', model: 'gpt-4o' }, 1, 0, [failing.traceId]],
      ['flagged-high', 'firing', { workspace: 'acme' }, 1, 0, [flagged.traceId]],
    ]);
  });

  it('signs the webhook with HMAC-SHA256 over "<timestamp>.<body>" and sends the notification JSON', async () => {
    await waitFor('the webhook post', () => hook.posts.length === 1);
    const [post] = hook.posts;
    expect(post.path).toBe('/hooks/alerts');
    expect(post.headers['x-team']).toBe('ai-platform');
    const timestamp = String(post.headers['x-tracehouse-timestamp']);
    const expected = createHmac('sha256', SECRET).update(`${timestamp}.${post.raw}`).digest('hex');
    expect(post.headers['x-tracehouse-signature']).toBe(`v1=${expected}`);
    expect(post.body).toEqual({
      kind: 'firing',
      incidentId: expect.stringMatching(/^[0-9a-f]{32}$/),
      ruleId: 'costly',
      ruleName: 'Costly call',
      severity: 'low',
      condition: 'span cost > $0.5',
      group: {},
      value: 0.75,
      threshold: 0.5,
      unit: 'USD',
      firstSeen: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      lastSeen: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      exampleTraceIds: [costly.traceId],
      exampleTraceLinks: [`https://grafana.example/explore?trace=${costly.traceId}`],
    });
  });

  it('emails the error incident over SMTP with a subject naming severity, rule and group', async () => {
    const [mail] = await waitFor('the email', () => (smtp.mails.length === 1 ? smtp.mails : undefined));
    expect(mail.from).toBe('tracehouse@example.com');
    expect(mail.to).toEqual(['oncall@example.com']);
    expect(mail.subject).toBe('[CRITICAL] Model errors firing: workspace=acme, model=gpt-4o');
    expect(mail.text).toContain('Condition:  span status error\n');
    expect(mail.text).toContain('Value:      1 span (threshold 0 spans)\n');
    expect(mail.text).toContain(`https://grafana.example/explore?trace=${failing.traceId}`);
  });

  it('updates the open incident on more matching spans without paging again', async () => {
    const before = await incidentRows(daemon, database);
    const errorIncident = before.find((r) => r.rule_id === 'errors');
    const again = [span({ status: 'error' }), span({ status: 'error' })];
    expect(await sendSpans(daemon, again)).toBe(200);
    // Per-span rules are applied before the receiver answers: the counters are final now.
    expect(await eventCount(daemon, 'incident', 'firing')).toBe(3);
    expect(await eventCount(daemon, 'incident', 'updated')).toBe(0);
    const row = await waitFor('the updated error incident', async () => {
      const found = (await incidentRows(daemon, database)).find((r) => r.rule_id === 'errors');
      return found && found.value === 3 ? found : undefined;
    });
    expect(row.incident_id).toBe(errorIncident?.incident_id);
    expect(row.example_trace_ids).toEqual([again[1].traceId, again[0].traceId, failing.traceId]);
    expect(row.first_seen).toBe(errorIncident?.first_seen);
    expect(await incidentRows(daemon, database)).toHaveLength(3);
    // 3 Slack posts, 1 webhook, 1 email (the counter moves when the target's answer is read).
    await waitFor('five deliveries counted', async () => (await eventCount(daemon, 'delivery', 'delivered')) === 5);
    expect(slack.posts).toHaveLength(3);
  });
});
