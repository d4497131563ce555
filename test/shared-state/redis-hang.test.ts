/**
 * A Redis that hangs (SIGSTOP: it keeps the connection open but answers nothing). After a few
 * commands time out the daemon counts it as down: the outage is logged once, requests keep being
 * answered as on_unavailable says (allow: the daemon's own rate-limit window) and counted in
 * /metrics, and once Redis answers again (SIGCONT) sharing resumes without a restart.
 */
import { Redis } from 'ioredis';
import type { DestinationStream } from 'pino';
import { createRootLogger } from '../../core/logger';
import type { RedisSharedState } from '../../core/shared-state/index';
import { startDaemon, TEST_API_KEY, TEST_WORKSPACE } from '../support/daemon';
import { buildDist, spawnDaemon } from '../support/daemon-process';
import type { DaemonProcess } from '../support/daemon-process';
import { RedisServer } from '../support/redis-server';
import { waitFor } from '../support/wait';

const PREFIX = 'hang-test:';
const OUTAGE = 'shared state: Redis is unavailable; features fall back as configured (on_unavailable) until it returns';

function yaml(redisUrl: string): string {
  return `receivers:
  native:
    listen: 127.0.0.1:0
    rate_limit: { limit: 1000, window_seconds: 600 }
exporters:
  debug:
workspaces:
  ${TEST_WORKSPACE}:
    api_keys: ["${TEST_API_KEY}"]
shared_state:
  redis: { url: "${redisUrl}", key_prefix: "${PREFIX}", command_timeout_ms: 300 }
  rate_limits: { on_unavailable: allow }
service:
  admin: { listen: 127.0.0.1:0 }
  log_level: info
  pipelines:
    traces: { receivers: [native], exporters: [debug] }
`;
}

let redis: RedisServer;
let probe: Redis;
let daemon: DaemonProcess;
beforeAll(async () => {
  buildDist();
  redis = await RedisServer.start();
  probe = new Redis(redis.url);
  daemon = await spawnDaemon(yaml(redis.url));
  await daemon.logged('shared state: connected to Redis');
}, 180_000);
afterAll(async () => {
  redis?.thaw();
  probe?.disconnect();
  await daemon?.stop();
  await redis?.stop();
});

async function send(): Promise<{ status: number; remaining: number }> {
  const res = await fetch(`${daemon.url}/api/traces`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ actionName: 'hang', status: 'completed', model: 'gpt-4o', prompt: 'p', response: 'r' }),
  });
  await res.arrayBuffer();
  return { status: res.status, remaining: Number(res.headers.get('x-ratelimit-remaining')) };
}

/** Requests counted in the shared (Redis) windows of this test's keys. */
async function sharedCount(): Promise<number> {
  const keys = await probe.keys(`${PREFIX}rl:*`);
  const values = keys.length > 0 ? await probe.mget(keys) : [];
  return values.reduce((sum, v) => sum + Number(v ?? 0), 0);
}

async function unavailableTotal(): Promise<number> {
  const text = await (await fetch(`${daemon.adminUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('tracehouse_shared_state_unavailable_total{feature="rate_limits"}'));
  return line ? Number(line.split(' ').pop()) : 0;
}

test('a hung Redis is marked down once, requests are answered by the fallback, and sharing resumes when it answers again', async () => {
  expect((await send()).status).toBe(200);
  expect(await sharedCount()).toBe(1);

  redis.freeze();
  // Every request is answered (on_unavailable: allow), the first ones after the command timeout.
  for (let i = 0; i < 8; i++) expect((await send()).status).toBe(200);
  const outage = await daemon.logged(OUTAGE);
  expect(outage.reason).toMatch(/commands in a row timed out/);
  expect(daemon.linesOf(OUTAGE)).toHaveLength(1);
  expect(await unavailableTotal()).toBeGreaterThanOrEqual(8);

  redis.thaw();
  await daemon.logged('shared state: Redis is reachable again');
  // Shared again: the next request is counted in Redis, by this very daemon, without a restart.
  const before = await sharedCount();
  expect((await send()).status).toBe(200);
  expect(await sharedCount()).toBe(before + 1);
  expect(daemon.linesOf(OUTAGE)).toHaveLength(1);
}, 60_000);

test('a clean shutdown logs no Redis outage', async () => {
  const lines: string[] = [];
  const logger = createRootLogger({ level: 'info', destination: { write: (line: string) => void lines.push(line) } as unknown as DestinationStream });
  const other = await startDaemon(yaml(redis.url), { logger });
  await waitFor('the daemon connected to Redis', async () => (other.service.sharedStateReady ? true : undefined));
  const client = (other.service as unknown as { shared: RedisSharedState }).shared.redis.client;
  await other.stop();
  await waitFor('the Redis connection ended', async () => (client.status === 'end' ? true : undefined));
  expect(lines.join('')).toContain('shared state: connected to Redis');
  expect(lines.join('')).not.toContain('Redis is unavailable');
}, 60_000);
