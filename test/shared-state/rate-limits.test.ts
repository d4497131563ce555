/**
 * Rate limits shared through a real Redis: two daemons give a key one window, not one each; with
 * Redis down a request is still answered (on_unavailable: allow falls back to the daemon's own
 * window, refuse answers 503 with Retry-After), and sharing resumes when Redis is back.
 */
import { Redis } from 'ioredis';
import { startDaemon, TEST_API_KEY, TEST_WORKSPACE } from '../support/daemon';
import type { TestDaemon } from '../support/daemon';
import { buildDist, spawnDaemon } from '../support/daemon-process';
import type { DaemonProcess } from '../support/daemon-process';
import { RedisServer } from '../support/redis-server';
import { waitFor } from '../support/wait';

function yaml(redisUrl: string, onUnavailable: 'allow' | 'refuse'): string {
  return `receivers:
  native:
    listen: 127.0.0.1:0
    rate_limit: { limit: 5, window_seconds: 60 }
exporters:
  debug:
workspaces:
  ${TEST_WORKSPACE}:
    api_keys: ["${TEST_API_KEY}"]
shared_state:
  redis: { url: "${redisUrl}", key_prefix: "rl-test-${onUnavailable}:", command_timeout_ms: 300 }
  rate_limits: { on_unavailable: ${onUnavailable} }
service:
  admin: { listen: 127.0.0.1:0 }
  log_level: info
  pipelines:
    traces: { receivers: [native], exporters: [debug] }
`;
}

/** Where a daemon's native receiver listens: in this process, or a daemon process of its own. */
const urlOf = (daemon: TestDaemon | DaemonProcess) => ('receiverUrl' in daemon ? daemon.receiverUrl('native') : daemon.url);

async function send(daemon: TestDaemon | DaemonProcess): Promise<{ status: number; remaining: string | null; retryAfter: string | null }> {
  const res = await fetch(`${urlOf(daemon)}/api/traces`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ actionName: 'rate', status: 'completed', model: 'gpt-4o', prompt: 'p', response: 'r' }),
  });
  await res.arrayBuffer();
  return { status: res.status, remaining: res.headers.get('x-ratelimit-remaining'), retryAfter: res.headers.get('retry-after') };
}

let redis: RedisServer;
beforeAll(async () => {
  redis = await RedisServer.start();
});
afterAll(() => redis.stop());

describe('shared rate limits', () => {
  let first: TestDaemon;
  let second: DaemonProcess;
  beforeAll(async () => {
    buildDist();
    first = await startDaemon(yaml(redis.url, 'allow'));
    // The other instance is a process of its own, as behind a load balancer.
    second = await spawnDaemon(yaml(redis.url, 'allow'));
    await second.logged('shared state: connected to Redis');
    await waitFor('the first daemon connected to Redis', async () => (first.service.sharedStateReady ? true : undefined));
  }, 180_000);
  afterAll(async () => {
    await first?.stop();
    await second?.stop();
  });

  it('counts one window for a key across daemons, with exact remaining counts, and refuses the rest wherever it lands', async () => {
    // Requests alternate between the daemons; each sees the other's count.
    const daemons = [first, second];
    let previous = Number((await send(first)).remaining);
    expect(previous).toBeLessThan(5);
    for (let i = 1; previous > 0; i++) {
      const answer = await send(daemons[i % 2]);
      expect(answer).toMatchObject({ status: 200, remaining: String(previous - 1) });
      previous -= 1;
    }
    const refusedHere = await send(second);
    expect(refusedHere).toMatchObject({ status: 429, remaining: '0' });
    expect(Number(refusedHere.retryAfter)).toBeGreaterThan(0);
    expect((await send(first)).status).toBe(429);
  });

  it('keeps answering while Redis is down (each daemon counts alone), counts the outage, and shares again once Redis is back', async () => {
    // Every connection the two daemons hold (commands, subscriptions), counted with a probe's own.
    const connections = async () => {
      const probe = new Redis(redis.url);
      try {
        return String(await probe.client('LIST')).trim().split('\n').length;
      } finally {
        probe.disconnect();
      }
    };
    const connected = await connections();
    await redis.pause();
    // The daemon's own window: it has not counted anything of this key yet.
    const during = await send(first);
    expect(during.status).toBe(200);
    const metrics = await (await fetch(`${first.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/tracehouse_shared_state_unavailable_total\{feature="rate_limits"\} [1-9]/);
    await redis.resume();
    // Redis restarted empty: the shared window starts over, and is shared again.
    // Each daemon reconnects on its own schedule: wait until every connection they held is back.
    await waitFor('both daemons reconnected', async () => ((await connections()) >= connected ? true : undefined));
    await waitFor('Redis back in use', async () => ((await send(first)).remaining === '4' ? true : undefined));
    expect((await send(second)).remaining).toBe('3');
  });
});

describe('shared rate limits with on_unavailable: refuse', () => {
  it('answers 503 with Retry-After while Redis is down', async () => {
    const daemon = await startDaemon(yaml(redis.url, 'refuse'));
    try {
      await waitFor('connected to Redis', async () => (daemon.service.sharedStateReady ? true : undefined));
      await redis.pause();
      const refused = await send(daemon);
      expect(refused.status).toBe(503);
      expect(refused.retryAfter).toBe('1');
      // Nothing was counted: no X-RateLimit-Remaining that would claim the window is spent.
      expect(refused.remaining).toBeNull();
      await redis.resume();
      await waitFor('Redis back', async () => ((await send(daemon)).status === 200 ? true : undefined));
    } finally {
      await daemon.stop();
    }
  });
});
