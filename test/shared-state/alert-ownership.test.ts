/**
 * Alert ownership through a real Redis: two daemons (one a separate process) run the same
 * windowed alert rule over one ClickHouse server. The condition is true for both, yet one page
 * goes out; when the owning process is SIGKILLed, the other takes the rule over, continues the
 * same incident from the incidents table and resolves it (one incident, two pages in all).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encodeTraceRequestProto } from '../../core/otlp/encode';
import { queryRows, startDaemon, uniqueDatabase } from '../support/daemon';
import type { TestDaemon } from '../support/daemon';
import { ClickhouseHttpServer } from '../support/clickhouse-http-server';
import { RedisServer } from '../support/redis-server';
import { buildDist, spawnDaemon } from '../support/daemon-process';
import { waitFor } from '../support/wait';
import { action, span, startHttpStandIn } from '../processors/alert/support';
import type { HttpStandIn } from '../processors/alert/support';

function yaml(clickhouse: string, database: string, redis: string, slack: string): string {
  return `receivers:
  otlp:
    http: { listen: 127.0.0.1:0 }
    grpc: { enabled: false }
processors:
  alert:
    delivery: { allow_private_addresses: true }
    evaluation_interval_seconds: 1
    cooldown_seconds: 0
    targets:
      slack-oncall: { type: slack, webhook_url: "${slack}/services/T000/B000/XXXX" }
    rules:
      - id: slow-chat
        name: Slow chat
        severity: high
        targets: [slack-oncall]
        condition: { type: latency_avg, threshold_ms: 1000, window_seconds: 10 }
        group_by: [model]
exporters:
  clickhouse:
    endpoint: ${clickhouse}
    database: ${database}
    timeout_ms: 10
shared_state:
  redis: { url: "${redis}", key_prefix: "alert-ownership:" }
service:
  admin: { listen: 127.0.0.1:0 }
  pipelines:
    traces: { receivers: [otlp], processors: [alert], exporters: [clickhouse] }
`;
}

let clickhouse: ClickhouseHttpServer;
let redis: RedisServer;
let slack: HttpStandIn;
let owner: ChildProcess | undefined;
let survivor: TestDaemon | undefined;

beforeAll(async () => {
  buildDist();
  clickhouse = await ClickhouseHttpServer.start({ path: mkdtempSync(path.join(os.tmpdir(), 'tracehouse-ownership-')) });
  redis = await RedisServer.start();
  slack = await startHttpStandIn();
}, 180_000);
afterAll(async () => {
  owner?.kill('SIGKILL');
  await survivor?.stop();
  await slack?.close();
  await clickhouse?.close();
  await redis?.stop();
});

test('a condition true on both daemons pages once, and the survivor of a SIGKILL resolves the same incident', async () => {
  const database = uniqueDatabase('ownership');
  const config = yaml(clickhouse.url, database, redis.url, slack.url);
  const first = await spawnDaemon(config);
  owner = first.child;
  // Slow calls, stored in the shared ClickHouse: the condition is true for every daemon.
  const res = await fetch(`${first.url}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/x-protobuf' }, body: encodeTraceRequestProto([span({ durationMs: 2000 }), span({ durationMs: 3000 })]) });
  expect(res.status).toBe(200);
  await waitFor('the first page', () => slack.posts.length >= 1);

  survivor = await startDaemon(config);
  await waitFor('the survivor connected to Redis', () => survivor?.service.sharedStateReady === true);
  // The survivor evaluates too while the condition holds, but the rule is the owner's: it opens no
  // incident of its own and pages nothing.
  const round = await action(survivor, 'evaluate');
  expect(round.status).toBe(200);
  expect(round.body.result.firing).toEqual([]);
  expect(slack.posts).toHaveLength(1);
  const incidents = () => queryRows<{ incident_id: string; status: string }>(survivor as TestDaemon, 'SELECT incident_id, status FROM tracehouse_incidents', database);
  expect((await incidents()).map((i) => i.status)).toEqual(['firing']);
  const firingId = (await incidents())[0].incident_id;

  owner.kill('SIGKILL');
  owner = undefined;
  // The owner's lease runs out; the survivor takes the rule over, finds the calls aged out of the
  // window and resolves the incident the owner opened.
  await waitFor('the incident resolved by the survivor', async () => ((await incidents())[0]?.status === 'resolved' ? true : undefined));
  const final = await incidents();
  expect(final).toEqual([{ incident_id: firingId, status: 'resolved' }]);
  await waitFor('the resolution page', () => slack.posts.length >= 2);
  expect(slack.posts).toHaveLength(2);
  expect(JSON.stringify(slack.posts[0].body)).toMatch(/firing/i);
  expect(JSON.stringify(slack.posts[1].body)).toMatch(/resolved/i);
}, 120_000);
