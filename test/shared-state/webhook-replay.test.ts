/**
 * The signed-webhook replay guard shared through a real Redis: a delivery accepted by one daemon
 * is refused as a replay (409) by the other; a delivery whose storing failed is released so its
 * sender may retry it (on either daemon).
 */
import { startDaemon, TEST_API_KEY, TEST_WORKSPACE } from '../support/daemon';
import { createRecorder, recordingRegistry } from '../support/recording-components';
import { testRegistry } from '../support/upstream-stamps';
import type { TestDaemon } from '../support/daemon';
import { buildDist, spawnDaemon } from '../support/daemon-process';
import type { DaemonProcess } from '../support/daemon-process';
import { RedisServer } from '../support/redis-server';
import { waitFor } from '../support/wait';
import { nowSeconds, signedHeaders } from '../receivers/webhook/fixtures';

const SECRET = 'whsec_shared_replay_0123456789abcdef';

function yaml(redis: string, exporter = 'debug'): string {
  return `receivers:
  webhook:
    listen: 127.0.0.1:0
exporters:
  ${exporter}:
workspaces:
  ${TEST_WORKSPACE}:
    api_keys: ["${TEST_API_KEY}"]
    webhook_signing_secrets: ["${SECRET}"]
shared_state:
  redis: { url: "${redis}", key_prefix: "replay-test:" }
service:
  admin: { listen: 127.0.0.1:0 }
  log_level: info
  pipelines:
    traces: { receivers: [webhook], exporters: [${exporter}] }
`;
}

async function deliver(daemon: TestDaemon | DaemonProcess, body: string, headers: Record<string, string>): Promise<number> {
  const base = 'receiverUrl' in daemon ? daemon.receiverUrl('webhook') : daemon.url;
  const res = await fetch(`${base}/api/ingest/webhooks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json', ...headers },
    body,
  });
  await res.arrayBuffer();
  return res.status;
}

let redis: RedisServer;
let first: TestDaemon;
let second: DaemonProcess;
beforeAll(async () => {
  buildDist();
  redis = await RedisServer.start();
  first = await startDaemon(yaml(redis.url));
  // The other instance is a process of its own, as behind a load balancer.
  second = await spawnDaemon(yaml(redis.url));
  await second.logged('shared state: connected to Redis');
  await waitFor('the first daemon connected to Redis', async () => (first.service.sharedStateReady ? true : undefined));
}, 180_000);
afterAll(async () => {
  await first?.stop();
  await second?.stop();
  await redis?.stop();
});

test('a signed delivery accepted by one daemon is a replay (409) on the other', async () => {
  const body = JSON.stringify({ title: 'Leaked key', severity: 'high', source: 'scanner' });
  const headers = signedHeaders(body, nowSeconds(), [SECRET]);
  expect(await deliver(first, body, headers)).toBe(202);
  expect(await deliver(second, body, headers)).toBe(409);
  expect(await deliver(first, body, headers)).toBe(409);
  // Signed anew (another timestamp), the same content is a new delivery.
  expect(await deliver(second, body, signedHeaders(body, nowSeconds() + 1, [SECRET]))).toBe(202);
});

test('a delivery refused after its signature was reserved is released on every daemon', async () => {
  // Valid JSON but not an object: refused (422) after the signature was reserved. Released, the
  // same signed request is judged again on the other daemon (422, not 409 as a replay would be).
  const notAnObject = '[1, 2]';
  const headers = signedHeaders(notAnObject, nowSeconds(), [SECRET]);
  expect(await deliver(first, notAnObject, headers)).toBe(422);
  expect(await deliver(second, notAnObject, headers)).toBe(422);
});

test('a delivery whose storing failed on one daemon is accepted when retried on the other', async () => {
  // A third instance whose storage is down: it answers 503 and must have released the signature
  // in Redis before answering, so the sender's immediate retry elsewhere is not taken for a replay.
  const recorder = createRecorder();
  recorder.failures.set('recording', 'retryable');
  const failing = await startDaemon(yaml(redis.url, 'recording'), { registry: recordingRegistry(recorder, testRegistry) });
  try {
    await waitFor('the failing daemon connected to Redis', async () => (failing.service.sharedStateReady ? true : undefined));
    for (let i = 0; i < 5; i++) {
      const body = JSON.stringify({ title: `Storage down ${i}`, severity: 'high', source: 'scanner' });
      const headers = signedHeaders(body, nowSeconds(), [SECRET]);
      expect(await deliver(failing, body, headers)).toBe(503);
      expect(await deliver(second, body, headers)).toBe(202);
      expect(await deliver(first, body, headers)).toBe(409);
    }
  } finally {
    await failing.stop();
  }
});
