/**
 * Delivery targets that fail: retried with backoff until they recover, counted as failed when they
 * never do, refused when private addresses are not allowed — and in every case the pipeline keeps
 * answering 200. Then the `test` action for each target type.
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startDaemon, uniqueDatabase, type TestDaemon } from '../../support/daemon';
import {
  action,
  alertPipelineYaml,
  eventCount,
  sendSpans,
  span,
  startHttpStandIn,
  startSmtpStandIn,
  waitFor,
  type HttpStandIn,
  type SmtpStandIn,
} from './support';

const FAST_RETRIES = 'delivery: { allow_private_addresses: true, initial_backoff_ms: 10, max_backoff_ms: 40, max_attempts: 4 }';

describe('a delivery target that is down', () => {
  it('is retried with backoff and delivered once it recovers', async () => {
    const hook = await startHttpStandIn();
    hook.statuses = [500, 503];
    const daemon = await startDaemon(
      alertPipelineYaml(
        uniqueDatabase('alert_retry'),
        `
${FAST_RETRIES}
targets:
  pager: { type: webhook, url: "${hook.url}/alerts" }
rules:
  - { id: errors, name: Errors, targets: [pager], condition: { type: error_status } }
`,
      ),
    );
    try {
      expect(await sendSpans(daemon, [span({ status: 'error' })])).toBe(200);
      await waitFor('the delivery after two failures', () => hook.posts.length === 1);
      expect(hook.attempts).toBe(3);
      expect(hook.posts[0].body).toMatchObject({ kind: 'firing', ruleId: 'errors' });
      await waitFor('the delivered count', async () => (await eventCount(daemon, 'delivery', 'delivered')) === 1);
      expect(await eventCount(daemon, 'delivery', 'retried')).toBe(2);
      expect(await eventCount(daemon, 'delivery', 'failed')).toBe(0);
    } finally {
      await daemon.stop();
      await hook.close();
    }
  });

  it('is counted as failed when it never recovers, while the pipeline keeps answering 200', async () => {
    const hook = await startHttpStandIn();
    hook.always = 500;
    const daemon = await startDaemon(
      alertPipelineYaml(
        uniqueDatabase('alert_down'),
        `
${FAST_RETRIES}
targets:
  pager: { type: webhook, url: "${hook.url}/alerts" }
rules:
  - { id: errors, name: Errors, targets: [pager], condition: { type: error_status }, group_by: ["attribute:request.id"] }
`,
      ),
    );
    try {
      // Two incidents (two groups), each given up on after 4 attempts.
      expect(await sendSpans(daemon, [span({ status: 'error', attributes: { 'request.id': 'a' } })])).toBe(200);
      expect(await sendSpans(daemon, [span({ status: 'error', attributes: { 'request.id': 'b' } })])).toBe(200);
      await waitFor('two failed deliveries', async () => (await eventCount(daemon, 'delivery', 'failed')) === 2);
      expect(hook.attempts).toBe(8);
      expect(await eventCount(daemon, 'delivery', 'retried')).toBe(6);
      expect(await eventCount(daemon, 'delivery', 'delivered')).toBe(0);
      expect(await sendSpans(daemon, [span({ status: 'error', attributes: { 'request.id': 'a' } })])).toBe(200);
    } finally {
      await daemon.stop();
      await hook.close();
    }
  });

  it('does not hold up the pipeline while a target hangs, and gives up on it after timeout_ms', async () => {
    const held: http.ServerResponse[] = [];
    const hanging = http.createServer((_req, res) => void held.push(res));
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}`;
    const daemon = await startDaemon(
      alertPipelineYaml(
        uniqueDatabase('alert_hang'),
        `
delivery: { allow_private_addresses: true, timeout_ms: 300, max_attempts: 1 }
targets:
  pager: { type: webhook, url: "${url}/alerts" }
rules:
  - { id: errors, name: Errors, targets: [pager], condition: { type: error_status } }
`,
      ),
    );
    try {
      expect(await sendSpans(daemon, [span({ status: 'error' })])).toBe(200);
      await waitFor('the hanging delivery to be attempted', () => held.length === 1);
      expect(await sendSpans(daemon, [span()])).toBe(200);
      await waitFor('the timed-out delivery counted', async () => (await eventCount(daemon, 'delivery', 'failed')) === 1);
    } finally {
      await daemon.stop();
      hanging.closeAllConnections();
      await new Promise((resolve) => hanging.close(resolve));
    }
  });

  it('never reaches a loopback address unless allow_private_addresses is on', async () => {
    const hook = await startHttpStandIn();
    const daemon = await startDaemon(
      alertPipelineYaml(
        uniqueDatabase('alert_ssrf'),
        `
targets:
  pager: { type: webhook, url: "${hook.url}/alerts" }
rules:
  - { id: errors, name: Errors, targets: [pager], condition: { type: error_status } }
`,
      ),
    );
    try {
      expect(await sendSpans(daemon, [span({ status: 'error' })])).toBe(200);
      // Refused addresses are not retryable: failed at the first attempt.
      await waitFor('the refused delivery', async () => (await eventCount(daemon, 'delivery', 'failed')) === 1);
      expect(await eventCount(daemon, 'delivery', 'retried')).toBe(0);
      expect(hook.attempts).toBe(0);
      const test = await action(daemon, 'test', { target: 'pager' });
      expect(test.status).toBe(502);
      expect(test.body.error).toMatch(/^127\.0\.0\.1:\d+ is a loopback address, which outbound calls may not reach \(allow_private_addresses is off\)$/);
    } finally {
      await daemon.stop();
      await hook.close();
    }
  });
});

describe('the test action', () => {
  const SECRET = 'test-action-secret';
  let slack: HttpStandIn;
  let hook: HttpStandIn;
  let broken: HttpStandIn;
  let smtp: SmtpStandIn;
  let daemon: TestDaemon;

  beforeAll(async () => {
    [slack, hook, broken, smtp] = await Promise.all([startHttpStandIn(), startHttpStandIn(), startHttpStandIn(), startSmtpStandIn()]);
    broken.always = 500;
    // No rules at all: targets can be tried before any rule uses them.
    daemon = await startDaemon(
      alertPipelineYaml(
        uniqueDatabase('alert_test_action'),
        `
${FAST_RETRIES}
targets:
  slack-oncall: { type: slack, webhook_url: "${slack.url}/services/T000/B000/XXXX", channel: "#ai-ops" }
  pager: { type: webhook, url: "${hook.url}/alerts", signing_secret: ${SECRET} }
  broken: { type: webhook, url: "${broken.url}/alerts" }
  email-oncall:
    type: email
    smtp: { host: 127.0.0.1, port: ${smtp.port}, ignore_tls: true }
    from: tracehouse@example.com
    to: [oncall@example.com, sre@example.com]
`,
      ),
    );
  });

  afterAll(async () => {
    await daemon?.stop();
    await Promise.all([slack?.close(), hook?.close(), broken?.close(), smtp?.close()]);
  });

  it('posts a test message to Slack and answers once it was delivered', async () => {
    const res = await action(daemon, 'test', { target: 'slack-oncall' });
    expect(res).toEqual({ status: 200, body: { ok: true, result: { delivered: true, target: 'slack-oncall', type: 'slack' } } });
    expect(slack.posts).toHaveLength(1);
    expect(slack.posts[0].path).toBe('/services/T000/B000/XXXX');
    expect(slack.posts[0].body).toMatchObject({
      channel: '#ai-ops',
      text: ':information_source: [TEST] Tracehouse test alert: test notification from alert to target slack-oncall',
    });
  });

  it('sends a signed test notification to a webhook', async () => {
    const res = await action(daemon, 'test', { target: 'pager' });
    expect(res.body.result).toEqual({ delivered: true, target: 'pager', type: 'webhook' });
    const [post] = hook.posts;
    const timestamp = String(post.headers['x-tracehouse-timestamp']);
    expect(post.headers['x-tracehouse-signature']).toBe(`v1=${createHmac('sha256', SECRET).update(`${timestamp}.${post.raw}`).digest('hex')}`);
    expect(post.body).toMatchObject({ kind: 'test', ruleName: 'Tracehouse test alert', group: {}, exampleTraceIds: [] });
  });

  it('emails a test message over SMTP', async () => {
    const res = await action(daemon, 'test', { target: 'email-oncall' });
    expect(res.body.result).toEqual({ delivered: true, target: 'email-oncall', type: 'email' });
    expect(smtp.mails).toHaveLength(1);
    expect(smtp.mails[0].to).toEqual(['oncall@example.com', 'sre@example.com']);
    expect(smtp.mails[0].subject).toBe('[TEST] Tracehouse test alert: test notification from alert to target email-oncall');
    expect(smtp.mails[0].text).toContain('Rule:       Tracehouse test alert (test)\n');
  });

  it('fails with the delivery error, after one attempt, when the target is down', async () => {
    const res = await action(daemon, 'test', { target: 'broken' });
    expect(res.status).toBe(502);
    expect(res.body).toEqual({ ok: false, error: `${new URL(broken.url).host} answered 500` });
    expect(broken.attempts).toBe(1);
  });

  it('refuses an unknown target or a missing one as the operator’s mistake', async () => {
    expect(await action(daemon, 'test', { target: 'nope' })).toEqual({
      status: 400,
      body: { ok: false, error: 'unknown target "nope" (targets: slack-oncall, pager, broken, email-oncall)' },
    });
    expect(await action(daemon, 'test', {})).toEqual({ status: 400, body: { ok: false, error: 'the test action needs {"target": "<target id>"}' } });
  });

  it('answers an evaluate round with nothing firing when there are no rules', async () => {
    const res = await action(daemon, 'evaluate');
    expect(res.status).toBe(200);
    expect(res.body.result).toMatchObject({ firing: [], resolved: [], errors: [] });
  });
});
