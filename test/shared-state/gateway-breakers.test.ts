/**
 * Gateway breakers shared through a real Redis: when one gateway's breaker opens for an upstream,
 * the other gateway skips that upstream too, without having seen a failure itself; a successful
 * probe closing it closes it everywhere. An open breaker is also stored (expiring with its
 * cooldown), so a gateway started after it opened skips the upstream from its first call.
 */
import { startDaemon, TEST_API_KEY, TEST_WORKSPACE } from '../support/daemon';
import type { TestDaemon } from '../support/daemon';
import { FakeLlmProvider } from '../support/fake-llm-provider';
import { RedisServer } from '../support/redis-server';
import { waitFor } from '../support/wait';

function yaml(redis: string, primary: string, backup: string): string {
  return `receivers:
  proxy:
    listen: 127.0.0.1:0
    upstreams:
      primary: { provider: openai, base_url: "${primary}", api_key: sk-primary }
      backup: { provider: openai_compatible, base_url: "${backup}", api_key: sk-backup }
    routes:
      chat: { primary: primary, fallbacks: [backup], conditions: { error_rate_threshold: 0.5 } }
    failover: { backoff_initial_ms: 1, backoff_max_ms: 5, max_retry_wait_ms: 50 }
    health: { min_requests: 2, cooldown_ms: 600000 }
exporters:
  debug:
workspaces:
  ${TEST_WORKSPACE}:
    api_keys: ["${TEST_API_KEY}"]
shared_state:
  redis: { url: "${redis}", key_prefix: "breakers-test:" }
service:
  admin: { listen: 127.0.0.1:0 }
  log_level: silent
  pipelines:
    traces: { receivers: [proxy], exporters: [debug] }
`;
}

async function chat(daemon: TestDaemon): Promise<{ status: number; upstream: string | null; attempts: string | null }> {
  const res = await fetch(`${daemon.receiverUrl('proxy')}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json', 'x-route-id': 'chat' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
  });
  await res.arrayBuffer();
  return { status: res.status, upstream: res.headers.get('x-tracehouse-upstream'), attempts: res.headers.get('x-tracehouse-attempts') };
}

let redis: RedisServer;
let primary: FakeLlmProvider;
let backup: FakeLlmProvider;
let first: TestDaemon;
let second: TestDaemon;
beforeAll(async () => {
  redis = await RedisServer.start();
  [primary, backup] = await Promise.all([FakeLlmProvider.start(), FakeLlmProvider.start()]);
  first = await startDaemon(yaml(redis.url, primary.url, backup.url));
  second = await startDaemon(yaml(redis.url, primary.url, backup.url));
  await waitFor('both daemons connected to Redis', async () => (first.service.sharedStateReady && second.service.sharedStateReady ? true : undefined));
});
afterAll(async () => {
  await first?.stop();
  await second?.stop();
  await Promise.all([primary?.close(), backup?.close()]);
  await redis?.stop();
});

test('a breaker opened by one gateway makes the other skip the upstream too', async () => {
  primary.setDefault({ status: 503 });
  // The first gateway sees the primary fail twice (failing over each time), then opens its breaker.
  expect(await chat(first)).toMatchObject({ status: 200, upstream: 'backup', attempts: '2' });
  expect(await chat(first)).toMatchObject({ status: 200, upstream: 'backup', attempts: '2' });
  expect(await chat(first)).toMatchObject({ status: 200, upstream: 'backup', attempts: '1' });
  const primaryCalls = primary.requests.length;
  // The second gateway never saw the primary fail, yet goes straight to the backup.
  await waitFor('the open breaker on the second gateway', async () => {
    const answer = await chat(second);
    return answer.attempts === '1' && answer.upstream === 'backup' ? true : undefined;
  });
  expect(primary.requests.length).toBe(primaryCalls);
});

test('a gateway started after a breaker opened sees it open (stored in Redis), without a call to the broken upstream', async () => {
  primary.setDefault({ status: 503 });
  // Open on the first gateway (it may be open already from the test above).
  await waitFor('the breaker open on the first gateway', async () => ((await chat(first)).attempts === '1' ? true : undefined));
  const primaryCalls = primary.requests.length;
  const late = await startDaemon(yaml(redis.url, primary.url, backup.url));
  try {
    await waitFor('the late gateway connected to Redis', async () => (late.service.sharedStateReady ? true : undefined));
    const gateway = late.service.graph.receivers.get('proxy') as unknown as { healthReport(): { upstreams: Record<string, { state: string }> } };
    await waitFor('the stored breaker applied on the late gateway', async () => (gateway.healthReport().upstreams.primary?.state === 'open' ? true : undefined));
    expect(await chat(late)).toMatchObject({ status: 200, upstream: 'backup', attempts: '1' });
    expect(primary.requests.length).toBe(primaryCalls);
  } finally {
    await late.stop();
  }
});
