/**
 * /api/rules through HTTP: CRUD with the document's bodies, validation (422 per field), roles,
 * If-Match, config rules read-only, and live application: a rule created on one daemon flags the
 * next sync log there at once, and on a second daemon sharing the ClickHouse server within the
 * refresh interval; a deleted rule stops flagging.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { queryRows, startDaemon, uniqueDatabase } from '../../support/daemon';
import type { TestDaemon } from '../../support/daemon';
import { ClickhouseHttpServer } from '../../support/clickhouse-http-server';
import { waitFor } from '../../support/wait';
import { apiCall } from './api-client';

const ADMIN_KEY = 'cp_admin_key_0123456789abcdef';
const READ_KEY = 'cp_read_key_0123456789abcdefgh';
const OTHER_KEY = 'cp_other_key_0123456789abcdefg';

function yaml(store: string): string {
  return `receivers:
  logs:
    listen: 127.0.0.1:0
    attachments_dir: \${env:TEST_DATA_DIR}/attachments
processors:
  evaluate_rules:
    rules:
      - { id: from-file, name: From the file, type: keyword_forbidden, value: forbidden-by-file }
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
      - { key: "${READ_KEY}", roles: [read, ingest] }
  other:
    api_keys: ["${OTHER_KEY}"]
service:
  extensions: [control_plane]
  control_plane: { refresh_interval_ms: 200 }
  admin: { listen: 127.0.0.1:0 }
  pipelines:
    traces: { receivers: [logs], processors: [evaluate_rules], exporters: [clickhouse] }
`;
}

const call = (daemon: TestDaemon, method: string, route: string, key: string, body?: unknown, headers: Record<string, string> = {}) =>
  apiCall(daemon.receiverUrl('control_plane'), method, route, key, body, headers);

async function syncLog(daemon: TestDaemon, output: string): Promise<any> {
  const res = await fetch(`${daemon.receiverUrl('logs')}/api/logs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ project: 'support', task: 'reply', input: 'hi', output, sync: true }),
  });
  expect(res.status).toBe(200);
  return res.json();
}

describe('control plane: /api/rules on one daemon', () => {
  let daemon: TestDaemon;
  const database = uniqueDatabase('cp_rules');
  beforeAll(async () => {
    daemon = await startDaemon(yaml(`    path: \${env:TEST_DATA_DIR}\n    database: ${database}`));
  });
  afterAll(() => daemon.stop());

  it('creates a rule with the document body, lists, gets and applies it to the next sync log at once', async () => {
    const created = await call(daemon, 'POST', '/api/rules', ADMIN_KEY, { name: 'No refunds', type: 'keyword_forbidden', value: 'refund', description: 'never promise refunds', isActive: true });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'No refunds', type: 'keyword_forbidden', value: 'refund', description: 'never promise refunds', isActive: true, source: 'api', version: 1 });
    expect(created.body.id).toMatch(/^rule_[0-9a-f]{16}$/);
    expect(created.headers.get('etag')).toBe('"1"');

    const flagged = await syncLog(daemon, 'We will refund you today.');
    expect(flagged.status).toBe('flagged');
    expect(flagged.verdict.appliedRules).toEqual(expect.arrayContaining([expect.objectContaining({ ruleId: created.body.id, ruleName: 'No refunds', outcome: 'triggered' })]));

    const list = await call(daemon, 'GET', '/api/rules', READ_KEY);
    expect(list.status).toBe(200);
    expect(list.body.map((r: any) => r.id)).toEqual(expect.arrayContaining(['from-file', created.body.id]));
    expect(list.body.find((r: any) => r.id === 'from-file')).toMatchObject({ source: 'config', type: 'keyword_forbidden', value: 'forbidden-by-file' });

    const one = await call(daemon, 'GET', `/api/rules/${created.body.id}`, READ_KEY);
    expect(one.body).toMatchObject({ id: created.body.id, name: 'No refunds' });
    // Another workspace neither sees nor reaches it, and cannot tell it exists.
    expect((await call(daemon, 'GET', `/api/rules/${created.body.id}`, OTHER_KEY)).status).toBe(404);
    expect((await call(daemon, 'GET', '/api/rules', OTHER_KEY)).body.map((r: any) => r.id)).not.toContain(created.body.id);
  });

  it('updates with If-Match (412 when stale), deletes, and a deleted rule stops flagging', async () => {
    const created = await call(daemon, 'POST', '/api/rules', ADMIN_KEY, { name: 'Short answers', type: 'length_limit', value: '10' });
    const id = created.body.id;
    expect((await syncLog(daemon, 'this answer is far longer than ten characters')).status).toBe('flagged');
    const patched = await call(daemon, 'PATCH', `/api/rules/${id}`, ADMIN_KEY, { value: '1000' }, { 'if-match': '"1"' });
    expect(patched).toMatchObject({ status: 200, body: { ok: true } });
    expect(patched.headers.get('etag')).toBe('"2"');
    const stale = await call(daemon, 'PATCH', `/api/rules/${id}`, ADMIN_KEY, { value: '5' }, { 'if-match': '"1"' });
    expect(stale.status).toBe(412);
    expect((await syncLog(daemon, 'this answer is far longer than ten characters')).status).toBe('pass');
    expect((await call(daemon, 'PATCH', `/api/rules/${id}`, ADMIN_KEY, { value: '5' }, { 'if-match': '"2"' })).status).toBe(200);
    expect((await syncLog(daemon, 'still too long')).status).toBe('flagged');
    // A stale If-Match on DELETE is 412 and the rule stays.
    const staleDelete = await call(daemon, 'DELETE', `/api/rules/${id}`, ADMIN_KEY, undefined, { 'if-match': '"2"' });
    expect(staleDelete.status).toBe(412);
    expect((await call(daemon, 'GET', `/api/rules/${id}`, ADMIN_KEY)).body).toMatchObject({ id, version: 3 });
    expect((await syncLog(daemon, 'still too long')).status).toBe('flagged');
    expect((await call(daemon, 'DELETE', `/api/rules/${id}`, ADMIN_KEY, undefined, { 'if-match': '"3"' })).body).toEqual({ ok: true });
    expect((await syncLog(daemon, 'still too long')).status).toBe('pass');
    expect((await call(daemon, 'GET', `/api/rules/${id}`, ADMIN_KEY)).status).toBe(404);
    expect((await call(daemon, 'DELETE', `/api/rules/${id}`, ADMIN_KEY)).status).toBe(404);
    // Every change is in the audit table, with who made it (a digest prefix, never the key).
    const audit = await queryRows<{ action: string; version: string; changed_by: string; before: string; after: string }>(
      daemon,
      `SELECT action, version, changed_by, before, after FROM tracehouse_object_audit WHERE id = '${id}' ORDER BY version`,
      database,
    );
    expect(audit.map((a) => [a.action, Number(a.version)])).toEqual([['create', 1], ['update', 2], ['update', 3], ['delete', 4]]);
    expect(audit[0].changed_by).toMatch(/^key:[0-9a-f]{12}$/);
    expect(JSON.parse(audit[1].before).value).toBe('10');
    expect(JSON.parse(audit[1].after).value).toBe('1000');
    expect(JSON.stringify(audit)).not.toContain(ADMIN_KEY);
  });

  it('refuses invalid bodies with 422 per field, a read-only key with 403, a config rule with 409', async () => {
    const bad = await call(daemon, 'POST', '/api/rules', ADMIN_KEY, { type: 'keyword_sometimes', value: 3, extra: true });
    expect(bad.status).toBe(422);
    expect(bad.body.fields.map((f: any) => f.field).sort()).toEqual(['extra', 'name', 'type', 'value']);
    const badValue = await call(daemon, 'POST', '/api/rules', ADMIN_KEY, { name: 'x', type: 'length_limit', value: 'long' });
    expect(badValue.status).toBe(422);
    expect(badValue.body.fields).toEqual([expect.objectContaining({ field: 'value' })]);
    expect((await call(daemon, 'POST', '/api/rules', READ_KEY, { name: 'x', type: 'keyword_required', value: 'y' })).status).toBe(403);
    expect((await call(daemon, 'POST', '/api/rules', 'not-a-key-at-all-0000000000', { name: 'x', type: 'keyword_required', value: 'y' })).status).toBe(401);
    const config = await call(daemon, 'PATCH', '/api/rules/from-file', ADMIN_KEY, { value: 'other' });
    expect(config.status).toBe(409);
    expect(config.body.error).toMatch(/pipelines.yaml/);
    expect((await call(daemon, 'PUT', '/api/rules/from-file', ADMIN_KEY, {})).status).toBe(405);
    expect((await call(daemon, 'POST', '/api/rules', ADMIN_KEY, ['not', 'an', 'object'])).status).toBe(422);
    expect((await call(daemon, 'POST', '/api/rules', ADMIN_KEY, '{"name": ')).status).toBe(400);
  });

  it('evaluates a rule against an output without storing anything', async () => {
    const answer = await call(daemon, 'POST', '/api/rules/evaluate', READ_KEY, { output: '{"status": "ok", "note": "refund granted"}', rule: { name: 'Note', type: 'json_field_keyword_forbidden', value: 'note:refund' }, confidence: 0.9 });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ verdict: 'flagged', status: 'flagged', confidenceScore: 0.9, appliedRules: [expect.objectContaining({ ruleName: 'Note', outcome: 'triggered' })] });
    expect(typeof answer.body.explanation).toBe('string');
    const pass = await call(daemon, 'POST', '/api/rules/evaluate', READ_KEY, { output: '{"status": "ok"}', rule: { name: 'Has status', type: 'json_field', value: 'status' } });
    expect(pass.body).toMatchObject({ verdict: 'pass', status: 'pass' });
    expect((await call(daemon, 'GET', '/api/rules', READ_KEY)).body.map((r: any) => r.name)).not.toContain('Has status');
  });
});

describe('control plane: two daemons sharing one ClickHouse server', () => {
  let clickhouse: ClickhouseHttpServer;
  let first: TestDaemon;
  let second: TestDaemon;
  let store: string;
  beforeAll(async () => {
    clickhouse = await ClickhouseHttpServer.start({ path: mkdtempSync(path.join(os.tmpdir(), 'tracehouse-cp-')) });
    store = `    endpoint: ${clickhouse.url}\n    database: ${uniqueDatabase('cp_shared')}`;
    first = await startDaemon(yaml(store));
    second = await startDaemon(yaml(store));
  }, 60_000);
  afterAll(async () => {
    await first?.stop();
    await second?.stop();
    await clickhouse?.close();
  });

  it('a rule created on one daemon flags logs on the other within the refresh interval, and survives a restart', async () => {
    expect((await syncLog(second, 'mentions pineapple')).status).toBe('pass');
    const created = await call(first, 'POST', '/api/rules', ADMIN_KEY, { name: 'No pineapple', type: 'keyword_forbidden', value: 'pineapple' });
    expect(created.status).toBe(201);
    await waitFor('the rule on the second daemon', async () => ((await syncLog(second, 'mentions pineapple')).status === 'flagged' ? true : undefined));
    expect((await call(second, 'GET', `/api/rules/${created.body.id}`, ADMIN_KEY)).body).toMatchObject({ name: 'No pineapple', version: 1 });

    // A restarted daemon reads the rule back from the store.
    await second.stop();
    second = await startDaemon(yaml(store));
    expect((await syncLog(second, 'mentions pineapple')).status).toBe('flagged');
    // Deleted on the second, it stops flagging on the first.
    expect((await call(second, 'DELETE', `/api/rules/${created.body.id}`, ADMIN_KEY)).status).toBe(200);
    await waitFor('the deletion on the first daemon', async () => ((await syncLog(first, 'mentions pineapple')).status === 'pass' ? true : undefined));
  }, 60_000);
});
