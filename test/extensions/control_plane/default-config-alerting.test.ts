/**
 * The repository's own pipelines.yaml runs the alert processor (no rules, no targets): settings
 * notifications, delivery targets and alert rules created over HTTP work on it out of the box.
 * The one edit: deliveries may reach the loopback stand-in (the default refuses private addresses).
 */
import { defaultConfigEnv, defaultPipelinesYaml, DEFAULT_CONFIG_KEY } from '../../support/default-daemon';
import { startDaemon } from '../../support/daemon';
import type { TestDaemon } from '../../support/daemon';
import { startHttpStandIn, waitFor } from '../../processors/alert/support';
import type { HttpStandIn } from '../../processors/alert/support';
import { apiCall } from './api-client';

describe('default pipelines.yaml: alerting over HTTP', () => {
  let slack: HttpStandIn;
  let daemon: TestDaemon;
  beforeAll(async () => {
    slack = await startHttpStandIn();
    const yaml = defaultPipelinesYaml();
    expect(yaml).toMatch(/^ {2}alert: \{\}$/m);
    daemon = await startDaemon(yaml.replace(/^ {2}alert: \{\}$/m, '  alert: { delivery: { allow_private_addresses: true, max_attempts: 1 } }'), {
      env: { ...defaultConfigEnv(), TRACEHOUSE_SECRETS_KEY: 'default-config-secrets-key-0123456789' },
    });
  }, 60_000);
  afterAll(async () => {
    await daemon?.stop();
    await slack?.close();
  });

  const call = (method: string, route: string, body?: unknown) => apiCall(daemon.receiverUrl('control_plane'), method, route, DEFAULT_CONFIG_KEY, body);

  it('PATCH /api/settings with slackWebhookUrl and notifyOnFlag notifies a flagged log', async () => {
    expect((await call('POST', '/api/rules', { name: 'No refunds', type: 'keyword_forbidden', value: 'refund' })).status).toBe(201);
    expect((await call('PATCH', '/api/settings', { slackWebhookUrl: `${slack.url}/services/DEV/DEFAULT/token`, notifyOnFlag: true })).status).toBe(200);
    const res = await fetch(`${daemon.receiverUrl('logs')}/api/logs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${DEFAULT_CONFIG_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ project: 'support', output: 'We will refund you.', sync: true }),
    });
    expect(((await res.json()) as { status: string }).status).toBe('flagged');
    const post = await waitFor('the Slack post', () => slack.posts.find((p) => p.path === '/services/DEV/DEFAULT/token'));
    expect(String(post.body.text)).toContain('workspace=dev');
  });

  it('a delivery target created over HTTP verifies, and an alert rule on it sends a test alert (no 503)', async () => {
    const target = await call('POST', '/v1/workspaces/dev/deliveries', { name: 'Slack verify', type: 'slack', config: { webhook_url: `${slack.url}/services/DEV/TARGET/token`, channel: '#ai-ops' }, default_severity: 'medium' });
    expect(target.status).toBe(201);
    const verify = await call('POST', `/v1/workspaces/dev/deliveries/${target.body.id}/verify`);
    expect(verify.status).toBe(200);
    await waitFor('the verification post', () => slack.posts.find((p) => p.path === '/services/DEV/TARGET/token'));
    const rule = await call('POST', '/v1/workspaces/dev/alert-rules', { name: 'High Latency', condition: { metric: 'latency', threshold_ms: 3000, window_seconds: 300 }, delivery_targets: [target.body.id], severity: 'high' });
    expect(rule.status).toBe(201);
    const before = slack.posts.filter((p) => p.path === '/services/DEV/TARGET/token').length;
    expect((await call('POST', `/v1/workspaces/dev/alert-rules/${rule.body.id}/test`)).status).toBe(200);
    await waitFor('the test alert', () => slack.posts.filter((p) => p.path === '/services/DEV/TARGET/token').length > before);
  });

  it("resolves the contract example's delivery_targets by name (created over HTTP), and refuses ambiguous or unknown ones with 422", async () => {
    const slackTarget = await call('POST', '/v1/workspaces/dev/deliveries', { name: 'Slack DevOps', type: 'slack', config: { webhook_url: `${slack.url}/services/DEV/NAMED/token`, channel: '#ai-ops' }, default_severity: 'medium' });
    const mailTarget = await call('POST', '/v1/workspaces/dev/deliveries', { name: 'Email Oncall', type: 'webhook', config: { url: `${slack.url}/hooks/oncall` }, default_severity: 'high' });
    expect([slackTarget.status, mailTarget.status]).toEqual([201, 201]);
    const example = { name: 'High Latency', condition: { metric: 'latency', threshold_ms: 3000, window_seconds: 300 }, delivery_targets: ['slack-devops', 'email-oncall'], severity: 'high' };
    const rule = await call('POST', '/v1/workspaces/dev/alert-rules', example);
    expect(rule.status).toBe(201);
    // Stored by id: renaming a target later does not lose it.
    expect(rule.body.delivery_targets).toEqual([slackTarget.body.id, mailTarget.body.id]);
    const tested = await call('POST', `/v1/workspaces/dev/alert-rules/${rule.body.id}/test`);
    expect(tested.status).toBe(200);
    await waitFor('the test alert by name', () => slack.posts.find((p) => p.path === '/services/DEV/NAMED/token'));
    await waitFor('the webhook test alert', () => slack.posts.find((p) => p.path === '/hooks/oncall'));
    // The exact name works too, as does the id.
    const exact = await call('POST', '/v1/workspaces/dev/alert-rules', { ...example, delivery_targets: ['Slack DevOps', mailTarget.body.id] });
    expect(exact.body.delivery_targets).toEqual([slackTarget.body.id, mailTarget.body.id]);

    await call('POST', '/v1/workspaces/dev/deliveries', { name: 'Pager', type: 'webhook', config: { url: `${slack.url}/hooks/a` } });
    await call('POST', '/v1/workspaces/dev/deliveries', { name: 'pager', type: 'webhook', config: { url: `${slack.url}/hooks/b` } });
    const ambiguous = await call('POST', '/v1/workspaces/dev/alert-rules', { ...example, delivery_targets: ['PAGER', 'nobody-here'] });
    expect(ambiguous.status).toBe(422);
    expect(ambiguous.body.fields.map((f: any) => f.field)).toEqual(['delivery_targets[0]', 'delivery_targets[1]']);
    expect(ambiguous.body.fields[0].message).toMatch(/names 2 delivery targets/);
    expect(ambiguous.body.fields[1].message).toMatch(/no delivery target/);
  });

  it('refuses an e-mail target without smtp and from with 422: the default config has no e-mail transport to lend', async () => {
    const refused = await call('POST', '/v1/workspaces/dev/deliveries', { name: 'Mail', type: 'email', config: { to: ['oncall@example.com'] } });
    expect(refused.status).toBe(422);
    expect(refused.body.fields.map((f: any) => f.field)).toEqual(['config.smtp', 'config.from']);
    expect(refused.body.error).toMatch(/no email target whose SMTP server/);
  });
});
