/**
 * Workspace settings for failed evaluations, end to end: a log whose rule could not run (an
 * llm_judge rule with no provider key: verdict `error`) reaches Slack with notifyOnFail, the
 * notification e-mail with emailOnFail, and the outbound webhook when its events name errors in
 * any accepted spelling (normalized on write); a webhook listening for flagged logs only never
 * gets it. Names the webhook never sends are refused with 422.
 */
import type { TestDaemon } from '../../support/daemon';
import { startHttpStandIn, startSmtpStandIn, waitFor } from '../../processors/alert/support';
import type { HttpStandIn, SmtpStandIn } from '../../processors/alert/support';
import { ADMIN_KEY, SECRETS_KEY, call, sendLog, startAlertDaemon } from './alert-daemon';

describe('control plane: settings notifications of failed evaluations', () => {
  let slack: HttpStandIn;
  let hook: HttpStandIn;
  let smtp: SmtpStandIn;
  let daemon: TestDaemon;

  beforeAll(async () => {
    [slack, hook, smtp] = await Promise.all([startHttpStandIn(), startHttpStandIn(), startSmtpStandIn()]);
    ({ daemon } = await startAlertDaemon('cp_settings_fail', { slack, smtp, secretsKey: SECRETS_KEY }));
    // Logs of task "judged" get an llm_judge rule no provider key is configured for: verdict error.
    const rule = await call(daemon, 'POST', '/api/rules', ADMIN_KEY, { name: 'Judged politely', type: 'llm_judge', value: 'The answer is polite', taskName: 'judged' });
    expect(rule.status).toBe(201);
  });
  afterAll(async () => {
    await daemon?.stop();
    await Promise.all([slack?.close(), hook?.close(), smtp?.close()]);
  });

  const patch = async (body: Record<string, unknown>) => {
    const answer = await call(daemon, 'PATCH', '/api/settings', ADMIN_KEY, body);
    expect(answer.status).toBe(200);
  };

  it('accepts the event names the webhook knows, stores them normalized, and refuses others with 422', async () => {
    await patch({ outboundWebhookEvents: ['log.failed', 'FLAG', 'flagged'] });
    expect((await call(daemon, 'GET', '/api/settings', ADMIN_KEY)).body.outboundWebhookEvents).toEqual(['flagged', 'error']);
    await patch({ outboundWebhookEvents: ['all'] });
    expect((await call(daemon, 'GET', '/api/settings', ADMIN_KEY)).body.outboundWebhookEvents).toEqual(['flagged', 'error']);
    await patch({ outboundWebhookEvents: ['fail'] });
    expect((await call(daemon, 'GET', '/api/settings', ADMIN_KEY)).body.outboundWebhookEvents).toEqual(['error']);
    const refused = await call(daemon, 'PATCH', '/api/settings', ADMIN_KEY, { outboundWebhookEvents: ['error', 'pass'] });
    expect(refused.status).toBe(422);
    expect(refused.body.fields).toEqual([expect.objectContaining({ field: 'outboundWebhookEvents[1]' })]);
  });

  it('sends an errored log to Slack (notifyOnFail), e-mail (emailOnFail) and the webhook (error event)', async () => {
    await patch({
      slackWebhookUrl: `${slack.url}/services/ACME/FAIL/token`,
      notifyOnFlag: false,
      notifyOnFail: true,
      notificationEmail: 'owner@acme.example',
      emailOnFail: true,
      outboundWebhookUrl: `${hook.url}/errors`,
      outboundWebhookEvents: ['failed'],
    });
    expect(await sendLog(daemon, ADMIN_KEY, { task: 'judged', output: 'a plain answer' })).toBe('error');
    const post = await waitFor('the Slack post', () => slack.posts.find((p) => p.path === '/services/ACME/FAIL/token'));
    expect(String(post.body.text)).toContain('verdict error (could not run: Judged politely)');
    const mail = await waitFor('the e-mail', () => smtp.mails.find((m) => m.to.includes('owner@acme.example')));
    expect(mail.text).toContain('verdict error');
    const webhook = await waitFor('the webhook post', () => hook.posts.find((p) => p.path === '/errors'));
    expect(webhook.body).toMatchObject({ kind: 'failed', event: 'log.failed', group: { workspace: 'acme', task: 'judged' } });

    // A flagged log goes nowhere: every channel here listens for failures only.
    expect(await sendLog(daemon, ADMIN_KEY, { output: 'a refund' })).toBe('flagged');
    expect(await sendLog(daemon, ADMIN_KEY, { task: 'judged', output: 'another plain answer' })).toBe('error');
    await waitFor('the second webhook post', () => hook.posts.length === 2);
    await waitFor('the second Slack post', () => slack.posts.filter((p) => p.path === '/services/ACME/FAIL/token').length === 2);
    expect(hook.posts.every((p) => p.body.event === 'log.failed')).toBe(true);
    expect(slack.posts.filter((p) => p.path === '/services/ACME/FAIL/token').every((p) => String(p.body.text).includes('verdict error'))).toBe(true);

    // Listening for flagged logs only, the webhook no longer gets errors.
    await patch({ outboundWebhookEvents: ['log.flagged'] });
    expect(await sendLog(daemon, ADMIN_KEY, { task: 'judged', output: 'a third plain answer' })).toBe('error');
    await waitFor('the third Slack post', () => slack.posts.filter((p) => p.path === '/services/ACME/FAIL/token').length === 3);
    expect(hook.posts.filter((p) => p.body.event === 'log.failed')).toHaveLength(2);
  });
});
