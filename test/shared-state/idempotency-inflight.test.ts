/**
 * The in-flight claim of an idempotency key in Redis (idempotency.inflight_lock_ms, short here):
 * it expires after the configured time, not a fixed 30 s; the instance producing the answer renews
 * it for as long as the request runs, so a repeat on another instance waits and gets the first
 * answer however slow storing is; and a claim whose holder died (nobody renews it) is taken over
 * once it expires.
 */
import { Redis } from 'ioredis';
import { startDaemon, TEST_API_KEY, TEST_WORKSPACE } from '../support/daemon';
import type { TestDaemon } from '../support/daemon';
import { createRecorder, recordingRegistry } from '../support/recording-components';
import type { Recorder } from '../support/recording-components';
import { testRegistry } from '../support/upstream-stamps';
import { RedisServer } from '../support/redis-server';
import { waitFor } from '../support/wait';

const PREFIX = 'idem-inflight:';
const LOCK_MS = 300;

function yaml(redis: string): string {
  return `receivers:
  native:
    listen: 127.0.0.1:0
    idempotency: { inflight_lock_ms: ${LOCK_MS} }
exporters:
  recording:
workspaces:
  ${TEST_WORKSPACE}:
    api_keys: ["${TEST_API_KEY}"]
shared_state:
  redis: { url: "${redis}", key_prefix: "${PREFIX}" }
service:
  admin: { listen: 127.0.0.1:0 }
  log_level: silent
  pipelines:
    traces: { receivers: [native], exporters: [recording] }
`;
}

/** The Redis key of the claim on Idempotency-Key `key` of the native receiver's /api/traces. */
const claimKey = (key: string) => `${PREFIX}idem:native:${TEST_WORKSPACE}\u0000/api/traces\u0000header\u0000${key}:claim`;
const trace = (name: string) => ({ actionName: name, status: 'completed', model: 'gpt-4o', prompt: 'p', response: 'r' });
const stored = (recorder: Recorder) => (recorder.batches.get('recording') ?? []).reduce((n, batch) => n + batch.length, 0);

async function post(daemon: TestDaemon, body: unknown, key: string) {
  const res = await fetch(`${daemon.receiverUrl('native')}/api/traces`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify(body),
  });
  return { status: res.status, replayed: res.headers.get('idempotent-replayed'), text: await res.text() };
}

let redis: RedisServer;
let probe: Redis;
const slowRecorder = createRecorder();
const otherRecorder = createRecorder();
let slow: TestDaemon;
let other: TestDaemon;
beforeAll(async () => {
  redis = await RedisServer.start();
  probe = new Redis(redis.url);
  slow = await startDaemon(yaml(redis.url), { registry: recordingRegistry(slowRecorder, testRegistry) });
  other = await startDaemon(yaml(redis.url), { registry: recordingRegistry(otherRecorder, testRegistry) });
  await waitFor('both daemons connected to Redis', async () => (slow.service.sharedStateReady && other.service.sharedStateReady ? true : undefined));
}, 60_000);
afterAll(async () => {
  probe?.disconnect();
  await slow?.stop();
  await other?.stop();
  await redis?.stop();
});

test('a request slower than the claim expiry keeps its key: the repeat on another instance waits and gets its answer', async () => {
  let open!: () => void;
  slowRecorder.gate = new Promise<void>((resolve) => (open = resolve));
  const first = post(slow, trace('slow-1'), 'k-slow');
  await waitFor('the claim on the key', async () => ((await probe.exists(claimKey('k-slow'))) === 1 ? true : undefined));
  // The configured expiry, not a fixed 30 s.
  expect(await probe.pttl(claimKey('k-slow'))).toBeLessThanOrEqual(LOCK_MS);
  const repeat = post(other, trace('slow-1'), 'k-slow');
  // The claim outlives several of its expiries because its holder renews it.
  let renewals = 0;
  let last = await probe.pttl(claimKey('k-slow'));
  await waitFor('the claim renewed five times', async () => {
    const ttl = await probe.pttl(claimKey('k-slow'));
    expect(ttl).toBeGreaterThan(0);
    if (ttl > last) renewals += 1;
    last = ttl;
    return renewals >= 5 ? true : undefined;
  });
  expect(stored(otherRecorder)).toBe(0);
  open();
  slowRecorder.gate = undefined;
  const [a, b] = await Promise.all([first, repeat]);
  expect(a.status).toBe(200);
  expect(b).toEqual({ status: 200, replayed: 'true', text: a.text });
  expect(stored(slowRecorder)).toBe(1);
  expect(stored(otherRecorder)).toBe(0);
  expect(await probe.exists(claimKey('k-slow'))).toBe(0);
});

test('a claim whose holder died is taken over once it expires', async () => {
  // An instance that claimed the key and died: nobody renews the claim.
  expect(await probe.set(claimKey('k-dead'), 'dead-instance', 'PX', LOCK_MS)).toBe('OK');
  const retry = await post(other, trace('dead-1'), 'k-dead');
  expect(retry).toMatchObject({ status: 200, replayed: null });
  expect(stored(otherRecorder)).toBe(1);
});
