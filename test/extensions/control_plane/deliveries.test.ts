/**
 * /v1/workspaces/:id/deliveries through HTTP against a real daemon: the contract's example body,
 * secrets sealed in tracehouse_objects and its audit table and masked in every answer, verify
 * reaching the Slack stand-in, a PUT that sends the masked value back keeping the secret, 422 per
 * field, 403, If-Match, a target in use refused, and a daemon without a secrets key refusing 422.
 */
import type { TestDaemon } from '../../support/daemon';
import { queryRows } from '../../support/daemon';
import { startHttpStandIn, startSmtpStandIn } from '../../processors/alert/support';
import type { HttpStandIn, SmtpStandIn } from '../../processors/alert/support';
import { ADMIN_KEY, OTHER_KEY, READ_KEY, SECRETS_KEY, call, startAlertDaemon } from './alert-daemon';

const DELIVERIES = '/v1/workspaces/acme/deliveries';
const SLACK_SECRET_PATH = '/services/T0SECRET/B0SECRET/verysecrettoken42';
const SMTP_PASSWORD = 'smtp-password-never-shown-9f8e7d';
const SIGNING_SECRET = 'hook-signing-secret-never-shown-1a2b';

describe('control plane: delivery targets', () => {
  let slack: HttpStandIn;
  let smtp: SmtpStandIn;
  let daemon: TestDaemon;
  let database: string;
  const seen: string[] = [];

  beforeAll(async () => {
    [slack, smtp] = await Promise.all([startHttpStandIn(), startSmtpStandIn()]);
    ({ daemon, database } = await startAlertDaemon('cp_deliveries', { slack, smtp, secretsKey: SECRETS_KEY }));
  });
  afterAll(async () => {
    await daemon?.stop();
    await Promise.all([slack?.close(), smtp?.close()]);
  });

  it('creates the contract example with its secret sealed at rest and masked in every answer, and verifies it', async () => {
    const example = { name: 'Slack DevOps', type: 'slack', config: { webhook_url: `${slack.url}${SLACK_SECRET_PATH}`, channel: '#ai-ops' }, default_severity: 'medium' };
    const created = await call(daemon, 'POST', DELIVERIES, ADMIN_KEY, example, {}, seen);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'Slack DevOps', type: 'slack', default_severity: 'medium', config: { channel: '#ai-ops' }, source: 'api', version: 1 });
    expect(created.body.id).toMatch(/^dlv_[0-9a-f]{16}$/);
    expect(created.body.config.webhook_url).toBe('htt…en42');
    const id = created.body.id;

    expect((await call(daemon, 'GET', `${DELIVERIES}/${id}`, READ_KEY, undefined, {}, seen)).body.config.webhook_url).toBe('htt…en42');
    const list = await call(daemon, 'GET', DELIVERIES, READ_KEY, undefined, {}, seen);
    expect(list.body.data.map((t: any) => t.id)).toEqual(expect.arrayContaining([id, 'slack-devops', 'email-oncall']));
    expect(list.body.data.find((t: any) => t.id === 'slack-devops')).toMatchObject({ source: 'config', type: 'slack', config: { channel: '#ai-ops' } });

    const verified = await call(daemon, 'POST', `${DELIVERIES}/${id}/verify`, ADMIN_KEY, undefined, {}, seen);
    expect(verified.status).toBe(200);
    expect(verified.body).toMatchObject({ target_id: id, verified: true, sent: { kind: 'test', severity: 'medium' } });
    const post = slack.posts.find((p) => p.path === SLACK_SECRET_PATH);
    expect(post?.body.channel).toBe('#ai-ops');
    expect(post?.body.text).toContain('Slack DevOps');
    expect(post?.body.text).toContain('verification');

    // PUT with the masked value as read keeps the stored URL: the next verify still reaches it.
    const read = (await call(daemon, 'GET', `${DELIVERIES}/${id}`, ADMIN_KEY)).body;
    const replaced = await call(daemon, 'PUT', `${DELIVERIES}/${id}`, ADMIN_KEY, { name: read.name, type: read.type, config: { ...read.config, channel: '#ai-ops-2' }, default_severity: 'high' }, { 'if-match': '"1"' }, seen);
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({ version: 2, default_severity: 'high', config: { webhook_url: 'htt…en42', channel: '#ai-ops-2' } });
    const before = slack.posts.length;
    expect((await call(daemon, 'POST', `${DELIVERIES}/${id}/verify`, ADMIN_KEY, undefined, {}, seen)).body.verified).toBe(true);
    expect(slack.posts.slice(before)).toEqual([expect.objectContaining({ path: SLACK_SECRET_PATH, body: expect.objectContaining({ channel: '#ai-ops-2' }) })]);

    // Webhook and email secrets too.
    const hook = await call(daemon, 'POST', DELIVERIES, ADMIN_KEY, { name: 'Pager', type: 'webhook', config: { url: `${slack.url}/hooks/pager`, signing_secret: SIGNING_SECRET, headers: { Authorization: 'Bearer pager-token-never-shown' } } }, {}, seen);
    expect(hook.status).toBe(201);
    expect(hook.body.config).toMatchObject({ signing_secret: 'hoo…1a2b', headers: { Authorization: 'Bea…hown' } });
    const mail = await call(daemon, 'POST', DELIVERIES, ADMIN_KEY, { name: 'On call', type: 'email', config: { smtp: { host: '127.0.0.1', port: smtp.port, auth: { user: 'alerts', pass: SMTP_PASSWORD } }, from: 'tracehouse@example.com', to: ['oncall@example.com'] } }, {}, seen);
    expect(mail.status).toBe(201);
    expect(mail.body.config.smtp).toMatchObject({ host: '127.0.0.1', secure: false, auth: { user: 'alerts', pass: 'smt…8e7d' } });

    const stored = JSON.stringify(await queryRows(daemon, 'SELECT * FROM tracehouse_objects', database));
    const audit = JSON.stringify(await queryRows(daemon, 'SELECT * FROM tracehouse_object_audit', database));
    expect(stored).toContain('Slack DevOps');
    expect(stored).toContain('enc:v1:');
    for (const secret of ['verysecrettoken42', SMTP_PASSWORD, SIGNING_SECRET, 'pager-token-never-shown']) {
      expect(stored).not.toContain(secret);
      expect(audit).not.toContain(secret);
      for (const text of seen) expect(text).not.toContain(secret);
    }
  });

  it('verifies an email target through the SMTP stand-in and reports a target that is down', async () => {
    const mail = await call(daemon, 'POST', DELIVERIES, ADMIN_KEY, { name: 'Mail', type: 'email', config: { smtp: { host: '127.0.0.1', port: smtp.port, ignore_tls: true }, from: 'tracehouse@example.com', to: ['team@example.com'] }, default_severity: 'low' });
    const verified = await call(daemon, 'POST', `${DELIVERIES}/${mail.body.id}/verify`, ADMIN_KEY);
    expect(verified.body).toMatchObject({ verified: true, sent: { severity: 'low' } });
    expect(smtp.mails.find((m) => m.to.includes('team@example.com'))?.text).toContain('"Mail" is set up');

    const down = await call(daemon, 'POST', DELIVERIES, ADMIN_KEY, { name: 'Down', type: 'webhook', config: { url: `${slack.url}/down` } });
    slack.statuses = [503];
    const failed = await call(daemon, 'POST', `${DELIVERIES}/${down.body.id}/verify`, ADMIN_KEY);
    expect(failed.status).toBe(200);
    expect(failed.body).toMatchObject({ verified: false, error: expect.stringMatching(/answered 503/) });
    // A config target can be verified too; an unknown one is 404.
    expect((await call(daemon, 'POST', `${DELIVERIES}/slack-devops/verify`, ADMIN_KEY)).body.verified).toBe(true);
    expect((await call(daemon, 'POST', `${DELIVERIES}/dlv_0000000000000000/verify`, ADMIN_KEY)).status).toBe(404);
    expect((await call(daemon, 'POST', `${DELIVERIES}/${down.body.id}/verify`, READ_KEY)).status).toBe(403);
  });

  it('refuses bad bodies per field, other workspaces, read-only keys, stale If-Match, and deleting a target in use', async () => {
    const bad = await call(daemon, 'POST', DELIVERIES, ADMIN_KEY, { name: '', type: 'pager', config: 3, default_severity: 'urgent' });
    expect(bad.status).toBe(422);
    expect(bad.body.fields.map((f: any) => f.field).sort()).toEqual(['config', 'default_severity', 'name', 'type']);
    const badConfig = await call(daemon, 'POST', DELIVERIES, ADMIN_KEY, { name: 'x', type: 'slack', config: { webhook_url: 'not a url', colour: 'red' } });
    expect(badConfig.status).toBe(422);
    expect(badConfig.body.fields.map((f: any) => f.field).sort()).toEqual(['config', 'config.webhook_url']);
    const badMail = await call(daemon, 'POST', DELIVERIES, ADMIN_KEY, { name: 'x', type: 'email', config: { smtp: { host: 'h', port: 70000 }, to: [] } });
    // from may be left out (the configured e-mail transport's sender is used).
    expect(badMail.body.fields.map((f: any) => f.field).sort()).toEqual(['config.smtp.port', 'config.to']);

    const valid = { name: 'Hook', type: 'webhook', config: { url: `${slack.url}/hook` } };
    expect((await call(daemon, 'POST', '/v1/workspaces/other/deliveries', ADMIN_KEY, valid)).status).toBe(403);
    expect((await call(daemon, 'POST', DELIVERIES, OTHER_KEY, valid)).status).toBe(403);
    expect((await call(daemon, 'POST', DELIVERIES, READ_KEY, valid)).status).toBe(403);

    const created = await call(daemon, 'POST', DELIVERIES, ADMIN_KEY, valid);
    const url = `${DELIVERIES}/${created.body.id}`;
    expect((await call(daemon, 'PUT', url, ADMIN_KEY, { ...valid, name: 'Renamed' }, { 'if-match': '"7"' })).status).toBe(412);
    const rule = await call(daemon, 'POST', '/v1/workspaces/acme/alert-rules', ADMIN_KEY, { name: 'Uses it', condition: { metric: 'span_count', threshold: 1, window_seconds: 60 }, delivery_targets: [created.body.id] });
    expect(rule.status).toBe(201);
    const inUse = await call(daemon, 'DELETE', url, ADMIN_KEY);
    expect(inUse.status).toBe(409);
    expect(inUse.body.error).toContain(rule.body.id);
    expect((await call(daemon, 'DELETE', `/v1/workspaces/acme/alert-rules/${rule.body.id}`, ADMIN_KEY)).status).toBe(204);
    expect((await call(daemon, 'DELETE', url, ADMIN_KEY, undefined, { 'if-match': '"2"' })).status).toBe(412);
    expect((await call(daemon, 'DELETE', url, ADMIN_KEY, undefined, { 'if-match': '"1"' })).status).toBe(204);
    expect((await call(daemon, 'GET', url, ADMIN_KEY)).status).toBe(404);
    expect((await call(daemon, 'DELETE', `${DELIVERIES}/slack-devops`, ADMIN_KEY)).status).toBe(409);

    const filtered = await call(daemon, 'GET', `${DELIVERIES}?type=email&sort=name:asc`, READ_KEY);
    expect(filtered.body.data.every((t: any) => t.type === 'email')).toBe(true);
    expect(filtered.body.data.map((t: any) => t.name)).toEqual(['email-oncall', 'Mail', 'On call']);
    expect(filtered.body.total).toBe(3);
  });

  it("sends an e-mail target without smtp/from through the alert processor's configured e-mail transport", async () => {
    const created = await call(daemon, 'POST', DELIVERIES, ADMIN_KEY, { name: 'Team mail', type: 'email', config: { to: ['team-only@acme.example'] } });
    expect(created.status).toBe(201);
    expect(created.body.config).toEqual({ to: ['team-only@acme.example'] });
    const verified = await call(daemon, 'POST', `${DELIVERIES}/${created.body.id}/verify`, ADMIN_KEY);
    expect(verified.body).toMatchObject({ verified: true });
    const mail = smtp.mails.find((m) => m.to.includes('team-only@acme.example'));
    expect(mail?.from).toBe('tracehouse@example.com');
  });

  it('pages with Link headers, sorts by severity (alias of default_severity), filters, and answers deprecated names with a Deprecation header', async () => {
    const fresh = await startAlertDaemon('cp_deliveries_list', { slack, smtp, secretsKey: SECRETS_KEY });
    const base = '/v1/workspaces/other/deliveries';
    const severities = ['high', 'low', 'critical', 'medium', 'low'];
    const ids: string[] = [];
    try {
      for (const [i, severity] of severities.entries()) {
        const created = await call(fresh.daemon, 'POST', base, OTHER_KEY, { name: `Hook ${i}`, type: 'webhook', config: { url: `${slack.url}/hook/${i}` }, default_severity: severity });
        expect(created.status).toBe(201);
        ids.push(created.body.id);
      }
      // Default: newest first; the config targets (older) come last.
      const first = await call(fresh.daemon, 'GET', `${base}?source=api&limit=2`, OTHER_KEY);
      expect(first.body).toMatchObject({ total: 5, page: 1, limit: 2 });
      expect(first.body.data.map((t: any) => t.id)).toEqual([ids[4], ids[3]]);
      const link = first.headers.get('link') ?? '';
      expect(link).toContain(`<${base}?source=api&limit=2&page=1>; rel="first"`);
      expect(link).toContain(`<${base}?source=api&limit=2&page=2>; rel="next"`);
      expect(link).toContain(`<${base}?source=api&limit=2&page=3>; rel="last"`);
      expect(link).not.toContain('rel="prev"');
      expect(first.headers.get('x-total-count')).toBe('5');
      const last = await call(fresh.daemon, 'GET', `${base}?source=api&limit=2&page=3`, OTHER_KEY);
      expect(last.body.data.map((t: any) => t.id)).toEqual([ids[0]]);
      expect(last.headers.get('link')).toContain('page=2>; rel="prev"');
      expect(last.headers.get('link')).not.toContain('rel="next"');

      const bySeverity = await call(fresh.daemon, 'GET', `${base}?source=api&sort=severity:asc`, OTHER_KEY);
      expect(bySeverity.status).toBe(200);
      expect(bySeverity.body.data.map((t: any) => t.default_severity)).toEqual(['low', 'low', 'medium', 'high', 'critical']);
      expect(bySeverity.headers.get('deprecation')).toBeNull();

      const aliasFilter = await call(fresh.daemon, 'GET', `${base}?severity=low`, OTHER_KEY);
      expect(aliasFilter.body.data.map((t: any) => t.name).sort()).toEqual(['Hook 1', 'Hook 4']);
      expect(aliasFilter.headers.get('deprecation')).toMatch(/^@\d+$/);
      expect(aliasFilter.headers.get('x-deprecation-notice')).toBe('severity: DEPRECATED: Use default_severity instead. Will be removed in v0.3.0');
      expect(aliasFilter.headers.get('link')).toContain('default_severity=low');
      const current = await call(fresh.daemon, 'GET', `${base}?default_severity=low`, OTHER_KEY);
      expect(current.body.total).toBe(2);
      expect(current.headers.get('deprecation')).toBeNull();

      const aliasBody = await call(fresh.daemon, 'POST', base, OTHER_KEY, { name: 'Old body', type: 'webhook', config: { url: `${slack.url}/old` }, severity: 'high' });
      expect(aliasBody.status).toBe(201);
      expect(aliasBody.body).toMatchObject({ default_severity: 'high' });
      expect(aliasBody.headers.get('deprecation')).toMatch(/^@\d+$/);
      const both = await call(fresh.daemon, 'POST', base, OTHER_KEY, { name: 'Both', type: 'webhook', config: { url: `${slack.url}/both` }, severity: 'high', default_severity: 'low' });
      expect(both.status).toBe(422);
      expect(both.body.fields).toEqual([expect.objectContaining({ field: 'severity' })]);

      expect((await call(fresh.daemon, 'GET', `${base}?limit=1000`, OTHER_KEY)).body.limit).toBe(100);
      expect((await call(fresh.daemon, 'GET', `${base}?limit=0`, OTHER_KEY)).status).toBe(422);
    } finally {
      await fresh.daemon.stop();
    }
  });
});

describe('control plane: delivery targets without a secrets key', () => {
  it('refuses a target holding a secret with 422 and stores one without', async () => {
    const [slack, smtp] = await Promise.all([startHttpStandIn(), startSmtpStandIn()]);
    const { daemon } = await startAlertDaemon('cp_deliveries_nokey', { slack, smtp });
    try {
      const refused = await call(daemon, 'POST', DELIVERIES, ADMIN_KEY, { name: 'Slack', type: 'slack', config: { webhook_url: `${slack.url}${SLACK_SECRET_PATH}` } });
      expect(refused.status).toBe(422);
      expect(refused.body.error).toMatch(/secrets_key/);
      expect(refused.text).not.toContain('verysecrettoken42');
      const mail = await call(daemon, 'POST', DELIVERIES, ADMIN_KEY, { name: 'Mail', type: 'email', config: { smtp: { host: '127.0.0.1', port: smtp.port }, from: 'a@example.com', to: ['b@example.com'] } });
      expect(mail.status).toBe(201);
      expect((await call(daemon, 'GET', DELIVERIES, READ_KEY)).body.data.map((t: any) => t.name)).not.toContain('Slack');
    } finally {
      await daemon.stop();
      await Promise.all([slack.close(), smtp.close()]);
    }
  });
});
