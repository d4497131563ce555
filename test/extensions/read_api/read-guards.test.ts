/**
 * What every read route does before it runs: the TraceLM header pair (provider key as Bearer plus
 * the workspace key as X-API-Key) authenticates by X-API-Key; X-RateLimit-* headers and 429 with
 * Retry-After; the Host/Origin guard refusing a foreign Host and a cross-site Origin on /api/logs,
 * /api/v1/* and /media/signed.
 */
import { ADMIN_KEY, OTHER_KEY, startLogsDaemon } from './logs-daemon';
import type { LogsDaemon } from './logs-daemon';

const PROVIDER_KEY = 'sk-provider-key-not-a-workspace-key-0123';

describe('read_api: auth headers, rate limits and the Host/Origin guard', () => {
  let d: LogsDaemon;
  beforeAll(async () => {
    d = await startLogsDaemon('read_guards', {
      readRateLimit: '{ limit: 100000, window_seconds: 60, per_route: { "/api/logs/:id/status": { limit: 2, window_seconds: 60 } } }',
    });
    expect((await d.log({ id: 'guard-1', project: 'p', output: 'fine' })).status).toBe(200);
    expect((await d.log({ id: 'guard-other', project: 'p', output: 'theirs' }, OTHER_KEY)).status).toBe(200);
  });
  afterAll(() => d.stop());

  const get = (route: string, headers: Record<string, string>) => fetch(`${d.base}${route}`, { headers, redirect: 'manual' });

  it('takes X-API-Key as the workspace key beside a provider Bearer key (TraceLM headers)', async () => {
    const both = { authorization: `Bearer ${PROVIDER_KEY}`, 'x-api-key': ADMIN_KEY };
    const tasks = await get('/api/v1/tasks', both);
    expect(tasks.status).toBe(200);
    expect(Array.isArray(((await tasks.json()) as any).data)).toBe(true);
    const logs = await get('/api/logs', both);
    expect(logs.status).toBe(200);
    expect(((await logs.json()) as any).executions.map((e: any) => e.id)).toEqual(['guard-1']);
    // The workspace comes from X-API-Key, not from the Bearer token.
    const other = await get('/api/logs', { authorization: `Bearer ${ADMIN_KEY}`, 'x-api-key': OTHER_KEY });
    expect(((await other.json()) as any).executions.map((e: any) => e.id)).toEqual(['guard-other']);
    // The provider key alone is no workspace key.
    expect((await get('/api/v1/tasks', { authorization: `Bearer ${PROVIDER_KEY}` })).status).toBe(401);
    expect((await get('/api/logs', { authorization: `Bearer ${PROVIDER_KEY}`, 'x-api-key': 'wrong-key-0123456789' })).status).toBe(401);
  });

  it('sends X-RateLimit-* on read routes and 429 with Retry-After past the limit', async () => {
    const auth = { authorization: `Bearer ${ADMIN_KEY}` };
    const list = await get('/api/logs', auth);
    expect(list.headers.get('x-ratelimit-limit')).toBe('100000');
    expect(Number(list.headers.get('x-ratelimit-remaining'))).toBeLessThan(100000);
    expect(list.headers.get('x-ratelimit-reset')).toMatch(/^\d+$/);
    const tasks = await get('/api/v1/tasks', auth);
    expect(tasks.headers.get('x-ratelimit-limit')).toBe('100000');
    const first = await get('/api/logs/guard-1/status', auth);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-ratelimit-limit')).toBe('2');
    expect(first.headers.get('x-ratelimit-remaining')).toBe('1');
    // Past the limit of 2 a request is refused. A minute boundary may fall between these requests:
    // the sliding window then counts the previous minute's requests by its share left, which
    // may let one more through; never two more.
    const more: Response[] = [];
    for (let i = 0; i < 3; i += 1) more.push(await get('/api/logs/guard-1/status', auth));
    const refused = more.find((res) => res.status === 429);
    if (!refused) throw new Error(`no 429 past the limit: ${more.map((res) => res.status).join(', ')}`);
    expect(more.filter((res) => res.status === 200).length).toBeLessThanOrEqual(2);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused.headers.get('x-ratelimit-remaining')).toBe('0');
    // Another key has its own window.
    expect((await get('/api/logs/guard-other/status', { authorization: `Bearer ${OTHER_KEY}` })).status).toBe(200);
  });

  it.each(['/api/logs', '/api/v1/tasks', '/api/v1/conversations', '/media/signed?key=x&expires=1&signature=x'])('refuses a foreign Host and a cross-site Origin on %s', async (route) => {
    const auth = { authorization: `Bearer ${ADMIN_KEY}` };
    const foreign = await fetchRaw(route, { ...auth, host: 'attacker.example' });
    expect(foreign.status).toBe(421);
    const crossSite = await get(route, { ...auth, origin: 'https://attacker.example' });
    expect(crossSite.status).toBe(403);
    expect(await crossSite.text()).toContain('HTTP_CROSS_SITE_REQUEST');
  });

  /** fetch cannot set Host; node:http can. */
  async function fetchRaw(route: string, headers: Record<string, string>): Promise<{ status: number }> {
    const http = await import('node:http');
    const url = new URL(`${d.base}${route}`);
    return new Promise((resolve, reject) => {
      const req = http.request({ host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, headers }, (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0 });
      });
      req.on('error', reject);
      req.end();
    });
  }
});
