/**
 * The shared rate-limit window reads the clock of Redis (TIME in its script), not the instance's:
 * two instances whose clocks are ten minutes apart still count one window of one limit.
 */
import { silentLogger } from '../../core/logger';
import { sharedStateConfigSchema } from '../../core/shared-state/config';
import { SharedRateWindow } from '../../core/shared-state/rate-window';
import { SharedRedis } from '../../core/shared-state/redis';
import { RedisServer } from '../support/redis-server';
import { waitFor } from '../support/wait';

let redis: RedisServer;
const connections: SharedRedis[] = [];
beforeAll(async () => {
  redis = await RedisServer.start();
});
afterAll(async () => {
  for (const c of connections) await c.stop();
  await redis?.stop();
});

async function instance(): Promise<SharedRateWindow> {
  const config = sharedStateConfigSchema.parse({ redis: { url: redis.url, key_prefix: 'clock-test:' } });
  const shared = new SharedRedis(config.redis, silentLogger(), { unavailable: () => undefined });
  connections.push(shared);
  shared.start();
  await waitFor('connected to Redis', async () => (shared.available ? true : undefined));
  return new SharedRateWindow(shared);
}

test('instances with clocks two hours apart share one window', async () => {
  const [a, b] = [await instance(), await instance()];
  const realNow = Date.now.bind(Date);
  // Take turns: a on the real clock, b on a clock two hours ahead (one-hour windows).
  const skewed = jest.spyOn(Date, 'now');
  const decisions = [];
  try {
    for (let i = 0; i < 6; i++) {
      skewed.mockImplementation(i % 2 === 0 ? realNow : () => realNow() + 2 * 3_600_000);
      decisions.push(await (i % 2 === 0 ? a : b).take('workspace\u0000/api/traces', 4, 3_600_000));
    }
  } finally {
    skewed.mockRestore();
  }
  expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, true, false, false]);
  expect(decisions.map((d) => d.remaining)).toEqual([3, 2, 1, 0, 0, 0]);
});
