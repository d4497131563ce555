/**
 * Workspace settings that notify, end to end: PATCH /api/settings (the control plane's settings
 * object), then a flagged log of that workspace reaches the Slack stand-in, the notification
 * e-mail (through the alert processor's SMTP target) and the outbound webhook, as the switches
 * say; turned off, it stops; other workspaces' logs never reach them.
 */
import type { TestDaemon } from '../../support/daemon';
import { startHttpStandIn, startSmtpStandIn, waitFor } from '../../processors/alert/support';
import type { HttpStandIn, SmtpStandIn } from '../../processors/alert/support';
import { ADMIN_KEY, OTHER_KEY, SECRETS_KEY, call, sendLog, startAlertDaemon } from './alert-daemon';

describe('control plane: workspace settings notifications', () => {
  let slack: HttpStandIn;
  let hook: HttpStandIn;
  let smtp: SmtpStandIn;
  let daemon: TestDaemon;

  beforeAll(async () => {
    [slack, hook, smtp] = await Promise.all([startHttpStandIn(), startHttpStandIn(), startSmtpStandIn()]);
    ({ daemon } = await startAlertDaemon('cp_settings_notify', { slack, smtp, secretsKey: SECRETS_KEY }));
  });
  afterAll(async () => {
    await daemon?.stop();
    await Promise.all([slack?.close(), hook?.close(), smtp?.close()]);
  });

  const patch = async (body: Record<string, unknown>, key = ADMIN_KEY) => {
    const answer = await call(daemon, 'PATCH', '/api/settings', key, body);
    expect(answer.status).toBe(200);
  };
  const slackPosts = (path: string) => slack.posts.filter((p) => p.path === path);

  it('sends a flagged log to the Slack webhook with notifyOnFlag, and stops when it is turned off', async () => {
    await patch({ slackWebhookUrl: `${slack.url}/services/ACME/SETTINGS/token`, notifyOnFlag: true, outboundWebhookUrl: `${hook.url}/acme`, outboundWebhookEvents: ['flagged'] });
    expect(await sendLog(daemon, ADMIN_KEY, { output: 'all good here' })).toBe('pass');
    expect(await sendLog(daemon, ADMIN_KEY, { output: 'We will refund you.' })).toBe('flagged');
    const [post] = await waitFor('the Slack post', () => (slackPosts('/services/ACME/SETTINGS/token').length > 0 ? slackPosts('/services/ACME/SETTINGS/token') : undefined));
    expect(post.body.text).toBe(':triangular_flag_on_post: [MEDIUM] Output flagged: workspace=acme, project=support, task=reply — verdict flagged (rules: No refunds)');
    const webhook = await waitFor('the outbound webhook', () => hook.posts.find((p) => p.path === '/acme'));
    expect(webhook.body).toMatchObject({ kind: 'flagged', event: 'log.flagged', severity: 'medium', group: { workspace: 'acme', project: 'support', task: 'reply' } });
    expect(webhook.body.exampleTraceIds).toHaveLength(1);
    // Only the flagged log was sent, to each.
    await waitFor('one webhook post', () => hook.posts.length === 1);
    expect(slackPosts('/services/ACME/SETTINGS/token')).toHaveLength(1);

    // Off: the next flagged log reaches the webhook (still on) but not Slack.
    await patch({ notifyOnFlag: false });
    expect(await sendLog(daemon, ADMIN_KEY, { output: 'another refund' })).toBe('flagged');
    await waitFor('the second webhook post', () => hook.posts.length === 2);
    expect(slackPosts('/services/ACME/SETTINGS/token')).toHaveLength(1);

    // On again but the Slack switch off: still nothing to Slack.
    await patch({ notifyOnFlag: true, slackNotificationsEnabled: false });
    expect(await sendLog(daemon, ADMIN_KEY, { output: 'refund number three' })).toBe('flagged');
    await waitFor('the third webhook post', () => hook.posts.length === 3);
    expect(slackPosts('/services/ACME/SETTINGS/token')).toHaveLength(1);

    // Webhook switched off, Slack back on: Slack gets it, the webhook does not.
    await patch({ slackNotificationsEnabled: true, webhookEnabled: false });
    expect(await sendLog(daemon, ADMIN_KEY, { output: 'refund four' })).toBe('flagged');
    await waitFor('the second Slack post', () => slackPosts('/services/ACME/SETTINGS/token').length === 2);
    expect(hook.posts).toHaveLength(3);
  });

  it('e-mails the notification address through the configured SMTP target with emailOnFlag', async () => {
    await patch({ notificationEmail: 'owner@acme.example', emailOnFlag: true });
    expect(await sendLog(daemon, ADMIN_KEY, { output: 'a refund by mail' })).toBe('flagged');
    const mail = await waitFor('the e-mail', () => smtp.mails.find((m) => m.to.includes('owner@acme.example')));
    expect(mail.from).toBe('tracehouse@example.com');
    expect(mail.text).toMatch(/^\[MEDIUM\] Output flagged: workspace=acme, project=support, task=reply\n/);
    expect(mail.text).toContain('Verdict:    verdict flagged (rules: No refunds)');

    await patch({ emailNotificationsEnabled: false });
    const before = slackPosts('/services/ACME/SETTINGS/token').length;
    expect(await sendLog(daemon, ADMIN_KEY, { output: 'refund without mail' })).toBe('flagged');
    await waitFor('the Slack post of that log', () => slackPosts('/services/ACME/SETTINGS/token').length === before + 1);
    expect(smtp.mails.filter((m) => m.to.includes('owner@acme.example'))).toHaveLength(1);
  });

  it("never sends another workspace's logs to these targets, and follows a settings object written directly", async () => {
    const before = slackPosts('/services/ACME/SETTINGS/token').length;
    await daemon.service.objects.write({ kind: 'settings', workspace: 'other', id: 'workspace', spec: { slackWebhookUrl: `${slack.url}/services/OTHER/SETTINGS/token`, notifyOnFlag: true }, changedBy: 'test' });
    expect(await sendLog(daemon, OTHER_KEY, { output: 'refund elsewhere' })).toBe('flagged');
    const [post] = await waitFor("the other workspace's Slack post", () => (slackPosts('/services/OTHER/SETTINGS/token').length > 0 ? slackPosts('/services/OTHER/SETTINGS/token') : undefined));
    expect(post.body.text).toContain('workspace=other');
    expect(slackPosts('/services/ACME/SETTINGS/token')).toHaveLength(before);
    // A pass log notifies nobody.
    expect(await sendLog(daemon, OTHER_KEY, { output: 'fine' })).toBe('pass');
    expect(await sendLog(daemon, OTHER_KEY, { output: 'refund again' })).toBe('flagged');
    await waitFor('the second post', () => slackPosts('/services/OTHER/SETTINGS/token').length === 2);
    expect(slackPosts('/services/OTHER/SETTINGS/token').every((p) => String(p.body.text).includes('flagged'))).toBe(true);
  });
});
