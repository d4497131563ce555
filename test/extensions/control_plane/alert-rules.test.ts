/**
 * /v1/workspaces/:id/alert-rules through HTTP against a real daemon: the contract's example body,
 * a rule created over HTTP firing an incident to a local Slack stand-in (and only on its
 * workspace's spans), the test action reaching Slack and SMTP, PUT/DELETE with If-Match, config
 * rules read-only, 422 per field, 403 for another workspace or a read-only key, list conventions.
 */
import type { TestDaemon } from '../../support/daemon';
import { action, incidentRows, startHttpStandIn, startSmtpStandIn, waitFor } from '../../processors/alert/support';
import type { HttpStandIn, SmtpStandIn } from '../../processors/alert/support';
import { ADMIN_KEY, OTHER_KEY, READ_KEY, SECRETS_KEY, call, sendLog, startAlertDaemon } from './alert-daemon';

const RULES = '/v1/workspaces/acme/alert-rules';

describe('control plane: alert rules', () => {
  let slack: HttpStandIn;
  let smtp: SmtpStandIn;
  let daemon: TestDaemon;
  let database: string;

  beforeAll(async () => {
    [slack, smtp] = await Promise.all([startHttpStandIn(), startSmtpStandIn()]);
    ({ daemon, database } = await startAlertDaemon('cp_alert_rules', {
      slack,
      smtp,
      secretsKey: SECRETS_KEY,
      alert: ['rules:', '  - { id: file-errors, name: From the file, severity: low, condition: { type: error_status }, targets: [email-oncall] }'],
    }));
  });
  afterAll(async () => {
    await daemon?.stop();
    await Promise.all([slack?.close(), smtp?.close()]);
  });

  it('creates the contract example, lists it beside the config rule, and gets it', async () => {
    const example = { name: 'High Latency', condition: { metric: 'latency', threshold_ms: 3000, window_seconds: 300 }, delivery_targets: ['slack-devops', 'email-oncall'], severity: 'high' };
    const created = await call(daemon, 'POST', RULES, ADMIN_KEY, example);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ ...example, status: 'active', source: 'api', version: 1 });
    expect(created.body.id).toMatch(/^alr_[0-9a-f]{16}$/);
    expect(created.headers.get('etag')).toBe('"1"');
    expect(created.headers.get('location')).toBe(`${RULES}/${created.body.id}`);

    const list = await call(daemon, 'GET', RULES, READ_KEY);
    expect(list.status).toBe(200);
    const ids = list.body.data.map((r: any) => r.id);
    expect(ids).toEqual(expect.arrayContaining([created.body.id, 'file-errors']));
    expect(list.body.data.find((r: any) => r.id === 'file-errors')).toMatchObject({ source: 'config', name: 'From the file', severity: 'low', condition: { metric: 'error_status' }, delivery_targets: ['email-oncall'] });

    const one = await call(daemon, 'GET', `${RULES}/${created.body.id}`, READ_KEY);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject(example);
    expect(one.headers.get('etag')).toBe('"1"');
    // Another workspace neither lists nor reaches it, and cannot use acme's path.
    expect((await call(daemon, 'GET', '/v1/workspaces/other/alert-rules', OTHER_KEY)).body.data.map((r: any) => r.id)).not.toContain(created.body.id);
    expect((await call(daemon, 'GET', `/v1/workspaces/other/alert-rules/${created.body.id}`, OTHER_KEY)).status).toBe(404);
    expect((await call(daemon, 'GET', `${RULES}/${created.body.id}`, OTHER_KEY)).status).toBe(403);
  });

  it('fires an incident to the Slack stand-in for a rule created over HTTP, on its own workspace spans only', async () => {
    const target = await call(daemon, 'POST', '/v1/workspaces/acme/deliveries', ADMIN_KEY, { name: 'Slack latency', type: 'slack', config: { webhook_url: `${slack.url}/services/T000/B000/APIRULE` } });
    expect(target.status).toBe(201);
    const rule = await call(daemon, 'POST', RULES, ADMIN_KEY, { name: 'Slow replies', condition: { metric: 'latency_avg', threshold_ms: 1000, window_seconds: 600 }, delivery_targets: [target.body.id], severity: 'critical' });
    expect(rule.status).toBe(201);
    // The same rule in another workspace, whose spans are all fast.
    const otherRule = await call(daemon, 'POST', '/v1/workspaces/other/alert-rules', OTHER_KEY, { name: 'Slow elsewhere', condition: { metric: 'latency_avg', threshold_ms: 1000, window_seconds: 600 } });
    expect(otherRule.status).toBe(201);
    expect(otherRule.body.severity).toBe('medium');

    expect(await sendLog(daemon, ADMIN_KEY, { output: 'slow but fine', latencyMs: 5000 })).toBe('pass');
    expect(await sendLog(daemon, OTHER_KEY, { output: 'fast', latencyMs: 5 })).toBe('pass');
    const round = await action(daemon, 'evaluate');
    expect(round.status).toBe(200);
    const firing = round.body.result.firing.map((i: any) => i.ruleId);
    expect(firing).toContain(rule.body.id);
    expect(firing).not.toContain(otherRule.body.id);

    const post = await waitFor('the Slack post of the API rule', () => slack.posts.find((p) => p.path === '/services/T000/B000/APIRULE'));
    expect(post.body.text).toMatch(/^:rotating_light: \[CRITICAL\] Slow replies firing: workspace=acme — avg latency over 10 min &gt; 1000 ms: 5000 ms \(threshold 1000 ms\)$/);
    const rows = await waitFor('the incident row', async () => (await incidentRows(daemon, database)).find((r) => r.rule_id === rule.body.id));
    expect(rows).toMatchObject({ status: 'firing', severity: 'critical', group: { workspace: 'acme' }, threshold: 1000 });

    // Paused, the rule no longer applies: its incident is closed without a message.
    const paused = await call(daemon, 'PUT', `${RULES}/${rule.body.id}`, ADMIN_KEY, { ...rule.body, id: undefined, source: undefined, version: undefined, created_at: undefined, updated_at: undefined, updated_by: undefined, status: 'paused' });
    expect(paused.status).toBe(200);
    const after = await action(daemon, 'evaluate');
    expect(after.body.result.firing.map((i: any) => i.ruleId)).not.toContain(rule.body.id);
    await waitFor('the incident closed', async () => ((await incidentRows(daemon, database)).find((r) => r.rule_id === rule.body.id)?.status === 'resolved' ? true : undefined));
  });

  it('sends a test alert to every delivery target of the rule and answers each outcome', async () => {
    const rule = await call(daemon, 'POST', RULES, ADMIN_KEY, { name: 'Test me', condition: { metric: 'error_rate', threshold: 0.1, window_seconds: 300 }, delivery_targets: ['slack-devops', 'email-oncall'], severity: 'low' });
    const tested = await call(daemon, 'POST', `${RULES}/${rule.body.id}/test`, ADMIN_KEY);
    expect(tested.status).toBe(200);
    expect(tested.body).toMatchObject({
      rule_id: rule.body.id,
      delivered: true,
      sent: { kind: 'test', severity: 'low', headline: expect.stringContaining('[TEST] Test me') },
      deliveries: [
        { target: 'slack-devops', type: 'slack', delivered: true },
        { target: 'email-oncall', type: 'email', delivered: true },
      ],
    });
    // Answered once delivered: both messages are there (other rules' alerts may arrive too).
    expect(slack.posts.filter((p) => String(p.body.text).includes('[TEST] Test me'))).toHaveLength(1);
    expect(smtp.mails.filter((m) => m.text.startsWith('[TEST] Test me'))).toEqual([expect.objectContaining({ to: ['oncall@example.com'] })]);

    // A target that is down is reported, not hidden.
    slack.statuses = [500];
    const failing = await call(daemon, 'POST', `${RULES}/${rule.body.id}/test`, ADMIN_KEY);
    expect(failing.body.delivered).toBe(false);
    expect(failing.body.deliveries[0]).toMatchObject({ target: 'slack-devops', delivered: false, error: expect.stringMatching(/answered 500/) });
    expect(failing.body.deliveries[0].error).not.toContain('/services/');

    expect((await call(daemon, 'POST', `${RULES}/${rule.body.id}/test`, READ_KEY)).status).toBe(403);
    expect((await call(daemon, 'POST', `${RULES}/alr_0000000000000000/test`, ADMIN_KEY)).status).toBe(404);
    expect((await call(daemon, 'POST', `/v1/workspaces/other/alert-rules/${rule.body.id}/test`, ADMIN_KEY)).status).toBe(403);
  });

  it('replaces with If-Match (412 when stale) and deletes; config rules answer 409', async () => {
    const created = await call(daemon, 'POST', RULES, ADMIN_KEY, { name: 'Tokens', condition: { metric: 'tokens_sum', threshold: 100000, window_seconds: 3600 } });
    const url = `${RULES}/${created.body.id}`;
    const replaced = await call(daemon, 'PUT', url, ADMIN_KEY, { name: 'Tokens', condition: { metric: 'tokens_sum', threshold: 5000, window_seconds: 3600 }, severity: 'high' }, { 'if-match': '"1"' });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({ version: 2, severity: 'high', condition: { threshold: 5000 } });
    expect(replaced.headers.get('etag')).toBe('"2"');
    expect((await call(daemon, 'PUT', url, ADMIN_KEY, { name: 'Tokens', condition: { metric: 'tokens_sum', threshold: 1, window_seconds: 60 } }, { 'if-match': '"1"' })).status).toBe(412);
    expect((await call(daemon, 'DELETE', url, ADMIN_KEY, undefined, { 'if-match': '"1"' })).status).toBe(412);
    expect((await call(daemon, 'DELETE', url, READ_KEY)).status).toBe(403);
    const deleted = await call(daemon, 'DELETE', url, ADMIN_KEY, undefined, { 'if-match': '"2"' });
    expect(deleted.status).toBe(204);
    expect((await call(daemon, 'GET', url, ADMIN_KEY)).status).toBe(404);
    expect((await call(daemon, 'PUT', url, ADMIN_KEY, { name: 'x', condition: { metric: 'span_count', threshold: 1, window_seconds: 60 } })).status).toBe(404);

    const config = await call(daemon, 'PUT', `${RULES}/file-errors`, ADMIN_KEY, { name: 'x', condition: { metric: 'span_count', threshold: 1, window_seconds: 60 } });
    expect(config.status).toBe(409);
    expect(config.body.error).toMatch(/pipelines.yaml/);
    expect((await call(daemon, 'DELETE', `${RULES}/file-errors`, ADMIN_KEY)).status).toBe(409);
  });

  it('refuses bad bodies with one 422 field each, unknown targets, other workspaces and missing roles', async () => {
    const bad = await call(daemon, 'POST', RULES, ADMIN_KEY, { condition: { metric: 'vibes', window_seconds: 0 }, severity: 'urgent', delivery_targets: 'slack', extra: true });
    expect(bad.status).toBe(422);
    expect(bad.body.fields.map((f: any) => f.field).sort()).toEqual(['condition.metric', 'condition.window_seconds', 'delivery_targets', 'extra', 'name', 'severity']);
    const threshold = await call(daemon, 'POST', RULES, ADMIN_KEY, { name: 'x', condition: { metric: 'latency', threshold: 3, window_seconds: 60 } });
    expect(threshold.status).toBe(422);
    expect(threshold.body.fields.map((f: any) => f.field).sort()).toEqual(['condition.threshold', 'condition.threshold_ms']);
    const ratio = await call(daemon, 'POST', RULES, ADMIN_KEY, { name: 'x', condition: { metric: 'error_rate', threshold: 5, window_seconds: 60 } });
    expect(ratio.body.fields).toEqual([expect.objectContaining({ field: 'condition.threshold', message: expect.stringMatching(/ratio/) })]);
    const unknown = await call(daemon, 'POST', RULES, ADMIN_KEY, { name: 'x', condition: { metric: 'span_count', threshold: 1, window_seconds: 60 }, delivery_targets: ['slack-devops', 'nowhere'] });
    expect(unknown.status).toBe(422);
    expect(unknown.body.fields).toEqual([expect.objectContaining({ field: 'delivery_targets[1]', message: 'no delivery target of this workspace has the id or name "nowhere"' })]);
    // Another workspace's target is unknown here.
    const theirs = await call(daemon, 'POST', '/v1/workspaces/other/deliveries', OTHER_KEY, { name: 'Theirs', type: 'webhook', config: { url: `${slack.url}/theirs` } });
    expect(theirs.status).toBe(201);
    expect((await call(daemon, 'POST', RULES, ADMIN_KEY, { name: 'x', condition: { metric: 'span_count', threshold: 1, window_seconds: 60 }, delivery_targets: [theirs.body.id] })).status).toBe(422);
    // ...nor by its name.
    expect((await call(daemon, 'POST', RULES, ADMIN_KEY, { name: 'x', condition: { metric: 'span_count', threshold: 1, window_seconds: 60 }, delivery_targets: ['Theirs'] })).status).toBe(422);

    const valid = { name: 'x', condition: { metric: 'span_count', threshold: 1, window_seconds: 60 } };
    expect((await call(daemon, 'POST', '/v1/workspaces/other/alert-rules', ADMIN_KEY, valid)).status).toBe(403);
    expect((await call(daemon, 'GET', '/v1/workspaces/other/alert-rules', ADMIN_KEY)).status).toBe(403);
    expect((await call(daemon, 'POST', RULES, READ_KEY, valid)).status).toBe(403);
    expect((await call(daemon, 'POST', RULES, 'not-a-key-0000000000000000', valid)).status).toBe(401);
  });

  it('pages, sorts and filters the list with a Link header and a total', async () => {
    const { daemon: fresh } = await startAlertDaemon('cp_alert_list', { slack, smtp, secretsKey: SECRETS_KEY });
    try {
      const make = async (name: string, severity: string, status = 'active') =>
        expect((await call(fresh, 'POST', RULES, ADMIN_KEY, { name, severity, status, condition: { metric: 'span_count', threshold: 1, window_seconds: 60 } })).status).toBe(201);
      await make('Bravo', 'critical');
      await make('Alpha', 'low');
      await make('Delta', 'high', 'paused');
      await make('Charlie', 'high');
      await make('Echo', 'medium');

      const first = await call(fresh, 'GET', `${RULES}?limit=2&sort=severity:asc`, READ_KEY);
      expect(first.body).toMatchObject({ total: 5, page: 1, limit: 2 });
      expect(first.body.data.map((r: any) => r.name)).toEqual(['Alpha', 'Echo']);
      expect(first.headers.get('x-total-count')).toBe('5');
      const link = first.headers.get('link') ?? '';
      expect(link).toContain('rel="first"');
      expect(link).toContain('rel="last"');
      const next = /<([^>]*)>; rel="next"/.exec(link)?.[1] ?? '';
      expect(next).toContain('page=2');
      const second = await call(fresh, 'GET', next.replace(/^https?:\/\/[^/]+/, ''), READ_KEY);
      expect(second.body.data.map((r: any) => r.severity)).toEqual(['high', 'high']);
      expect(second.headers.get('link')).toContain('rel="prev"');

      const byName = await call(fresh, 'GET', `${RULES}?sort=name:asc`, READ_KEY);
      expect(byName.body.data.map((r: any) => r.name)).toEqual(['Alpha', 'Bravo', 'Charlie', 'Delta', 'Echo']);
      const newest = await call(fresh, 'GET', `${RULES}?sort=created_at:desc&limit=1`, READ_KEY);
      expect(newest.body.data.map((r: any) => r.name)).toEqual(['Echo']);
      const filtered = await call(fresh, 'GET', `${RULES}?status=active&severity=high`, READ_KEY);
      expect(filtered.body.data.map((r: any) => r.name)).toEqual(['Charlie']);
      expect(filtered.body.total).toBe(1);

      const badQuery = await call(fresh, 'GET', `${RULES}?limit=0&sort=colour:asc&team=x`, READ_KEY);
      expect(badQuery.status).toBe(422);
      expect(badQuery.body.fields.map((f: any) => f.field).sort()).toEqual(['limit', 'sort', 'team']);
      // The contract's "max: 100": a larger limit is served as 100.
      const clamped = await call(fresh, 'GET', `${RULES}?limit=500`, READ_KEY);
      expect(clamped.status).toBe(200);
      expect(clamped.body.limit).toBe(100);
      expect(clamped.headers.get('link')).toContain('limit=100');
      // `targets` is still accepted for delivery_targets, with a Deprecation header.
      const aliased = await call(fresh, 'POST', RULES, ADMIN_KEY, { name: 'Old field', condition: { metric: 'span_count', threshold: 1, window_seconds: 60 }, targets: ['slack-devops'] });
      expect(aliased.status).toBe(201);
      expect(aliased.body.delivery_targets).toEqual(['slack-devops']);
      expect(aliased.body.targets).toBeUndefined();
      expect(aliased.headers.get('deprecation')).toMatch(/^@\d+$/);
      expect(aliased.headers.get('x-deprecation-notice')).toBe('targets: DEPRECATED: Use delivery_targets instead. Will be removed in v0.3.0');
      const current = await call(fresh, 'POST', RULES, ADMIN_KEY, { name: 'New field', condition: { metric: 'span_count', threshold: 1, window_seconds: 60 }, delivery_targets: ['slack-devops'] });
      expect(current.headers.get('deprecation')).toBeNull();
      const both = await call(fresh, 'POST', RULES, ADMIN_KEY, { name: 'Both', condition: { metric: 'span_count', threshold: 1, window_seconds: 60 }, targets: [], delivery_targets: [] });
      expect(both.status).toBe(422);
      expect(both.body.fields).toEqual([expect.objectContaining({ field: 'targets' })]);
    } finally {
      await fresh.stop();
    }
  });
});
