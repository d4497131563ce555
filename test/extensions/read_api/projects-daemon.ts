/**
 * The daemon the projects and media tests run: the logs receiver (attachments under
 * TEST_DATA_DIR), the clickhouse exporter (embedded engine, one database per daemon), the read_api
 * extension with the same attachments_dir, and the control_plane extension (rules), all on one
 * listener; workspaces acme (admin, read-only key) and other.
 */
import { processDataDir, queryRows, startDaemon, uniqueDatabase } from '../../support/daemon';
import type { TestDaemon } from '../../support/daemon';
import { createRootLogger } from '../../../core/logger';
import { waitFor } from '../../support/wait';
import { apiCall } from '../control_plane/api-client';
import type { ApiAnswer } from '../control_plane/api-client';

export const ADMIN_KEY = 'ra_admin_key_0123456789abcdef';
export const READ_KEY = 'ra_read_key_0123456789abcdefgh';
export const OTHER_KEY = 'ra_other_key_0123456789abcdefg';

export interface ProjectsDaemon {
  daemon: TestDaemon;
  database: string;
  attachmentsDir: string;
  call(method: string, route: string, key: string, body?: unknown): Promise<ApiAnswer>;
  /** Posts a log as `key` and waits until its row is stored. */
  log(key: string, body: Record<string, unknown>): Promise<string>;
  /** Stored log rows of a workspace matching a condition on Project / tracehouse.task. */
  rows(workspace: string, project?: string, task?: string): Promise<number>;
}

export async function startProjectsDaemon(prefix: string, readApiExtra: string[] = [], secretsKey?: string): Promise<ProjectsDaemon> {
  const database = uniqueDatabase(prefix);
  const attachments = `\${env:TEST_DATA_DIR}/${database}-attachments`;
  const daemon = await startDaemon(`receivers:
  logs:
    listen: 127.0.0.1:0
    attachments_dir: ${attachments}
exporters:
  clickhouse:
    path: \${env:TEST_DATA_DIR}
    database: ${database}
    timeout_ms: 10
extensions:
  control_plane:
    listen: 127.0.0.1:0
  read_api:
    listen: 127.0.0.1:0
    attachments_dir: ${attachments}
${readApiExtra.map((l) => `    ${l}\n`).join('')}workspaces:
  acme:
    api_keys:
      - "${ADMIN_KEY}"
      - { key: "${READ_KEY}", roles: [read] }
  other:
    api_keys: ["${OTHER_KEY}"]
service:
  extensions: [control_plane, read_api]
${secretsKey ? `  control_plane: { secrets_key: "${secretsKey}" }\n` : ''}  admin: { listen: 127.0.0.1:0 }
  pipelines:
    traces: { receivers: [logs], exporters: [clickhouse] }
`, process.env.RA_DEBUG ? { logger: createRootLogger({ level: 'warn' }) } : {});
  const base = daemon.receiverUrl('read_api');
  const rows = async (workspace: string, project?: string, task?: string) => {
    const conditions = [`Workspace = '${workspace}'`, `SpanAttributes['tracehouse.record_type'] = 'log'`];
    if (project !== undefined) conditions.push(`Project = '${project}'`);
    if (task !== undefined) conditions.push(`SpanAttributes['tracehouse.task'] = '${task}'`);
    const found = await queryRows<{ n: string }>(daemon, `SELECT count() AS n FROM otel_traces FINAL WHERE ${conditions.join(' AND ')}`, database);
    return Number(found[0].n);
  };
  return {
    daemon,
    database,
    attachmentsDir: `${processDataDir}/${database}-attachments`,
    call: (method, route, key, body) => apiCall(base, method, route, key, body),
    rows,
    log: async (key, body) => {
      const res = await fetch(`${daemon.receiverUrl('logs')}/api/logs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ output: 'an AI answer', ...body }),
      });
      const answer = (await res.json()) as { id: string };
      expect(res.status).toBeLessThan(300);
      const workspace = key === OTHER_KEY ? 'other' : 'acme';
      await waitFor(`log ${answer.id} stored`, async () => {
        const found = await queryRows<{ n: string }>(daemon, `SELECT count() AS n FROM otel_traces WHERE Workspace = '${workspace}' AND SpanAttributes['tracehouse.log_id'] = '${answer.id}'`, database);
        return Number(found[0].n) > 0;
      });
      return answer.id;
    },
  };
}
