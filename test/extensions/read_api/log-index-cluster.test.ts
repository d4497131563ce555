/**
 * The log index on a server and a cluster: with the exporter's cluster_name every statement of
 * the index's migrations and every delete runs ON CLUSTER with Replicated engines (statement
 * text; there is no cluster here), and the logs API works against a ClickHouse server's HTTP
 * interface (the test double backed by the embedded engine): list by project, get, delete.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TraceStore } from '../../../core/component';
import { logIndexStatements } from '../../../extensions/read_api/log-index';
import { deleteStatement } from '../../../extensions/read_api/log-store';
import { ClickhouseHttpServer } from '../../support/clickhouse-http-server';
import { startLogsDaemon } from './logs-daemon';
import type { LogsDaemon } from './logs-daemon';

const storeOn = (clusterName: string | undefined) => ({ database: 'obs', clusterName }) as unknown as TraceStore;

describe('read_api: the log index DDL', () => {
  it('runs every DDL statement ON CLUSTER with Replicated engines when the store has a cluster', () => {
    const statements = logIndexStatements(storeOn('prod'));
    const ddl = statements.filter((s) => /^(CREATE|DROP|ALTER)/.test(s));
    expect(ddl.length).toBeGreaterThanOrEqual(10);
    for (const s of ddl) expect(s.split('\n')[0]).toContain(' ON CLUSTER `prod`');
    const tables = ddl.filter((s) => s.startsWith('CREATE TABLE') && !s.includes('ENGINE = Null'));
    expect(tables.map((s) => /CREATE TABLE IF NOT EXISTS `obs`\.`(\w+)`/.exec(s)?.[1]).sort()).toEqual(['tracehouse_log_by_project', 'tracehouse_log_ids', 'tracehouse_log_index']);
    for (const s of tables) expect(s).toContain("ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')");
    expect(statements.find((s) => s.includes('tracehouse_log_by_project` ON CLUSTER'))).toContain('ORDER BY (workspace, project, timestamp, log_key)');
    expect(deleteStatement(storeOn('prod'), 'tracehouse_log_ids', "workspace = 'a'")).toBe("DELETE FROM `obs`.`tracehouse_log_ids` ON CLUSTER `prod` WHERE workspace = 'a'");
  });

  it('uses plain engines and no ON CLUSTER without a cluster', () => {
    const statements = logIndexStatements(storeOn(undefined));
    expect(statements.join('\n')).not.toContain('ON CLUSTER');
    expect(statements.join('\n')).not.toContain('Replicated');
    expect(statements.filter((s) => s.startsWith('CREATE TABLE')).every((s) => s.includes('ENGINE = ReplacingMergeTree()') || s.includes('ENGINE = Null'))).toBe(true);
    expect(deleteStatement(storeOn(undefined), 't', '1')).toBe('DELETE FROM `obs`.`t` WHERE 1');
  });
});

describe('read_api: the logs API on a ClickHouse server', () => {
  let clickhouse: ClickhouseHttpServer;
  let d: LogsDaemon;
  beforeAll(async () => {
    clickhouse = await ClickhouseHttpServer.start({ path: mkdtempSync(path.join(os.tmpdir(), 'tracehouse-read-api-server-')) });
    d = await startLogsDaemon('read_server', { endpoint: clickhouse.url });
    for (const [id, project, output] of [
      ['srv-1', 'alpha', 'fine'],
      ['srv-2', 'alpha', 'a refund'],
      ['srv-3', 'beta', 'fine too'],
    ]) {
      expect((await d.log({ id, project, output })).status).toBe(200);
    }
  });
  afterAll(async () => {
    await d?.stop();
    await clickhouse?.close();
  });

  it('lists by project, gets and deletes through the server', async () => {
    const alpha = await d.call('GET', '/api/logs?project=alpha');
    expect(alpha.status).toBe(200);
    expect(alpha.body.executions.map((e: any) => e.id).sort()).toEqual(['srv-1', 'srv-2']);
    expect(alpha.body.summary).toMatchObject({ totalRuns: 2, failuresDetected: 1 });
    expect((await d.call('GET', '/api/logs/srv-2')).body).toMatchObject({ id: 'srv-2', status: 'flagged', projectName: 'alpha' });
    expect((await d.call('DELETE', '/api/logs/srv-2')).status).toBe(200);
    expect((await d.call('GET', '/api/logs/srv-2')).status).toBe(404);
    expect((await d.call('GET', '/api/logs?project=alpha')).body.executions.map((e: any) => e.id)).toEqual(['srv-1']);
    expect((await d.call('GET', '/api/logs')).body.total).toBe(2);
    // The statements went to the server: the project-ordered copy was created and deleted from.
    const queries = clickhouse.requests.map((r) => r.query);
    expect(queries.some((q) => q.includes('CREATE TABLE IF NOT EXISTS `') && q.includes('tracehouse_log_by_project'))).toBe(true);
    expect(queries.some((q) => q.startsWith('DELETE FROM') && q.includes('tracehouse_log_by_project'))).toBe(true);
  });
});
