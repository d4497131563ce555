/**
 * The log index is created by the read_api extension on a store that already holds logs: they are
 * backfilled once (and counted once after a restart), and later logs reach it through the views.
 */
import { EmbeddedConnection } from '../../../exporters/clickhouse/embedded-connection';
import { processDataDir, startDaemon, uniqueDatabase, queryRows } from '../../support/daemon';
import { apiCall } from '../control_plane/api-client';
import { ADMIN_KEY, freePort } from './logs-daemon';

function yaml(port: number, database: string, readApi: boolean): string {
  return `receivers:
  logs:
    listen: 127.0.0.1:${port}
    attachments_dir: \${env:TEST_DATA_DIR}/attachments
exporters:
  clickhouse:
    path: \${env:TEST_DATA_DIR}
    database: ${database}
${readApi ? `extensions:\n  read_api:\n    listen: 127.0.0.1:${port}\n` : ''}workspaces:
  acme:
    api_keys: ["${ADMIN_KEY}"]
service:
${readApi ? '  extensions: [read_api]\n' : ''}  admin: { listen: 127.0.0.1:0 }
  pipelines:
    traces: { receivers: [logs], exporters: [clickhouse] }
`;
}

describe('read_api: the log index on a store with logs already', () => {
  it('backfills stored logs once and follows new ones', async () => {
    const database = uniqueDatabase('logs_backfill');
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const before = await startDaemon(yaml(port, database, false));
    try {
      for (const id of ['old-1', 'old-2']) expect((await apiCall(base, 'POST', '/api/logs', ADMIN_KEY, { id, project: 'legacy', output: 'stored before the read API' })).status).toBe(200);
      // Without the read_api extension, GET /api/logs is the receiver's 405.
      const refused = await apiCall(base, 'GET', '/api/logs', ADMIN_KEY);
      expect(refused.status).toBe(405);
      expect(refused.headers.get('allow')).toBe('POST');
    } finally {
      await before.stop();
    }

    for (let start = 0; start < 2; start += 1) {
      const daemon = await startDaemon(yaml(port, database, true));
      try {
        const list = await apiCall(base, 'GET', '/api/logs', ADMIN_KEY);
        expect(list.status).toBe(200);
        expect(list.body.executions.map((e: any) => e.id).sort()).toEqual(start === 0 ? ['old-1', 'old-2'] : ['new-1', 'old-1', 'old-2']);
        // With no evaluate_rules in the pipeline a log has no verdict: it is pending, not passed.
        expect(list.body.summary).toMatchObject({ totalRuns: list.body.total, failuresDetected: 0, pendingReviews: 0, successRate: 0 });
        expect(list.body.executions.every((e: any) => e.status === 'pending' && e.verdict === null)).toBe(true);
        expect((await apiCall(base, 'GET', '/api/logs?status=pending', ADMIN_KEY)).body.total).toBe(list.body.total);
        expect((await apiCall(base, 'GET', '/api/logs?status=pass', ADMIN_KEY)).body.total).toBe(0);
        expect((await apiCall(base, 'GET', '/api/logs?project=legacy&status=pending', ADMIN_KEY)).body.total).toBe(list.body.total);
        // The search column came after the backfill (step 7): stored parts compute it on read.
        expect((await apiCall(base, 'GET', '/api/logs?q=LEGAC', ADMIN_KEY)).body.total).toBe(list.body.total);
        if (start === 0) expect((await apiCall(base, 'POST', '/api/logs', ADMIN_KEY, { id: 'new-1', project: 'legacy', output: 'after' })).status).toBe(200);
        expect((await apiCall(base, 'GET', '/api/logs/new-1/status', ADMIN_KEY)).body).toMatchObject({ id: 'new-1', status: 'pending' });
        const steps = await queryRows<{ version: string }>(daemon, `SELECT version FROM tracehouse_schema_migrations FINAL WHERE table_name = 'tracehouse_log_index' ORDER BY version`, database);
        expect(steps.map((s) => Number(s.version))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
        // Log spans reach the ids table through the Null staging table, and the list tables copy
        // the ids table's rows; the views of the first version (on the spans table itself) are
        // gone, so inserts without logs plan no view.
        const engine = new EmbeddedConnection(processDataDir, 30_000);
        const views = await engine.select(`SELECT name, engine FROM system.tables WHERE database = '${database}' AND name LIKE 'tracehouse_log%' ORDER BY name`, 'JSONEachRow');
        await engine.close();
        expect(views.trim().split('\n').map((line) => JSON.parse(line))).toEqual([
          { name: 'tracehouse_log_by_project', engine: 'ReplacingMergeTree' },
          { name: 'tracehouse_log_by_project_from_ids', engine: 'MaterializedView' },
          { name: 'tracehouse_log_ids', engine: 'ReplacingMergeTree' },
          { name: 'tracehouse_log_ids_feed_v6', engine: 'MaterializedView' },
          { name: 'tracehouse_log_index', engine: 'ReplacingMergeTree' },
          { name: 'tracehouse_log_index_from_ids', engine: 'MaterializedView' },
          { name: 'tracehouse_log_spans', engine: 'Null' },
          { name: 'tracehouse_log_spans_mv', engine: 'MaterializedView' },
        ]);
      } finally {
        await daemon.stop();
      }
    }
  });
});
