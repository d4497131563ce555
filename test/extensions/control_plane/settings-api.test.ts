/**
 * /api/settings, /api/verify and /api/models through HTTP: the document's bodies, every field
 * validated (422 per field), roles, If-Match, secrets sealed in the store and masked in answers,
 * read back after a restart with the same secrets key, a different key refused at start, and a
 * daemon without a secrets key refusing secrets with 422.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { builtInCatalog } from '../../../core/pricing/pricing';
import { queryRows, startDaemon, uniqueDatabase } from '../../support/daemon';
import type { TestDaemon } from '../../support/daemon';
import { ClickhouseHttpServer } from '../../support/clickhouse-http-server';
import { apiCall } from './api-client';

const ADMIN_KEY = 'st_admin_key_0123456789abcdef';
const READ_KEY = 'st_read_key_0123456789abcdefgh';
const INGEST_KEY = 'st_ingest_key_0123456789abcdef';
const OTHER_KEY = 'st_other_key_0123456789abcdefg';
const SECRETS_KEY = 'settings-test-secrets-key-0123456789';

const SLACK_URL = 'https://hooks.slack.com/services/T000/B000/plaintextSlackSecretQ7Z9';
const OPENAI_KEY = 'sk-proj-plaintextOpenaiSecret-K3y9';

function yaml(store: string, secretsKey = true): string {
  return `receivers:
  logs:
    listen: 127.0.0.1:0
    attachments_dir: \${env:TEST_DATA_DIR}/attachments
exporters:
  clickhouse:
${store}
extensions:
  control_plane:
    listen: 127.0.0.1:0
workspaces:
  acme:
    api_keys:
      - "${ADMIN_KEY}"
      - { key: "${READ_KEY}", roles: [read] }
      - { key: "${INGEST_KEY}", roles: [ingest] }
  other:
    api_keys: ["${OTHER_KEY}"]
service:
  extensions: [control_plane]
  control_plane: { refresh_interval_ms: 200${secretsKey ? ', secrets_key: "${env:TEST_SECRETS_KEY}"' : ''} }
  admin: { listen: 127.0.0.1:0 }
  pipelines:
    traces: { receivers: [logs], exporters: [clickhouse] }
`;
}

const call = (daemon: TestDaemon, method: string, route: string, key: string, body?: unknown, headers: Record<string, string> = {}) =>
  apiCall(daemon.receiverUrl('control_plane'), method, route, key, body, headers);

/** A daemon on `store`; secretsKey null: none configured. */
function start(store: string, secretsKey: string | null = SECRETS_KEY): Promise<TestDaemon> {
  return startDaemon(yaml(store, secretsKey !== null), { env: secretsKey !== null ? { TEST_SECRETS_KEY: secretsKey } : {} });
}

describe('control plane: /api/settings with a secrets key', () => {
  let clickhouse: ClickhouseHttpServer;
  let daemon: TestDaemon | undefined;
  let store: string;
  let database: string;
  beforeAll(async () => {
    clickhouse = await ClickhouseHttpServer.start({ path: mkdtempSync(path.join(os.tmpdir(), 'tracehouse-settings-')) });
    database = uniqueDatabase('cp_settings');
    store = `    endpoint: ${clickhouse.url}\n    database: ${database}`;
    daemon = await start(store);
  }, 60_000);
  afterAll(async () => {
    await daemon?.stop();
    await clickhouse?.close();
  });

  it('answers the document shape before anything was written, with the caller role', async () => {
    const admin = await call(daemon!, 'GET', '/api/settings', ADMIN_KEY);
    expect(admin.status).toBe(200);
    expect(admin.body).toMatchObject({ id: 'acme', name: 'acme', workspaceName: 'acme', currentUserRole: 'admin', canManageWorkspace: true });
    expect(admin.body.usage).toMatchObject({ rules: 0, apiKeys: { issued: 0, revoked: 0 }, rotations: { lastHour: 0, perHour: 5 } });
    for (const field of ['onboardingDismissed', 'slackWebhookUrl', 'notifyOnFlag', 'outboundWebhookEvents', 'openaiApiKey', 'defaultJudgeProvider', 'color']) {
      expect(admin.body[field]).toBeNull();
    }
    expect(admin.headers.get('etag')).toBeNull();
    const read = await call(daemon!, 'GET', '/api/settings', READ_KEY);
    expect(read.body).toMatchObject({ currentUserRole: 'read', canManageWorkspace: false });
    expect((await call(daemon!, 'GET', '/api/settings', INGEST_KEY)).status).toBe(403);
    expect((await call(daemon!, 'GET', '/api/settings', 'no-such-key-0123456789abcdef')).status).toBe(401);
  });

  it('applies the document PATCH example, then every field, with masked secrets and If-Match', async () => {
    const example = await call(daemon!, 'PATCH', '/api/settings', ADMIN_KEY, { onboardingDismissed: true, workspaceName: 'Acme Support', slackWebhookUrl: SLACK_URL, notifyOnFlag: true, notifyOnFail: true });
    expect(example.status).toBe(200);
    expect(example.body).toEqual({ ok: true });
    expect(example.headers.get('etag')).toBe('"1"');

    const all = {
      slackChannelId: 'C0123',
      notificationEmail: 'oncall@acme.example',
      emailOnFlag: true,
      emailOnFail: false,
      slackNotificationsEnabled: true,
      emailNotificationsEnabled: true,
      webhookEnabled: true,
      outboundWebhookUrl: 'http://hooks.acme.example/tracehouse',
      outboundWebhookEvents: ['flagged', 'error', 'flagged'],
      estimatedIncidentCostUsd: 250.5,
      openaiApiKey: OPENAI_KEY,
      anthropicApiKey: 'sk-ant-plaintextAnthropic-AB12',
      openrouterApiKey: 'sk-or-plaintextOpenrouter-CD34',
      openaiJudgeModel: 'gpt-4o-mini',
      anthropicJudgeModel: 'claude-3-5-haiku',
      openrouterJudgeModel: 'openai/gpt-4o',
      defaultJudgeProvider: 'anthropic',
      color: '#3366ff',
    };
    const patched = await call(daemon!, 'PATCH', '/api/settings', ADMIN_KEY, all, { 'if-match': '"1"' });
    expect(patched.status).toBe(200);
    expect(patched.headers.get('etag')).toBe('"2"');
    expect((await call(daemon!, 'PATCH', '/api/settings', ADMIN_KEY, { color: 'red' }, { 'if-match': '"1"' })).status).toBe(412);

    const got = await call(daemon!, 'GET', '/api/settings', READ_KEY);
    expect(got.headers.get('etag')).toBe('"2"');
    expect(got.body).toMatchObject({
      id: 'acme',
      name: 'Acme Support',
      workspaceName: 'Acme Support',
      onboardingDismissed: true,
      notifyOnFlag: true,
      notifyOnFail: true,
      slackChannelId: 'C0123',
      notificationEmail: 'oncall@acme.example',
      emailOnFlag: true,
      emailOnFail: false,
      webhookEnabled: true,
      outboundWebhookEvents: ['flagged', 'error'],
      estimatedIncidentCostUsd: 250.5,
      openaiJudgeModel: 'gpt-4o-mini',
      defaultJudgeProvider: 'anthropic',
      color: '#3366ff',
      // Secrets: first three and last four characters only.
      slackWebhookUrl: 'htt…Q7Z9',
      outboundWebhookUrl: 'htt…ouse',
      openaiApiKey: 'sk-…K3y9',
      anthropicApiKey: 'sk-…AB12',
      openrouterApiKey: 'sk-…CD34',
    });
    expect(JSON.stringify(got.body)).not.toMatch(/plaintext/);
    expect((await call(daemon!, 'GET', '/api/verify', INGEST_KEY)).body).toEqual({ workspaceName: 'Acme Support' });

    // null removes a field; other workspaces see none of it.
    expect((await call(daemon!, 'PATCH', '/api/settings', ADMIN_KEY, { color: null, emailOnFail: null })).status).toBe(200);
    expect((await call(daemon!, 'GET', '/api/settings', ADMIN_KEY)).body).toMatchObject({ color: null, emailOnFail: null, emailOnFlag: true });
    const other = await call(daemon!, 'GET', '/api/settings', OTHER_KEY);
    expect(other.body).toMatchObject({ id: 'other', workspaceName: 'other', slackWebhookUrl: null });
    expect((await call(daemon!, 'GET', '/api/verify', OTHER_KEY)).body).toEqual({ workspaceName: 'other' });
  });

  it('keeps no plaintext secret in tracehouse_objects nor in tracehouse_object_audit', async () => {
    // Every row of both tables (no string literals: the admin endpoint's canonicalizer and the test double disagree on quotes).
    const objects = await queryRows<{ kind: string; spec: string }>(daemon!, `SELECT kind, spec FROM tracehouse_objects`, database);
    const audit = await queryRows<{ kind: string; before: string; after: string }>(daemon!, `SELECT kind, before, after FROM tracehouse_object_audit`, database);
    expect(objects.filter((r) => r.kind === 'settings').length).toBeGreaterThan(0);
    expect(audit.filter((r) => r.kind === 'settings').length).toBeGreaterThanOrEqual(3);
    const stored = JSON.stringify([objects, audit]);
    expect(stored).not.toMatch(/plaintext/);
    expect(stored).toMatch(/enc:v1:/);
    // The settings object itself, one per workspace, with the non-secret fields readable by others (the alert processor).
    const latest = (await queryRows<{ kind: string; id: string; workspace: string; spec: string }>(daemon!, `SELECT kind, id, workspace, spec FROM tracehouse_objects FINAL`, database)).filter((r) => r.kind === 'settings');
    expect(latest.map((r) => [r.workspace, r.id])).toEqual([['acme', 'workspace']]);
    expect(JSON.parse(latest[0].spec)).toMatchObject({ notifyOnFlag: true, notificationEmail: 'oncall@acme.example', slackWebhookUrl: expect.stringMatching(/^enc:v1:/) });
  });

  it('refuses bad bodies with 422 per field and non-admin keys with 403', async () => {
    const bad = await call(daemon!, 'PATCH', '/api/settings', ADMIN_KEY, {
      slackWebhookUrl: 'ftp://hooks.example/x',
      outboundWebhookUrl: 'not a url',
      notificationEmail: 'not-an-email',
      outboundWebhookEvents: ['flagged', 'everything'],
      defaultJudgeProvider: 'gemini',
      notifyOnFlag: 'yes',
      estimatedIncidentCostUsd: -1,
      workspaceName: '   ',
      color: 'rgb(1, 2, 3)',
      openaiApiKey: 42,
      extra: true,
    });
    expect(bad.status).toBe(422);
    expect(bad.body.fields.map((f: any) => f.field).sort()).toEqual(
      ['color', 'defaultJudgeProvider', 'estimatedIncidentCostUsd', 'extra', 'notificationEmail', 'notifyOnFlag', 'openaiApiKey', 'outboundWebhookEvents[1]', 'outboundWebhookUrl', 'slackWebhookUrl', 'workspaceName'].sort(),
    );
    expect(bad.body.fields.find((f: any) => f.field === 'slackWebhookUrl').message).toMatch(/http/);
    expect((await call(daemon!, 'PATCH', '/api/settings', ADMIN_KEY, ['notifyOnFlag'])).status).toBe(422);
    expect((await call(daemon!, 'PATCH', '/api/settings', READ_KEY, { notifyOnFlag: false })).status).toBe(403);
    // Nothing of the refused bodies was stored.
    expect((await call(daemon!, 'GET', '/api/settings', ADMIN_KEY)).body).toMatchObject({ notifyOnFlag: true, defaultJudgeProvider: 'anthropic', slackWebhookUrl: 'htt…Q7Z9' });
  });

  it('reads the secrets back after a restart with the same key, and refuses to start with another key', async () => {
    await daemon!.stop();
    daemon = await start(store);
    const got = await call(daemon, 'GET', '/api/settings', ADMIN_KEY);
    expect(got.body).toMatchObject({ workspaceName: 'Acme Support', slackWebhookUrl: 'htt…Q7Z9', openaiApiKey: 'sk-…K3y9', notificationEmail: 'oncall@acme.example' });
    expect(got.headers.get('etag')).toBe('"3"');
    // Written again after the restart, a secret is sealed under the same key and still read back.
    expect((await call(daemon, 'PATCH', '/api/settings', ADMIN_KEY, { openaiApiKey: 'sk-proj-plaintextRotated-W8x2' })).status).toBe(200);
    await daemon.stop();
    daemon = undefined;
    await expect(start(store, 'a-different-secrets-key-9876543210')).rejects.toThrow(/secrets_key is not the key it was stored with/);
    daemon = await start(store);
    expect((await call(daemon, 'GET', '/api/settings', ADMIN_KEY)).body).toMatchObject({ openaiApiKey: 'sk-…W8x2', anthropicApiKey: 'sk-…AB12' });

    // Secrets sent back masked, as GET showed them, keep the stored ones (the URL's mask is no URL: not refused either).
    const read = (await call(daemon, 'GET', '/api/settings', ADMIN_KEY)).body;
    const sentBack = await call(daemon, 'PATCH', '/api/settings', ADMIN_KEY, { slackWebhookUrl: read.slackWebhookUrl, openaiApiKey: read.openaiApiKey, anthropicApiKey: read.anthropicApiKey, color: 'teal' });
    expect(sentBack.status).toBe(200);
    const spec = daemon.service.objects.get('settings', 'acme', 'workspace')?.spec;
    expect(spec).toMatchObject({ slackWebhookUrl: SLACK_URL, openaiApiKey: 'sk-proj-plaintextRotated-W8x2', anthropicApiKey: 'sk-ant-plaintextAnthropic-AB12', color: 'teal' });
  }, 60_000);
});

describe('control plane: settings without a secrets key, verify and models', () => {
  let daemon: TestDaemon;
  beforeAll(async () => {
    daemon = await start(`    path: \${env:TEST_DATA_DIR}\n    database: ${uniqueDatabase('cp_settings_nokey')}`, null);
  });
  afterAll(() => daemon.stop());

  it('refuses a secret with 422 naming the field and the missing secrets_key, and stores other fields', async () => {
    const refused = await call(daemon, 'PATCH', '/api/settings', ADMIN_KEY, { notifyOnFail: true, openaiApiKey: OPENAI_KEY, slackWebhookUrl: SLACK_URL });
    expect(refused.status).toBe(422);
    expect(refused.body.error).toMatch(/secrets_key/);
    expect(refused.body.fields.map((f: any) => f.field).sort()).toEqual(['openaiApiKey', 'slackWebhookUrl']);
    expect((await call(daemon, 'GET', '/api/settings', ADMIN_KEY)).body).toMatchObject({ notifyOnFail: null, openaiApiKey: null });
    const plain = await call(daemon, 'PATCH', '/api/settings', ADMIN_KEY, { notifyOnFail: true, openaiJudgeModel: 'gpt-4o' });
    expect(plain.status).toBe(200);
    expect((await call(daemon, 'GET', '/api/settings', ADMIN_KEY)).body).toMatchObject({ notifyOnFail: true, openaiJudgeModel: 'gpt-4o', openaiApiKey: null });
  });

  it('verify answers the workspace for any valid key, and 401 for an unknown one', async () => {
    for (const key of [ADMIN_KEY, READ_KEY, INGEST_KEY]) expect(await call(daemon, 'GET', '/api/verify', key)).toMatchObject({ status: 200, body: { workspaceName: 'acme' } });
    expect((await call(daemon, 'GET', '/api/verify', 'no-such-key-0123456789abcdef')).status).toBe(401);
    expect((await call(daemon, 'POST', '/api/verify', ADMIN_KEY, {})).status).toBe(405);
  });

  it('models lists the price catalog once each, sorted, as {label, value}', async () => {
    const models = await call(daemon, 'GET', '/api/models', INGEST_KEY);
    expect(models.status).toBe(200);
    const values: string[] = models.body.map((m: any) => m.value);
    expect(new Set(values).size).toBe(values.length);
    expect(new Set(values)).toEqual(new Set(builtInCatalog().catalog.models.map((m) => m.id)));
    expect(values).toEqual([...values].sort((a, b) => a.localeCompare(b, 'en', { sensitivity: 'base', numeric: true })));
    expect(models.body).toEqual(expect.arrayContaining([{ label: 'gpt-4o', value: 'gpt-4o' }, { label: 'claude-sonnet-4', value: 'claude-sonnet-4' }]));
    for (const m of models.body) expect(Object.keys(m).sort()).toEqual(['label', 'value']);
  });
});
