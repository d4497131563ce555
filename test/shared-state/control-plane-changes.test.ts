/**
 * Control-plane changes announced through Redis: with polling set to ten minutes, a rule created
 * on one daemon flags a log on another daemon sharing the store, because the write was published
 * and the other daemon read the store at once.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDaemon, uniqueDatabase } from '../support/daemon';
import type { TestDaemon } from '../support/daemon';
import { ClickhouseHttpServer } from '../support/clickhouse-http-server';
import { RedisServer } from '../support/redis-server';
import { waitFor } from '../support/wait';

const KEY = 'cp_changes_key_0123456789abcdef';

function yaml(clickhouse: string, database: string, redis: string): string {
  return `receivers:
  logs:
    listen: 127.0.0.1:0
    attachments_dir: \${env:TEST_DATA_DIR}/attachments
processors:
  evaluate_rules:
exporters:
  clickhouse:
    endpoint: ${clickhouse}
    database: ${database}
extensions:
  control_plane:
    listen: 127.0.0.1:0
workspaces:
  acme:
    api_keys: ["${KEY}"]
shared_state:
  redis: { url: "${redis}", key_prefix: "cp-changes:" }
service:
  extensions: [control_plane]
  control_plane: { refresh_interval_ms: 600000 }
  admin: { listen: 127.0.0.1:0 }
  log_level: silent
  pipelines:
    traces: { receivers: [logs], processors: [evaluate_rules], exporters: [clickhouse] }
`;
}

async function verdict(daemon: TestDaemon, output: string): Promise<string> {
  const res = await fetch(`${daemon.receiverUrl('logs')}/api/logs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ project: 'support', output, sync: true }),
  });
  return ((await res.json()) as { status: string }).status;
}

let clickhouse: ClickhouseHttpServer;
let redis: RedisServer;
let first: TestDaemon;
let second: TestDaemon;
beforeAll(async () => {
  clickhouse = await ClickhouseHttpServer.start({ path: mkdtempSync(path.join(os.tmpdir(), 'tracehouse-cp-changes-')) });
  redis = await RedisServer.start();
  const config = yaml(clickhouse.url, uniqueDatabase('cp_changes'), redis.url);
  first = await startDaemon(config);
  second = await startDaemon(config);
  await waitFor('both daemons connected to Redis', async () => (first.service.sharedStateReady && second.service.sharedStateReady ? true : undefined));
}, 60_000);
afterAll(async () => {
  await first?.stop();
  await second?.stop();
  await clickhouse?.close();
  await redis?.stop();
});

test('a rule created on one daemon applies on the other at once, not at its next poll', async () => {
  expect(await verdict(second, 'we promise a refund')).toBe('pass');
  const created = await fetch(`${first.receiverUrl('control_plane')}/api/rules`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'No refunds', type: 'keyword_forbidden', value: 'refund' }),
  });
  expect(created.status).toBe(201);
  // Polling is ten minutes away: only the announcement can bring the rule over in time.
  await waitFor('the rule on the second daemon', async () => ((await verdict(second, 'we promise a refund')) === 'flagged' ? true : undefined));
});

test('two daemons cannot both win the same If-Match: one write succeeds, the other is 412', async () => {
  const created = await fetch(`${first.receiverUrl('control_plane')}/api/rules`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Contested', type: 'keyword_forbidden', value: 'one' }),
  });
  const { id } = (await created.json()) as { id: string };
  await waitFor('the rule on the second daemon', async () => {
    const res = await fetch(`${second.receiverUrl('control_plane')}/api/rules/${id}`, { headers: { authorization: `Bearer ${KEY}` } });
    return res.status === 200 ? true : undefined;
  });
  const patch = (daemon: TestDaemon, value: string) =>
    fetch(`${daemon.receiverUrl('control_plane')}/api/rules/${id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'if-match': '"1"' },
      body: JSON.stringify({ value }),
    }).then((r) => r.status);
  for (let round = 0; round < 5; round++) {
    const version = round + 1;
    const statuses = await Promise.all([first, second].map((daemon, i) =>
      fetch(`${daemon.receiverUrl('control_plane')}/api/rules/${id}`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'if-match': `"${version}"` },
        body: JSON.stringify({ value: `round-${round}-${i}` }),
      }).then((r) => r.status),
    ));
    expect(statuses.sort()).toEqual([200, 412]);
  }
  expect(await patch(first, 'stale')).toBe(412);
});
