/**
 * Two daemons sharing one ClickHouse server (the HTTP test double), as the rules test runs them:
 * settings, an alert rule and a guardrail policy written on the first take effect on the second
 * within its refresh interval (polling only; no timing is asserted, waitFor is the only wait).
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDaemon, uniqueDatabase } from '../../support/daemon';
import type { TestDaemon } from '../../support/daemon';
import { ClickhouseHttpServer } from '../../support/clickhouse-http-server';
import { FakeLlmProvider } from '../../support/fake-llm-provider';
import { startHttpStandIn, waitFor } from '../../processors/alert/support';
import type { HttpStandIn } from '../../processors/alert/support';
import { apiCall } from './api-client';

const KEY = 'cp_two_daemons_key_0123456789ab';
const SECRETS_KEY = 'two-daemons-secrets-key-0123456789';

function yaml(clickhouse: string, database: string, upstream: string): string {
  return `receivers:
  logs:
    listen: 127.0.0.1:0
    attachments_dir: \${env:TEST_DATA_DIR}/attachments
  proxy:
    listen: 127.0.0.1:0
    upstreams:
      openai: { provider: openai, base_url: "${upstream}", api_key: "sk-config-openai-0001" }
    default_upstreams: { openai: openai }
    span_queue: { linger_ms: 10 }
processors:
  evaluate_rules:
    rules:
      - { id: no-refunds, name: No refunds, type: keyword_forbidden, value: refund }
  alert:
    delivery: { allow_private_addresses: true, max_attempts: 1, timeout_ms: 5000 }
    evaluation_interval_seconds: 3600
exporters:
  clickhouse:
    endpoint: ${clickhouse}
    database: ${database}
extensions:
  control_plane:
    listen: 127.0.0.1:0
workspaces:
  acme:
    api_keys: ["${KEY}"]
service:
  extensions: [control_plane]
  control_plane: { refresh_interval_ms: 100, secrets_key: "${SECRETS_KEY}" }
  admin: { listen: 127.0.0.1:0 }
  pipelines:
    traces: { receivers: [logs, proxy], processors: [evaluate_rules, alert], exporters: [clickhouse] }
`;
}

describe('control plane: changes on one daemon reach another sharing the store', () => {
  let clickhouse: ClickhouseHttpServer;
  let upstream: FakeLlmProvider;
  let slack: HttpStandIn;
  let first: TestDaemon;
  let second: TestDaemon;
  beforeAll(async () => {
    [clickhouse, upstream, slack] = await Promise.all([
      ClickhouseHttpServer.start({ path: mkdtempSync(path.join(os.tmpdir(), 'tracehouse-cp2-')) }),
      FakeLlmProvider.start(),
      startHttpStandIn(),
    ]);
    const config = yaml(clickhouse.url, uniqueDatabase('cp_two'), upstream.url);
    first = await startDaemon(config);
    second = await startDaemon(config);
  }, 60_000);
  afterAll(async () => {
    await first?.stop();
    await second?.stop();
    await Promise.all([clickhouse?.close(), upstream?.close(), slack?.close()]);
  });

  const call = (daemon: TestDaemon, method: string, route: string, body?: unknown) => apiCall(daemon.receiverUrl('control_plane'), method, route, KEY, body);
  const flaggedLog = async (daemon: TestDaemon) => {
    const res = await fetch(`${daemon.receiverUrl('logs')}/api/logs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ project: 'support', output: 'a refund is coming', sync: true }),
    });
    expect(((await res.json()) as { status: string }).status).toBe('flagged');
  };
  const chat = async (daemon: TestDaemon, content: string) => {
    const res = await fetch(`${daemon.receiverUrl('proxy')}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content }] }),
    });
    await res.text();
    return res.status;
  };

  it('settings written on the first notify from the second', async () => {
    const slackPath = '/services/TWO/DAEMONS/settings';
    expect((await call(first, 'PATCH', '/api/settings', { slackWebhookUrl: `${slack.url}${slackPath}`, notifyOnFlag: true })).status).toBe(200);
    // Each try sends one flagged log to the second daemon; its Slack post shows it applied the settings.
    await waitFor('a Slack post from the second daemon', async () => {
      await flaggedLog(second);
      return slack.posts.some((p) => p.path === slackPath) ? true : undefined;
    });
  });

  it('an alert rule created on the first is applied by the second (its test action reaches Slack)', async () => {
    const target = await call(first, 'POST', '/v1/workspaces/acme/deliveries', { name: 'Slack DevOps', type: 'slack', config: { webhook_url: `${slack.url}/services/TWO/DAEMONS/alerts` } });
    expect(target.status).toBe(201);
    const rule = await call(first, 'POST', '/v1/workspaces/acme/alert-rules', { name: 'High Latency', condition: { metric: 'latency', threshold_ms: 3000, window_seconds: 300 }, delivery_targets: ['slack-devops'], severity: 'high' });
    expect(rule.status).toBe(201);
    // 404 (not in the catalog yet) or 409 (not applied yet) until the second has it.
    const tested = await waitFor('the alert rule on the second daemon', async () => {
      const answer = await call(second, 'POST', `/v1/workspaces/acme/alert-rules/${rule.body.id}/test`);
      return answer.status === 200 ? answer : undefined;
    });
    expect(tested.body).toMatchObject({ rule_id: rule.body.id, delivered: true });
    await waitFor('the test alert', () => slack.posts.find((p) => p.path === '/services/TWO/DAEMONS/alerts'));
  });

  it('a guardrail policy created on the first blocks on the second, and stops once deleted there', async () => {
    expect(await chat(second, 'tell me about project-x')).toBe(200);
    const policy = await call(first, 'POST', '/v1/workspaces/acme/policies', { name: 'No codenames', status: 'active', rules: [{ id: 'no-project-x', type: 'keyword_forbidden', value: ['project-x'] }] });
    expect(policy.status).toBe(201);
    await waitFor('the policy on the second daemon', async () => ((await chat(second, 'tell me about project-x')) === 400 ? true : undefined));
    expect((await call(first, 'DELETE', `/v1/workspaces/acme/policies/${policy.body.id}`)).status).toBe(204);
    await waitFor('the deletion on the second daemon', async () => ((await chat(second, 'tell me about project-x')) === 200 ? true : undefined));
  });
});
