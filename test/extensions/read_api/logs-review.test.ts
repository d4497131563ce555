/**
 * PATCH /api/logs/:id/decision, PATCH /api/logs/bulk and DELETE /api/logs/:id through HTTP:
 * decisions stored as versioned objects and shown in every read, pending cleared, callbacks to a
 * loopback stand-in (signed; only for callbackEvents that ask for decisions), deletes removing
 * rows, files and blocking a replay, audited tombstones, workspace isolation and bad bodies.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { signatureFor } from '../../../core/outbound/signature';
import { queryRows } from '../../support/daemon';
import { waitFor } from '../../support/wait';
import { ADMIN_KEY, callbackStandIn, OTHER_KEY, READ_KEY, SIGNING_SECRET, startLogsDaemon } from './logs-daemon';
import type { LogsDaemon } from './logs-daemon';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('read_api: reviewing logs', () => {
  let d: LogsDaemon;
  let hook: Awaited<ReturnType<typeof callbackStandIn>>;
  beforeAll(async () => {
    d = await startLogsDaemon('logs_review');
    hook = await callbackStandIn();
  });
  afterAll(async () => {
    await d.stop();
    await hook.close();
  });

  const count = async (sql: string) => Number((await queryRows<{ n: string }>(d.daemon, sql, d.database))[0].n);

  it('records a decision, shows it in every read and clears the log from pending', async () => {
    expect((await d.log({ id: 'dec-1', project: 'support', output: 'A refund is coming.' })).status).toBe(200);
    expect((await d.call('GET', '/api/logs?pending=true')).body.executions.map((e: any) => e.id)).toContain('dec-1');

    const res = await d.call('PATCH', '/api/logs/dec-1/decision', ADMIN_KEY, { decision: 'approved' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true, decidedBy: expect.stringMatching(/^key:[0-9a-f]{12}$/) });

    expect((await d.call('GET', '/api/logs/dec-1/status')).body).toMatchObject({ status: 'flagged', humanDecision: 'approved' });
    expect((await d.call('GET', '/api/logs/dec-1')).body).toMatchObject({ humanDecision: 'approved', decidedBy: res.body.decidedBy, decidedAt: expect.any(String) });
    const list = await d.call('GET', '/api/logs');
    expect(list.body.executions.find((e: any) => e.id === 'dec-1')).toMatchObject({ humanDecision: 'approved' });
    expect((await d.call('GET', '/api/logs?pending=true')).body.executions.map((e: any) => e.id)).not.toContain('dec-1');

    // The latest decision wins; every one is a version of the object, audited with who decided.
    expect((await d.call('PATCH', '/api/logs/dec-1/decision', ADMIN_KEY, { decision: 'rejected' })).status).toBe(200);
    expect((await d.call('GET', '/api/logs/dec-1/status')).body.humanDecision).toBe('rejected');
    const versions = await queryRows<{ version: string; after: string; changed_by: string }>(d.daemon, `SELECT version, after, changed_by FROM tracehouse_object_audit WHERE kind = 'decision' AND workspace = 'acme' AND id = 'dec-1' ORDER BY version`, d.database);
    expect(versions.map((v) => [Number(v.version), JSON.parse(v.after).decision, v.changed_by])).toEqual([
      [1, 'approved', res.body.decidedBy],
      [2, 'rejected', res.body.decidedBy],
    ]);
    expect(await count(`SELECT count() AS n FROM tracehouse_object_audit WHERE kind = 'decision' AND id = 'dec-1'`)).toBe(2);
  });

  it('posts signed decision callbacks for decisions and flagged_error_decisions only, never for all (completions), flagged_error, pass or no value', async () => {
    const events = ['decisions', 'flagged_error_decisions', 'all', 'flagged_error', 'pass'];
    for (const e of events) expect((await d.log({ id: `cb-${e}`, project: 'hooks', output: 'fine', callbackUrl: hook.url, callbackEvents: e })).status).toBe(200);
    expect((await d.log({ id: 'cb-default', project: 'hooks', output: 'fine', callbackUrl: hook.url })).status).toBe(200);
    // Evaluation callbacks of "all", no value (= all) and "pass" (the verdict is pass) arrive first.
    await waitFor('the evaluation callbacks', () => hook.received.filter((r) => r.body.event === 'evaluation.completed').length === 3);
    for (const e of [...events, 'default']) expect((await d.call('PATCH', `/api/logs/cb-${e}/decision`, ADMIN_KEY, { decision: 'rejected' })).status).toBe(200);
    await waitFor('the decision callbacks', () => hook.received.filter((r) => r.body.event === 'decision.recorded').length >= 2);
    await sleep(300);
    const decisions = hook.received.filter((r) => r.body.event === 'decision.recorded');
    expect(decisions.map((r) => r.body.id).sort()).toEqual(['cb-decisions', 'cb-flagged_error_decisions']);
    const one = decisions.find((r) => r.body.id === 'cb-decisions')!;
    expect(one.body).toMatchObject({ event: 'decision.recorded', id: 'cb-decisions', project: 'hooks', status: 'pass', verdict: 'pass', humanDecision: 'rejected', decidedBy: expect.stringMatching(/^key:/), decidedAt: expect.any(String), timestamp: expect.any(String) });
    const timestamp = String(one.headers['x-tracehouse-timestamp']);
    expect(one.headers['x-tracehouse-signature']).toBe(`v1=${signatureFor(SIGNING_SECRET, timestamp, one.raw)}`);
  });

  it('bulk-approves and bulk-rejects only the workspace logs it finds, in one object write', async () => {
    for (let i = 0; i < 5; i += 1) expect((await d.log({ id: `bulk-${i}`, project: 'bulk', output: 'refund maybe' })).status).toBe(200);
    expect((await d.log({ id: 'bulk-other', project: 'bulk', output: 'refund' }, OTHER_KEY)).status).toBe(200);
    const before = await count(`SELECT count() AS n FROM tracehouse_object_audit WHERE kind = 'decision' AND workspace = 'acme'`);
    const approve = await d.call('PATCH', '/api/logs/bulk', ADMIN_KEY, { ids: ['bulk-0', 'bulk-1', 'bulk-2', 'bulk-other', 'nope', 'bulk-0'], action: 'approve' });
    expect(approve.status).toBe(200);
    expect(approve.body).toEqual({ ok: true, count: 3 });
    expect(await count(`SELECT count() AS n FROM tracehouse_object_audit WHERE kind = 'decision' AND workspace = 'acme'`)).toBe(before + 3);
    const reject = await d.call('PATCH', '/api/logs/bulk', ADMIN_KEY, { ids: ['bulk-3', 'bulk-4'], action: 'reject' });
    expect(reject.body).toEqual({ ok: true, count: 2 });
    const list = await d.call('GET', '/api/logs?project=bulk');
    expect(Object.fromEntries(list.body.executions.map((e: any) => [e.id, e.humanDecision]))).toEqual({ 'bulk-0': 'approved', 'bulk-1': 'approved', 'bulk-2': 'approved', 'bulk-3': 'rejected', 'bulk-4': 'rejected' });
    expect(list.body.summary).toMatchObject({ totalRuns: 5, failuresDetected: 5, pendingReviews: 0 });
    // The other workspace's log was not touched.
    expect((await d.call('GET', '/api/logs/bulk-other/status', OTHER_KEY)).body.humanDecision).toBeNull();
  });

  it('deletes a log: rows gone, unreferenced attachment removed, replay refused, tombstone audited', async () => {
    const shared = Buffer.from('shared attachment bytes').toString('base64');
    const own = Buffer.from('only in del-1').toString('base64');
    const sha = (b64: string) => createHash('sha256').update(Buffer.from(b64, 'base64')).digest('hex');
    const body = { id: 'del-1', project: 'del', output: 'bye', attachments: [{ upload: own, name: 'own.txt' }, { upload: shared, name: 'shared.txt' }] };
    expect((await d.log(body)).status).toBe(200);
    expect((await d.log({ id: 'del-2', project: 'del', output: 'keeps the shared file', attachments: [{ upload: shared, name: 'shared.txt' }] })).status).toBe(200);
    expect(existsSync(path.join(d.attachmentsDir, sha(own)))).toBe(true);

    expect((await d.call('DELETE', '/api/logs/del-1', READ_KEY)).status).toBe(403);
    expect((await d.call('DELETE', '/api/logs/del-1', OTHER_KEY)).status).toBe(404);
    const res = await d.call('DELETE', '/api/logs/del-1');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true });

    expect((await d.call('GET', '/api/logs/del-1')).status).toBe(404);
    expect((await d.call('GET', '/api/logs/del-1/status')).status).toBe(404);
    expect((await d.call('GET', '/api/logs?project=del')).body.executions.map((e: any) => e.id)).toEqual(['del-2']);
    expect(await count(`SELECT count() AS n FROM otel_traces WHERE SpanAttributes['tracehouse.log_id'] = 'del-1'`)).toBe(0);
    expect(await count(`SELECT count() AS n FROM tracehouse_log_index WHERE log_id = 'del-1'`)).toBe(0);
    expect(await count(`SELECT count() AS n FROM tracehouse_log_ids WHERE log_id = 'del-1'`)).toBe(0);
    expect(existsSync(path.join(d.attachmentsDir, sha(own)))).toBe(false);
    expect(existsSync(path.join(d.attachmentsDir, sha(shared)))).toBe(true);

    // The same id sent again (the same body) is not stored again.
    const replay = await d.log(body);
    expect(replay.status).toBe(409);
    expect(replay.text).toContain('deleted');
    expect(await count(`SELECT count() AS n FROM otel_traces WHERE SpanAttributes['tracehouse.log_id'] = 'del-1'`)).toBe(0);
    expect(existsSync(path.join(d.attachmentsDir, sha(own)))).toBe(false);
    // Another workspace may still use that id.
    expect((await d.log({ id: 'del-1', project: 'del', output: 'mine' }, OTHER_KEY)).status).toBe(200);

    const audit = await queryRows<{ action: string; changed_by: string }>(d.daemon, `SELECT action, changed_by FROM tracehouse_object_audit WHERE kind = 'deleted_log' AND workspace = 'acme' AND id = 'del-1'`, d.database);
    expect(audit).toEqual([{ action: 'create', changed_by: expect.stringMatching(/^key:/) }]);
    expect((await d.call('DELETE', '/api/logs/del-1')).status).toBe(404);
  });

  it('a deleted log is gone from every query at once, though its rows span two months of daily partitions', async () => {
    // One log a day for 60 days: the engine rewrites every part of every partition for a delete,
    // so the delete is registered and the store's reads (and the admin endpoint's) apply it at once.
    const day = 86_400_000;
    const start = Date.UTC(2026, 8, 1);
    for (let i = 0; i < 60; i++) {
      const timestamp = new Date(start + i * day).toISOString();
      expect((await d.log({ id: `wide-${i}`, project: 'wide', output: `day ${i}`, timestamp })).status).toBe(200);
    }
    expect((await d.call('DELETE', '/api/logs/wide-30')).status).toBe(200);
    expect(await count(`SELECT count() AS n FROM otel_traces WHERE SpanAttributes['tracehouse.log_id'] = 'wide-30'`)).toBe(0);
    expect(await count(`SELECT count() AS n FROM otel_traces WHERE SpanAttributes['tracehouse.log_id'] LIKE 'wide-%'`)).toBe(59);
    expect((await d.call('GET', '/api/logs/wide-30')).status).toBe(404);
    expect((await d.call('GET', '/api/logs?project=wide&limit=100')).body.total).toBe(59);
  });

  it('bulk-deletes logs and their decisions', async () => {
    for (const id of ['bd-1', 'bd-2', 'bd-3']) expect((await d.log({ id, project: 'bulkdel', output: 'refund' })).status).toBe(200);
    expect((await d.log({ id: 'bulk-other', project: 'bulk', output: 'refund' }, OTHER_KEY)).status).toBe(200);
    expect((await d.call('PATCH', '/api/logs/bd-1/decision', ADMIN_KEY, { decision: 'approved' })).status).toBe(200);
    const res = await d.call('PATCH', '/api/logs/bulk', ADMIN_KEY, { ids: ['bd-1', 'bd-2', 'bulk-other'], action: 'delete' });
    expect(res.body).toEqual({ ok: true, count: 2 });
    expect((await d.call('GET', '/api/logs?project=bulkdel')).body.executions.map((e: any) => e.id)).toEqual(['bd-3']);
    expect(await count(`SELECT count() AS n FROM otel_traces WHERE SpanAttributes['tracehouse.log_id'] IN ('bd-1', 'bd-2')`)).toBe(0);
    expect(await count(`SELECT count() AS n FROM tracehouse_objects FINAL WHERE kind = 'decision' AND id = 'bd-1' AND deleted = 0`)).toBe(0);
    expect((await d.log({ id: 'bd-2', project: 'bulkdel', output: 'refund' })).status).toBe(409);
    expect((await d.call('GET', '/api/logs/bulk-other', OTHER_KEY)).status).toBe(200);
  });

  it('keeps decisions and tombstones out of the catalog memory, while every read shows them and replays stay refused', async () => {
    const ids = Array.from({ length: 50 }, (_, i) => `mem-${i}`);
    for (const id of ids) expect((await d.log({ id, project: 'memory', output: 'refund maybe' })).status).toBe(200);
    // 50 decisions: half one by one, half in one bulk action; then a later decision on some.
    for (const id of ids.slice(0, 25)) expect((await d.call('PATCH', `/api/logs/${id}/decision`, ADMIN_KEY, { decision: 'approved' })).status).toBe(200);
    expect((await d.call('PATCH', '/api/logs/bulk', ADMIN_KEY, { ids: ids.slice(25), action: 'reject' })).body).toEqual({ ok: true, count: 25 });
    expect((await d.call('PATCH', '/api/logs/bulk', ADMIN_KEY, { ids: ids.slice(0, 5), action: 'reject' })).body).toEqual({ ok: true, count: 5 });
    // Three logs deleted: three tombstones.
    expect((await d.call('PATCH', '/api/logs/bulk', ADMIN_KEY, { ids: ids.slice(47), action: 'delete' })).body).toEqual({ ok: true, count: 3 });
    const catalog = d.daemon.service.objects;
    await catalog.refresh();
    expect(catalog.list('decision')).toEqual([]);
    expect(catalog.list('deleted_log')).toEqual([]);
    expect(catalog.get('decision', 'acme', 'mem-0')).toBeUndefined();
    // The store has them, and the reads show them.
    expect(await count(`SELECT count() AS n FROM tracehouse_objects FINAL WHERE kind = 'decision' AND workspace = 'acme' AND id LIKE 'mem-%' AND deleted = 0`)).toBe(47);
    expect(await count(`SELECT count() AS n FROM tracehouse_objects FINAL WHERE kind = 'deleted_log' AND workspace = 'acme' AND id LIKE 'mem-%'`)).toBe(3);
    const list = (await d.call('GET', '/api/logs?project=memory&limit=100')).body;
    expect(list.total).toBe(47);
    const shown = new Map(list.executions.map((e: any) => [e.id, e.humanDecision]));
    for (const [i, id] of ids.slice(0, 47).entries()) expect([id, shown.get(id)]).toEqual([id, i < 5 || i >= 25 ? 'rejected' : 'approved']);
    expect(list.summary.pendingReviews).toBe(0);
    expect((await d.call('GET', '/api/logs?project=memory&pending=true')).body.executions).toEqual([]);
    expect((await d.call('GET', '/api/logs/mem-1/status')).body.humanDecision).toBe('rejected');
    expect((await d.call('GET', '/api/logs/mem-10')).body.humanDecision).toBe('approved');
    // A repeated decision writes no new version (read from the store, not from memory).
    const versions = () => count(`SELECT count() AS n FROM tracehouse_object_audit WHERE kind = 'decision' AND workspace = 'acme' AND id LIKE 'mem-%'`);
    const before = await versions();
    expect((await d.call('PATCH', '/api/logs/bulk', ADMIN_KEY, { ids: ids.slice(0, 10), action: 'reject' })).body).toEqual({ ok: true, count: 10 });
    expect(await versions()).toBe(before + 5);
    // The deleted ids stay deleted when sent again (tombstones read from the store), and still are not held.
    for (const id of ids.slice(47)) expect((await d.log({ id, project: 'memory', output: 'refund maybe' })).status).toBe(409);
    expect(catalog.list('deleted_log')).toEqual([]);
  });

  it('refuses bad bodies with 422 naming the field, read keys with 403 and unknown ids with 404', async () => {
    expect((await d.log({ id: 'bad-1', project: 'bad', output: 'x' })).status).toBe(200);
    const cases: [string, unknown, string][] = [
      ['/api/logs/bad-1/decision', { decision: 'maybe' }, 'decision'],
      ['/api/logs/bad-1/decision', {}, 'decision'],
      ['/api/logs/bad-1/decision', { decision: 'approved', extra: 1 }, 'extra'],
      ['/api/logs/bad-1/decision', { decision: 'approved', note: 5 }, 'note'],
      ['/api/logs/bad-1/decision', { decision: 'approved', note: 'x'.repeat(2001) }, 'note'],
      ['/api/logs/bulk', { ids: [], action: 'approve' }, 'ids'],
      ['/api/logs/bulk', { ids: 'bad-1', action: 'approve' }, 'ids'],
      ['/api/logs/bulk', { ids: Array.from({ length: 1001 }, (_, i) => `id-${i}`), action: 'approve' }, 'ids'],
      ['/api/logs/bulk', { ids: ['bad-1'], action: 'archive' }, 'action'],
      ['/api/logs/bulk', { ids: [''], action: 'approve' }, 'ids'],
    ];
    for (const [route, body, field] of cases) {
      const res = await d.call('PATCH', route, ADMIN_KEY, body);
      expect([res.status, route, field]).toEqual([422, route, field]);
      expect(res.text).toContain(field);
    }
    expect((await d.call('PATCH', '/api/logs/bad-1/decision', ADMIN_KEY, '{broken')).status).toBe(400);
    expect((await d.call('PATCH', '/api/logs/bad-1/decision', READ_KEY, { decision: 'approved' })).status).toBe(403);
    expect((await d.call('PATCH', '/api/logs/bulk', READ_KEY, { ids: ['bad-1'], action: 'approve' })).status).toBe(403);
    expect((await d.call('PATCH', '/api/logs/nope/decision', ADMIN_KEY, { decision: 'approved' })).status).toBe(404);
    expect((await d.call('PATCH', '/api/logs/bad-1/decision', OTHER_KEY, { decision: 'approved' })).status).toBe(404);
    expect((await d.call('GET', '/api/logs/bad-1/status')).body.humanDecision).toBeNull();
    // What the document allows besides `decision`: a note (kept), decidedBy (ignored: the key decides).
    const lenient = await d.call('PATCH', '/api/logs/bad-1/decision', ADMIN_KEY, { decision: 'rejected', decidedBy: 'jane@acme.test', note: ' Wrong tone ' });
    expect(lenient.status).toBe(200);
    expect(lenient.body.decidedBy).toMatch(/^key:[0-9a-f]{12}$/);
    expect((await d.call('GET', '/api/logs/bad-1')).body).toMatchObject({ humanDecision: 'rejected', decidedBy: lenient.body.decidedBy, decisionNote: 'Wrong tone' });
    expect((await d.call('GET', '/api/logs?project=bad')).body.executions[0]).toMatchObject({ humanDecision: 'rejected', decisionNote: 'Wrong tone' });
    expect((await d.call('PATCH', '/api/logs/bulk', ADMIN_KEY, { ids: ['nope'], action: 'approve' })).body).toEqual({ ok: true, count: 0 });
  });
});
