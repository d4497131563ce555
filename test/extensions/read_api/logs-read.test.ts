/**
 * GET /api/logs, /api/logs/:id, /api/logs/:id/status and /api/logs/tasks through HTTP, on the
 * listener of POST /api/logs: the document's shapes, every list parameter, pages, sorting and
 * the summary, stored data, replays counted once, workspace isolation and bad parameters.
 */
import { EmbeddedConnection } from '../../../exporters/clickhouse/embedded-connection';
import { processDataDir, queryRows } from '../../support/daemon';
import { ADMIN_KEY, OTHER_KEY, READ_KEY, startLogsDaemon } from './logs-daemon';
import type { LogsDaemon } from './logs-daemon';

describe('read_api: reading logs', () => {
  let d: LogsDaemon;
  beforeAll(async () => {
    d = await startLogsDaemon('logs_read');
    const logs = [
      { id: 'log-1', project: 'support', task: 'reply', model: 'gpt-4o', output: 'Happy to help.', input: 'Hi', latencyMs: 120, costUsd: 0.002, confidence: 0.9, sessionId: 'sess-1', customerId: 'cust-1', userId: 'agent-7', metadata: { env: 'prod', tags: ['vip', 'eu'], run: { n: 3 } }, timestamp: '2024-11-15T10:30:00Z' },
      { id: 'log-2', project: 'support', task: 'reply', model: 'claude-3-5-sonnet', output: 'We will refund you.', latencyMs: 300, costUsd: 0.01, sessionId: 'sess-1', timestamp: '2024-11-15T11:00:00Z' },
      { id: 'log-3', project: 'billing', task: 'invoice', model: 'gpt-4o-mini', output: 'Your invoice is attached.', latencyMs: 50, costUsd: 0.0005, sessionId: 'sess-2', subjectId: 'inv-9', actorId: 'bot-1', metadata: { tags: 'eu,finance' }, timestamp: '2024-11-16T09:00:00Z' },
      { id: 'log-4', project: 'billing', output: 'A refund is on its way.', timestamp: '2024-12-01T00:00:00Z' },
    ];
    for (const log of logs) expect((await d.log(log)).status).toBe(200);
    // A replay of log-1 (same id and body) and one in the other workspace with the same id.
    expect((await d.log(logs[0])).status).toBe(200);
    expect((await d.log({ id: 'log-1', project: 'secret-project', task: 'hidden', output: 'other workspace', timestamp: '2024-11-15T10:30:00Z' }, OTHER_KEY)).status).toBe(200);
  });
  afterAll(() => d.stop());

  it('lists the workspace logs newest first with the documented envelope and summary', async () => {
    const res = await d.call('GET', '/api/logs', READ_KEY);
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['executions', 'limit', 'page', 'summary', 'total']);
    expect(res.body.executions.map((e: any) => e.id)).toEqual(['log-4', 'log-3', 'log-2', 'log-1']);
    expect(res.body).toMatchObject({ total: 4, page: 1, limit: 25, summary: { totalRuns: 4, failuresDetected: 2, pendingReviews: 2, successRate: 50 } });
    const first = res.body.executions.find((e: any) => e.id === 'log-1');
    expect(first).toMatchObject({
      id: 'log-1',
      timestamp: '2024-11-15T10:30:00.000Z',
      status: 'pass',
      projectName: 'support',
      taskName: 'reply',
      model: 'gpt-4o',
      latencyMs: 120,
      costUsd: 0.002,
      confidenceScore: 0.9,
      sessionId: 'sess-1',
      subjectId: 'cust-1',
      actorId: 'agent-7',
      tags: ['vip', 'eu'],
      humanDecision: null,
    });
    expect(first.projectId).toMatch(/^proj_[0-9a-f]{16}$/);
    const flagged = res.body.executions.find((e: any) => e.id === 'log-2');
    expect(flagged).toMatchObject({ status: 'flagged', verdict: 'flagged', explanation: expect.stringContaining('No refunds') });
  });

  it('filters by every parameter of the document', async () => {
    const ids = async (query: string) => {
      const res = await d.call('GET', `/api/logs?${query}`);
      expect(res.status).toBe(200);
      return res.body.executions.map((e: any) => e.id);
    };
    expect(await ids('project=billing')).toEqual(['log-4', 'log-3']);
    expect(await ids('task=reply')).toEqual(['log-2', 'log-1']);
    expect(await ids('status=flagged')).toEqual(['log-4', 'log-2']);
    expect(await ids('status=pass')).toEqual(['log-3', 'log-1']);
    expect(await ids('status=error')).toEqual([]);
    expect(await ids('status=pending')).toEqual([]);
    expect(await ids('pending=true')).toEqual(['log-4', 'log-2']);
    expect(await ids('pending=false')).toEqual(['log-4', 'log-3', 'log-2', 'log-1']);
    expect(await ids('sessionId=sess-1')).toEqual(['log-2', 'log-1']);
    expect(await ids('subjectId=inv-9')).toEqual(['log-3']);
    expect(await ids('actorId=agent-7')).toEqual(['log-1']);
    expect(await ids('q=CLAUDE')).toEqual(['log-2']);
    expect(await ids('q=bot')).toEqual(['log-3']);
    expect(await ids('q=bill')).toEqual(['log-4', 'log-3']);
    expect(await ids('tags=finance')).toEqual(['log-3']);
    expect(await ids('tags=eu,nothing')).toEqual(['log-3', 'log-1']);
    expect(await ids('from=2024-11-15T10:45:00Z&to=2024-11-16T23:00:00Z')).toEqual(['log-3', 'log-2']);
    expect(await ids('from=2024-11-16')).toEqual(['log-4', 'log-3']);
    // A date-only `to` takes in its whole day (up to the next midnight, excluded).
    expect(await ids('to=2024-11-15')).toEqual(['log-2', 'log-1']);
    expect(await ids('from=2024-11-16&to=2024-11-16')).toEqual(['log-3']);
    expect(await ids('to=2024-11-30')).toEqual(['log-3', 'log-2', 'log-1']);
    expect(await ids('to=2024-12-01')).toEqual(['log-4', 'log-3', 'log-2', 'log-1']);
    expect(await ids('project=support&status=flagged&sessionId=sess-1')).toEqual(['log-2']);
  });

  it('sorts by each sortBy field in both directions and pages', async () => {
    const ids = async (query: string) => (await d.call('GET', `/api/logs?${query}`)).body.executions.map((e: any) => e.id);
    expect(await ids('sortBy=timestamp&sortDir=asc')).toEqual(['log-1', 'log-2', 'log-3', 'log-4']);
    expect(await ids('sortBy=latencyMs&sortDir=desc')).toEqual(['log-2', 'log-1', 'log-3', 'log-4']);
    expect(await ids('sortBy=costUsd&sortDir=asc')).toEqual(['log-3', 'log-1', 'log-2', 'log-4']);
    expect(await ids('sortBy=projectName&sortDir=asc')).toEqual(['log-4', 'log-3', 'log-2', 'log-1']);
    expect(await ids('sortBy=model&sortDir=asc&project=support')).toEqual(['log-2', 'log-1']);
    expect(await ids('sortBy=status&sortDir=asc')).toEqual(['log-4', 'log-2', 'log-3', 'log-1']);
    const page2 = await d.call('GET', '/api/logs?limit=3&page=2');
    expect(page2.body).toMatchObject({ total: 4, page: 2, limit: 3 });
    expect(page2.body.executions.map((e: any) => e.id)).toEqual(['log-1']);
    const beyond = await d.call('GET', '/api/logs?limit=3&page=9');
    expect(beyond.body).toMatchObject({ executions: [], total: 4, page: 9 });
  });

  it('summarizes the filtered logs', async () => {
    const res = await d.call('GET', '/api/logs?project=billing');
    expect(res.body.summary).toEqual({ totalRuns: 2, failuresDetected: 1, pendingReviews: 1, successRate: 50 });
    const none = await d.call('GET', '/api/logs?project=nothing');
    expect(none.body).toEqual({ executions: [], total: 0, page: 1, limit: 25, summary: { totalRuns: 0, failuresDetected: 0, pendingReviews: 0, successRate: 0 } });
  });

  it('gets one log with its text, verdict, findings and metadata', async () => {
    const res = await d.call('GET', '/api/logs/log-1', READ_KEY);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id: 'log-1',
      workspaceId: 'acme',
      userId: 'agent-7',
      timestamp: '2024-11-15T10:30:00.000Z',
      status: 'pass',
      output: 'Happy to help.',
      input: 'Hi',
      confidence: 0.9,
      metadata: { env: 'prod', tags: ['vip', 'eu'], run: { n: '3' } },
      verdict: 'pass',
      findings: [],
      humanDecision: null,
      decidedBy: null,
    });
    const flagged = await d.call('GET', '/api/logs/log-2');
    expect(flagged.body).toMatchObject({ status: 'flagged', output: 'We will refund you.', verdict: 'flagged', rules: [{ name: 'No refunds', triggered: true }] });
    expect(flagged.body.findings).toEqual([expect.objectContaining({ ruleId: 'no-refunds', outcome: 'triggered' })]);
  });

  it('answers the status poll with the documented fields', async () => {
    const res = await d.call('GET', '/api/logs/log-2/status', READ_KEY);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ id: 'log-2', status: 'flagged', verdict: 'flagged', confidenceScore: 1, explanation: expect.stringContaining('No refunds'), humanDecision: null });
    expect((await d.call('GET', '/api/logs/log-1/status')).body).toMatchObject({ status: 'pass', confidenceScore: 0.9 });
  });

  it('lists distinct task names, per project', async () => {
    expect((await d.call('GET', '/api/logs/tasks')).body).toEqual(['invoice', 'reply']);
    expect((await d.call('GET', '/api/logs/tasks?project=billing')).body).toEqual(['invoice']);
    expect((await d.call('GET', '/api/logs/tasks?project=nothing')).body).toEqual([]);
    expect((await d.call('GET', '/api/logs/tasks', OTHER_KEY)).body).toEqual(['hidden']);
    expect((await d.call('GET', '/api/logs/tasks?verbose=1')).status).toBe(422);
  });

  it('keeps workspaces apart whatever ids or filters a key sends', async () => {
    const other = await d.call('GET', '/api/logs', OTHER_KEY);
    expect(other.body.executions.map((e: any) => [e.id, e.projectName])).toEqual([['log-1', 'secret-project']]);
    expect(other.body.total).toBe(1);
    expect((await d.call('GET', '/api/logs?project=support', OTHER_KEY)).body.total).toBe(0);
    for (const id of ['log-2', 'log-3', 'log-4']) {
      expect((await d.call('GET', `/api/logs/${id}`, OTHER_KEY)).status).toBe(404);
      expect((await d.call('GET', `/api/logs/${id}/status`, OTHER_KEY)).status).toBe(404);
    }
    expect((await d.call('GET', '/api/logs/log-1', OTHER_KEY)).body).toMatchObject({ workspaceId: 'other', output: 'other workspace' });
    expect((await d.call('GET', '/api/logs/log-1')).body).toMatchObject({ workspaceId: 'acme', output: 'Happy to help.' });
  });

  it('reads from the log index, where a replayed log is one row', async () => {
    const rows = await queryRows<{ n: string }>(d.daemon, `SELECT count() AS n FROM tracehouse_log_index FINAL WHERE workspace = 'acme' AND log_id = 'log-1'`, d.database);
    expect(Number(rows[0].n)).toBe(1);
    const ids = await queryRows<{ n: string }>(d.daemon, `SELECT count() AS n FROM tracehouse_log_ids FINAL WHERE workspace = 'acme'`, d.database);
    expect(Number(ids[0].n)).toBe(4);
  });

  it('answers 404 for unknown ids and 422 naming each bad parameter', async () => {
    expect((await d.call('GET', '/api/logs/no-such-log')).status).toBe(404);
    expect((await d.call('GET', `/api/logs/${'x'.repeat(300)}`)).status).toBe(404);
    const cases: [string, string][] = [
      ['status=maybe', 'status'],
      ['pending=yes', 'pending'],
      ['sortBy=cost', 'sortBy'],
      ['sortDir=up', 'sortDir'],
      ['page=0', 'page'],
      ['limit=101', 'limit'],
      ['limit=abc', 'limit'],
      ['from=yesterday', 'from'],
      ['to=2024-13-45T00:00:00', 'to'],
      ['from=2024-12-01&to=2024-11-01', 'to'],
      [`q=${'a'.repeat(201)}`, 'q'],
      [`tags=${Array.from({ length: 21 }, (_, i) => `t${i}`).join(',')}`, 'tags'],
      ['colour=blue', 'colour'],
    ];
    for (const [query, field] of cases) {
      const res = await d.call('GET', `/api/logs?${query}`);
      expect([res.status, query]).toEqual([422, query]);
      expect(res.text).toContain(field);
    }
  });

  it('needs a valid key; POST still stores and other methods on /api/logs are 405', async () => {
    expect((await fetch(`${d.base}/api/logs`)).status).toBe(401);
    expect((await d.call('GET', '/api/logs', 'not-a-key')).status).toBe(401);
    expect((await d.call('PUT', '/api/logs', ADMIN_KEY, {})).status).toBe(405);
  });

  // Last: it adds logs to the other workspace, which the tests above read.
  it('searches q literally and case-insensitively, never across two fields', async () => {
    const logs = [
      { id: 'q-1', project: 'Écoles', task: 'xray', sessionId: 'a_b%c\\d', output: 'one', timestamp: '2024-11-20T10:00:00Z' },
      { id: 'q-2', project: 'écoles', task: 'other', sessionId: 'axbzc', output: 'two', timestamp: '2024-11-20T11:00:00Z' },
    ];
    for (const log of logs) expect((await d.log(log, OTHER_KEY)).status).toBe(200);
    const ids = async (q: string) => {
      const res = await d.call('GET', `/api/logs?q=${encodeURIComponent(q)}`, OTHER_KEY);
      expect(res.status).toBe(200);
      return res.body.executions.map((e: any) => e.id);
    };
    expect(await ids('ÉCOLES')).toEqual(['q-2', 'q-1']);
    // LIKE's wildcards and escape character are plain characters of q.
    expect(await ids('a_b')).toEqual(['q-1']);
    expect(await ids('b%c')).toEqual(['q-1']);
    expect(await ids('c\\d')).toEqual(['q-1']);
    expect(await ids('%')).toEqual(['q-1']);
    expect(await ids('xbz')).toEqual(['q-2']);
    // A line break (the search column's separator) never matches the end of one field and the start of the next.
    expect(await ids('écoles\nxray')).toEqual([]);
    expect(await ids('\nxray')).toEqual([]);
    expect((await d.call('GET', `/api/logs?q=${encodeURIComponent('ÉCOLES')}`, OTHER_KEY)).body.total).toBe(2);
  });

  it('pages exactly when a newer version of a log no longer matches the filter', async () => {
    for (const [id, timestamp] of [['v-1', '2024-11-21T10:00:00Z'], ['v-2', '2024-11-21T09:00:00Z']]) {
      expect((await d.log({ id, project: 'versions', task: 'verse', output: 'v', timestamp }, OTHER_KEY)).status).toBe(200);
    }
    // Two more versions of v-1 (same timestamp and id): a copy, then one with another task, the latest.
    const engine = new EmbeddedConnection(processDataDir, 30_000);
    const index = `${d.database}.tracehouse_log_index`;
    const copy = (task: string) => `INSERT INTO ${index} SELECT * REPLACE ('${task}' AS task) FROM ${index} WHERE workspace = 'other' AND log_id = 'v-1' LIMIT 1`;
    // Merges stopped: a merge would keep only the latest version, and the candidates would hold v-2.
    await engine.command(`SYSTEM STOP MERGES ${index}`);
    await engine.command(copy('verse'));
    await engine.command(copy('moved'));
    // The first page's candidates (two rows: both of v-1's matching versions) hold no log whose
    // latest version matches: the page is read again in one FINAL pass.
    const page = await d.call('GET', '/api/logs?task=verse&limit=1', OTHER_KEY);
    expect(page.body).toMatchObject({ total: 1, executions: [{ id: 'v-2', taskName: 'verse' }] });
    expect((await d.call('GET', '/api/logs?task=moved&limit=1', OTHER_KEY)).body).toMatchObject({ total: 1, executions: [{ id: 'v-1', taskName: 'moved' }] });
    expect((await d.call('GET', '/api/logs?from=2024-11-21&to=2024-11-21', OTHER_KEY)).body.executions.map((e: any) => [e.id, e.taskName])).toEqual([
      ['v-1', 'moved'],
      ['v-2', 'verse'],
    ]);
    await engine.command(`SYSTEM START MERGES ${index}`);
    await engine.close();
  });
});
