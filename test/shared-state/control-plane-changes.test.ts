/**
 * Control-plane changes announced through Redis, between a daemon in this process and one of its
 * own (as behind a load balancer). The second daemon starts while Redis is down: once Redis is
 * up, it subscribes by itself. With polling set to ten minutes, a rule created on the first daemon
 * flags a log on the second, because the write was published and the second read the store at
 * once. Writes of one object are locked across instances: an If-Match race has one winner, and a
 * write whose lock another holder keeps is refused with 409.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { startDaemon, uniqueDatabase } from '../support/daemon';
import type { TestDaemon } from '../support/daemon';
import { ClickhouseHttpServer } from '../support/clickhouse-http-server';
import { buildDist, spawnDaemon } from '../support/daemon-process';
import type { DaemonProcess } from '../support/daemon-process';
import { RedisServer } from '../support/redis-server';
import { waitFor } from '../support/wait';

const KEY = 'cp_changes_key_0123456789abcdef';
const PREFIX = 'cp-changes:';

function yaml(clickhouse: string, database: string, redis: string, logLevel: string): string {
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
  read_api:
    listen: 127.0.0.1:0
    attachments_dir: \${env:TEST_DATA_DIR}/attachments
workspaces:
  acme:
    api_keys: ["${KEY}"]
shared_state:
  redis: { url: "${redis}", key_prefix: "${PREFIX}" }
service:
  extensions: [control_plane, read_api]
  control_plane: { refresh_interval_ms: 600000 }
  admin: { listen: 127.0.0.1:0 }
  log_level: ${logLevel}
  pipelines:
    traces: { receivers: [logs], processors: [evaluate_rules], exporters: [clickhouse] }
`;
}

type AnyDaemon = TestDaemon | DaemonProcess;
/** A daemon in this process, or one of its own (all its receivers and extensions share one listener). */
const urlOf = (daemon: AnyDaemon, receiver: string) => ('receiverUrl' in daemon ? daemon.receiverUrl(receiver) : daemon.url);

async function verdict(daemon: AnyDaemon, output: string): Promise<string> {
  const res = await fetch(`${urlOf(daemon, 'logs')}/api/logs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ project: 'support', output, sync: true }),
  });
  return ((await res.json()) as { status: string }).status;
}

let clickhouse: ClickhouseHttpServer;
let redis: RedisServer;
let probe: Redis;
let first: TestDaemon;
let second: DaemonProcess;
const database = uniqueDatabase('cp_changes');
beforeAll(async () => {
  buildDist();
  clickhouse = await ClickhouseHttpServer.start({ path: mkdtempSync(path.join(os.tmpdir(), 'tracehouse-cp-changes-')) });
  redis = await RedisServer.start();
  await redis.pause();
  // Redis is down while the second daemon starts: it must subscribe once Redis comes up.
  second = await spawnDaemon(yaml(clickhouse.url, database, redis.url, 'info'));
  await redis.resume();
  first = await startDaemon(yaml(clickhouse.url, database, redis.url, 'silent'));
  await second.logged('shared state: connected to Redis');
  await waitFor('the first daemon connected to Redis', async () => (first.service.sharedStateReady ? true : undefined));
  probe = new Redis(redis.url);
  await waitFor('both daemons subscribed to control-plane changes', async () => {
    const [, subscribers] = (await probe.pubsub('NUMSUB', `${PREFIX}broadcast:control-plane-changes`)) as [string, number];
    return Number(subscribers) === 2 ? true : undefined;
  });
}, 180_000);
afterAll(async () => {
  probe?.disconnect();
  await first?.stop();
  await second?.stop();
  await clickhouse?.close();
  await redis?.stop();
});

test('a rule created on one daemon applies on the other (started while Redis was down) by announcement, not at its next poll', async () => {
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
    const res = await fetch(`${urlOf(second, 'control_plane')}/api/rules/${id}`, { headers: { authorization: `Bearer ${KEY}` } });
    return res.status === 200 ? true : undefined;
  });
  const patch = (daemon: AnyDaemon, value: string) =>
    fetch(`${urlOf(daemon, 'control_plane')}/api/rules/${id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'if-match': '"1"' },
      body: JSON.stringify({ value }),
    }).then((r) => r.status);
  for (let round = 0; round < 5; round++) {
    const version = round + 1;
    const statuses = await Promise.all([first, second].map((daemon, i) =>
      fetch(`${urlOf(daemon, 'control_plane')}/api/rules/${id}`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'if-match': `"${version}"` },
        body: JSON.stringify({ value: `round-${round}-${i}` }),
      }).then((r) => r.status),
    ));
    expect(statuses.sort()).toEqual([200, 412]);
  }
  expect(await patch(first, 'stale')).toBe(412);
});

test('a write retried with the same Idempotency-Key on another daemon is applied once and replayed with its ETag and Location', async () => {
  const create = (daemon: AnyDaemon) =>
    fetch(`${urlOf(daemon, 'control_plane')}/api/rules`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'idempotency-key': 'create-once' },
      body: JSON.stringify({ name: 'Once', type: 'keyword_required', value: 'thanks' }),
    });
  const original = await create(first);
  expect(original.status).toBe(201);
  const retried = await create(second);
  expect(retried.status).toBe(201);
  expect(retried.headers.get('idempotent-replayed')).toBe('true');
  // The replay is the first answer byte for byte, with the headers that belong to it.
  expect(original.headers.get('etag')).toBe('"1"');
  expect(original.headers.get('location')).toMatch(/^\/api\/rules\/.+/);
  for (const header of ['etag', 'location', 'content-type']) expect(retried.headers.get(header)).toBe(original.headers.get(header));
  const [firstText, retriedText] = [await original.text(), await retried.text()];
  expect(retriedText).toBe(firstText);
  const [a, b] = [JSON.parse(firstText), JSON.parse(retriedText)] as { id: string }[];
  expect(b.id).toBe(a.id);
  const rules = (await (await fetch(`${first.receiverUrl('control_plane')}/api/rules`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as { name: string }[];
  expect(rules.filter((r) => r.name === 'Once')).toHaveLength(1);

  // A bulk review retried against the other daemon: one decision version per log, not two.
  const logIds = ['bulk-once-1', 'bulk-once-2'];
  for (const id of logIds) {
    const res = await fetch(`${first.receiverUrl('logs')}/api/logs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id, project: 'support', output: 'we promise a refund', sync: true }),
    });
    expect(res.status).toBe(200);
  }
  const bulk = (daemon: AnyDaemon) =>
    fetch(`${urlOf(daemon, 'read_api')}/api/logs/bulk`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'idempotency-key': 'bulk-once' },
      body: JSON.stringify({ ids: logIds, action: 'approve' }),
    });
  expect(await (await bulk(first)).json()).toEqual({ ok: true, count: 2 });
  const again = await bulk(second);
  expect(again.headers.get('idempotent-replayed')).toBe('true');
  expect(await again.json()).toEqual({ ok: true, count: 2 });
  const decisions = await clickhouse.sql(
    `SELECT id, count() AS n FROM ${database}.tracehouse_object_audit WHERE kind = 'decision' AND id IN ('bulk-once-1', 'bulk-once-2') GROUP BY id ORDER BY id FORMAT TabSeparated`,
    'TabSeparated',
  );
  expect(decisions.trim().split('\n')).toEqual(['bulk-once-1\t1', 'bulk-once-2\t1']);
});

test('a write whose object lock another holder keeps is refused with 409, and goes through once it is free', async () => {
  const created = await fetch(`${first.receiverUrl('control_plane')}/api/rules`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Locked', type: 'keyword_forbidden', value: 'one' }),
  });
  const { id } = (await created.json()) as { id: string };
  const lockKey = `${PREFIX}lock:object:rule\u0000acme\u0000${id}`;
  const patch = (daemon: AnyDaemon) =>
    fetch(`${urlOf(daemon, 'control_plane')}/api/rules/${id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'if-match': '"1"' },
      body: JSON.stringify({ value: 'two' }),
    });
  // Another holder (a stuck writer) keeps the lock past the wait.
  expect(await probe.set(lockKey, 'another-writer', 'PX', 60_000)).toBe('OK');
  for (const daemon of [first, second]) {
    const refused = await patch(daemon);
    expect(refused.status).toBe(409);
    expect(await refused.text()).toMatch(/another instance is writing/);
  }
  expect(await probe.get(lockKey)).toBe('another-writer');
  await probe.del(lockKey);
  const written = await patch(second);
  expect(written.status).toBe(200);
  // The lock was released after the write.
  expect(await probe.exists(lockKey)).toBe(0);
});

test('a bulk decision retried without Idempotency-Key on the other daemon writes no second decision version', async () => {
  const logIds = ['bulk-nokey-1', 'bulk-nokey-2'];
  for (const id of logIds) {
    const res = await fetch(`${first.receiverUrl('logs')}/api/logs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id, project: 'support', output: 'all good', sync: true }),
    });
    expect(res.status).toBe(200);
  }
  const bulk = (daemon: AnyDaemon, action: string) =>
    fetch(`${urlOf(daemon, 'read_api')}/api/logs/bulk`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ids: logIds, action }),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as unknown }));
  expect(await bulk(first, 'reject')).toEqual({ status: 200, body: { ok: true, count: 2 } });
  // The other daemon has heard of the decision (announced), then the client's retry lands there.
  await waitFor('the decision on the second daemon', async () => {
    const res = await fetch(`${urlOf(second, 'read_api')}/api/logs/${logIds[1]}`, { headers: { authorization: `Bearer ${KEY}` } });
    return ((await res.json()) as { humanDecision?: string }).humanDecision === 'rejected' ? true : undefined;
  });
  expect(await bulk(second, 'reject')).toEqual({ status: 200, body: { ok: true, count: 2 } });
  const versions = async () =>
    (await clickhouse.sql(`SELECT id, count() AS n FROM ${database}.tracehouse_object_audit WHERE kind = 'decision' AND id IN ('bulk-nokey-1', 'bulk-nokey-2') GROUP BY id ORDER BY id FORMAT TabSeparated`, 'TabSeparated')).trim().split('\n');
  expect(await versions()).toEqual(['bulk-nokey-1\t1', 'bulk-nokey-2\t1']);
  // A different decision is a change: one more version each.
  expect(await bulk(second, 'approve')).toEqual({ status: 200, body: { ok: true, count: 2 } });
  expect(await versions()).toEqual(['bulk-nokey-1\t2', 'bulk-nokey-2\t2']);
});
