/**
 * Per-span alert conditions with shared state: two daemons each see failing spans of the same
 * group; they agree on one incident (one firing page, the same incident id in the table) and
 * resolve it once, after nobody saw a matching span for the cooldown.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { queryRows, startDaemon, uniqueDatabase } from '../support/daemon';
import type { TestDaemon } from '../support/daemon';
import { ClickhouseHttpServer } from '../support/clickhouse-http-server';
import { RedisServer } from '../support/redis-server';
import { waitFor } from '../support/wait';
import { sendSpans, span, startHttpStandIn } from '../processors/alert/support';
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
    cooldown_seconds: 1
    targets:
      slack-oncall: { type: slack, webhook_url: "${slack}/services/T000/B000/XXXX" }
    rules:
      - { id: failing, name: Failing calls, severity: high, targets: [slack-oncall], condition: { type: error_status }, group_by: [model] }
exporters:
  clickhouse:
    endpoint: ${clickhouse}
    database: ${database}
    timeout_ms: 10
shared_state:
  redis: { url: "${redis}", key_prefix: "alert-per-span:" }
service:
  admin: { listen: 127.0.0.1:0 }
  pipelines:
    traces: { receivers: [otlp], processors: [alert], exporters: [clickhouse] }
`;
}

let clickhouse: ClickhouseHttpServer;
let redis: RedisServer;
let slack: HttpStandIn;
let first: TestDaemon;
let second: TestDaemon;
const database = uniqueDatabase('alert_per_span');

beforeAll(async () => {
  clickhouse = await ClickhouseHttpServer.start({ path: mkdtempSync(path.join(os.tmpdir(), 'tracehouse-per-span-')) });
  redis = await RedisServer.start();
  slack = await startHttpStandIn();
  const config = yaml(clickhouse.url, database, redis.url, slack.url);
  first = await startDaemon(config);
  second = await startDaemon(config);
  await waitFor('both daemons connected to Redis', () => first.service.sharedStateReady && second.service.sharedStateReady);
}, 60_000);
afterAll(async () => {
  await first?.stop();
  await second?.stop();
  await slack?.close();
  await clickhouse?.close();
  await redis?.stop();
});

test('failing spans seen by two daemons open one incident, page once, and resolve once', async () => {
  expect(await sendSpans(first, [span({ status: 'error' })])).toBe(200);
  await waitFor('the firing page', () => slack.posts.length >= 1);
  expect(await sendSpans(second, [span({ status: 'error' }), span({ status: 'error' })])).toBe(200);
  expect(await sendSpans(first, [span({ status: 'error' })])).toBe(200);
  const incidents = () => queryRows<{ incident_id: string; status: string }>(first, 'SELECT incident_id, status FROM tracehouse_incidents', database);
  await waitFor('the incident resolved', async () => ((await incidents()).every((i) => i.status === 'resolved') && (await incidents()).length > 0 ? true : undefined));
  // One incident (the second daemon adopted the first's id), one firing and one resolved page.
  expect((await incidents()).map((i) => i.status)).toEqual(['resolved']);
  await waitFor('the resolution page', () => slack.posts.length >= 2);
  // Rounds run every second on both daemons: give a second resolution (which must not come) two.
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  expect(slack.posts).toHaveLength(2);
  expect(JSON.stringify(slack.posts[0].body)).toMatch(/firing/i);
  expect(JSON.stringify(slack.posts[1].body)).toMatch(/resolved/i);
}, 60_000);
