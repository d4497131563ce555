/**
 * Idempotency shared through a real Redis by two daemons on one ClickHouse server: a retry that
 * lands on the other daemon gets the first answer byte for byte and stores nothing; repeats sent
 * to both daemons at once are stored once; a log id in the body likewise. With Redis down and
 * on_unavailable: refuse, a keyed request is refused with 503 instead of risking a double.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { queryRows, startDaemon, TEST_API_KEY, TEST_WORKSPACE, uniqueDatabase } from '../support/daemon';
import type { TestDaemon } from '../support/daemon';
import { ClickhouseHttpServer } from '../support/clickhouse-http-server';
import { buildDist, spawnDaemon } from '../support/daemon-process';
import type { DaemonProcess } from '../support/daemon-process';
import { RedisServer } from '../support/redis-server';
import { waitFor } from '../support/wait';

function yaml(clickhouse: string, database: string, redis: string, onUnavailable: 'allow' | 'refuse'): string {
  return `receivers:
  native:
    listen: 127.0.0.1:0
  logs:
    listen: 127.0.0.1:0
    attachments_dir: \${env:TEST_DATA_DIR}/attachments
exporters:
  clickhouse:
    endpoint: ${clickhouse}
    database: ${database}
workspaces:
  ${TEST_WORKSPACE}:
    api_keys: ["${TEST_API_KEY}"]
shared_state:
  redis: { url: "${redis}", key_prefix: "idem-${database}:", command_timeout_ms: 300 }
  idempotency: { on_unavailable: ${onUnavailable} }
service:
  admin: { listen: 127.0.0.1:0 }
  log_level: info
  pipelines:
    traces: { receivers: [native, logs], exporters: [clickhouse] }
`;
}

/** A daemon in this process, or one of its own (both receivers share its one ingest listener). */
const urlOf = (daemon: TestDaemon | DaemonProcess, receiver: string) => ('receiverUrl' in daemon ? daemon.receiverUrl(receiver) : daemon.url);

async function post(daemon: TestDaemon | DaemonProcess, receiver: string, route: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${urlOf(daemon, receiver)}${route}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, replayed: res.headers.get('idempotent-replayed'), text: await res.text() };
}

let clickhouse: ClickhouseHttpServer;
let redis: RedisServer;
let first: TestDaemon;
let second: DaemonProcess;
const database = uniqueDatabase('idem_shared');

beforeAll(async () => {
  buildDist();
  clickhouse = await ClickhouseHttpServer.start({ path: mkdtempSync(path.join(os.tmpdir(), 'tracehouse-idem-')) });
  redis = await RedisServer.start();
  first = await startDaemon(yaml(clickhouse.url, database, redis.url, 'refuse'));
  // The other instance is a process of its own, as behind a load balancer.
  second = await spawnDaemon(yaml(clickhouse.url, database, redis.url, 'refuse'));
  await second.logged('shared state: connected to Redis');
  await waitFor('the first daemon connected to Redis', async () => (first.service.sharedStateReady ? true : undefined));
}, 180_000);
afterAll(async () => {
  await first?.stop();
  await second?.stop();
  await clickhouse?.close();
  await redis?.stop();
});

const trace = (requestId: string) => ({ actionName: requestId, status: 'completed', requestId, model: 'gpt-4o', prompt: 'p', response: 'r' });
const rowsOf = async (where: string) => Number((await queryRows<{ n: string }>(first, `SELECT count() AS n FROM otel_traces WHERE ${where}`, database))[0].n);

test('a retry with the same Idempotency-Key on the other daemon gets the first answer byte for byte', async () => {
  const original = await post(first, 'native', '/api/traces', trace('idem-header-1'), { 'idempotency-key': 'k-1' });
  expect(original.status).toBe(200);
  const retry = await post(second, 'native', '/api/traces', trace('idem-header-1'), { 'idempotency-key': 'k-1' });
  expect(retry).toEqual({ status: 200, replayed: 'true', text: original.text });
  // Another body with the same key is refused on either daemon.
  expect((await post(second, 'native', '/api/traces', trace('idem-header-other'), { 'idempotency-key': 'k-1' })).status).toBe(422);
});

test('repeats sent to both daemons at once are stored once, and both get the same answer', async () => {
  const body = trace('idem-concurrent-1');
  const answers = await Promise.all([
    post(first, 'native', '/api/traces', body, { 'idempotency-key': 'k-concurrent' }),
    post(second, 'native', '/api/traces', body, { 'idempotency-key': 'k-concurrent' }),
    post(first, 'native', '/api/traces', body, { 'idempotency-key': 'k-concurrent' }),
  ]);
  expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
  expect(new Set(answers.map((a) => a.text)).size).toBe(1);
  expect(answers.filter((a) => a.replayed === 'true')).toHaveLength(2);
  expect(await rowsOf("SpanName = 'idem-concurrent-1'")).toBe(1);
});

test('a log id in the body is one log whichever daemon the repeat reaches', async () => {
  const log = { id: 'idem-log-1', project: 'support', output: 'hello' };
  const original = await post(first, 'logs', '/api/logs', log);
  expect(original.status).toBe(200);
  const repeat = await post(second, 'logs', '/api/logs', log);
  expect(repeat).toMatchObject({ status: 200, replayed: 'true', text: original.text });
  expect(await rowsOf("SpanAttributes['tracehouse.log_id'] = 'idem-log-1'")).toBe(1);
});

test('with Redis down and on_unavailable: refuse, a request with an id is refused with 503 and one without is stored', async () => {
  await redis.pause();
  try {
    const keyed = await post(first, 'native', '/api/traces', trace('idem-down-1'), { 'idempotency-key': 'k-down' });
    expect(keyed.status).toBe(503);
    expect(keyed.text).toContain('RCV_SHARED_STATE_UNAVAILABLE');
    // A body id (requestId) is a key too; a log without an id has none.
    expect((await post(first, 'native', '/api/traces', trace('idem-down-2'))).status).toBe(503);
    expect((await post(first, 'logs', '/api/logs', { project: 'support', output: 'no id' })).status).toBe(200);
  } finally {
    await redis.resume();
  }
  await waitFor('Redis back', async () => (first.service.sharedStateReady ? true : undefined));
  expect((await post(first, 'native', '/api/traces', trace('idem-down-1'), { 'idempotency-key': 'k-down' })).status).toBe(200);
});
