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
    const target = await call('POST', '/v1/workspaces/dev/deliveries', { name: 'Slack DevOps', type: 'slack', config: { webhook_url: `${slack.url}/services/DEV/TARGET/token`, channel: '#ai-ops' }, default_severity: 'medium' });
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
});
