/**
 * /v1/workspaces/:id/failover-policies through HTTP against a daemon running the proxy receiver:
 * the contract's example bodies, live application on the gateway (a workspace's policy takes its
 * route; deleting it restores the YAML route; other workspaces keep the YAML route), fallbacks'
 * live health, policies naming unknown upstreams stored but skipped with a warning, YAML routes
 * read-only (409), 422 per field, 403 for another workspace or a read-only key, 412 on a stale
 * If-Match, pagination links, sorting and filters.
 */
import { ADMIN_KEY, call, chat, message, OTHER_KEY, READ_KEY, startPolicyGateway } from './policies-daemon';
import type { PolicyGateway } from './policies-daemon';

const BASE = '/v1/workspaces/acme/failover-policies';
const OTHER_BASE = '/v1/workspaces/other/failover-policies';

describe('control plane: failover policies', () => {
  let gw: PolicyGateway;
  beforeAll(async () => {
    gw = await startPolicyGateway();
  }, 60_000);
  afterAll(() => gw?.stop());
  beforeEach(() => {
    for (const fake of Object.values(gw.fakes)) fake.reset();
  });

  it("creates the contract's example policy and the gateway applies it at once, for that workspace only", async () => {
    // Before: prod-chat is the YAML's OpenAI route; an Anthropic call cannot take it.
    expect((await message(gw, ADMIN_KEY, 'hi', 'prod-chat')).status).toBe(502);

    const created = await call(gw, 'POST', BASE, ADMIN_KEY, {
      route_id: 'prod-chat',
      primary_endpoint: 'anthropic-claude',
      fallback_endpoints: ['bedrock-claude'],
      conditions: { latency_threshold_ms: 2000, error_rate_threshold: 0.1 },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      status: 'active',
      route_id: 'prod-chat',
      primary_endpoint: 'anthropic-claude',
      fallback_endpoints: [{ id: 'bedrock-claude', status: 'healthy' }],
      conditions: { latency_threshold_ms: 2000, error_rate_threshold: 0.1 },
      version: 1,
      source: 'api',
    });
    const id = created.body.id;
    expect(id).toMatch(/^failover-[0-9a-f]{16}$/);
    expect(created.body.created_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(created.headers.get('etag')).toBe('"1"');
    expect(created.headers.get('location')).toBe(`${BASE}/${id}`);

    // The primary answers 503: the policy's fallback answers.
    gw.fakes['anthropic-claude'].enqueue({ status: 503 });
    const routed = await message(gw, ADMIN_KEY, 'hi', 'prod-chat');
    expect(routed.status).toBe(200);
    expect(routed.headers.get('x-tracehouse-upstream')).toBe('bedrock-claude');
    expect(routed.headers.get('x-tracehouse-attempts')).toBe('2');
    expect(gw.fakes['anthropic-claude'].requests).toHaveLength(1);
    expect(gw.fakes['bedrock-claude'].requests[0].headers['x-api-key']).toBe('sk-ant-config-0005');
    // Another workspace still gets the YAML route.
    expect((await message(gw, OTHER_KEY, 'hi', 'prod-chat')).status).toBe(502);

    // Live health: after swapping, the fallback that just failed shows degraded.
    const swapped = await call(gw, 'PUT', `${BASE}/${id}`, ADMIN_KEY, { route_id: 'prod-chat', primary_endpoint: 'bedrock-claude', fallback_endpoints: ['anthropic-claude'] }, { 'if-match': '"1"' });
    expect(swapped.status).toBe(200);
    expect(swapped.body).toMatchObject({ id, version: 2, primary_endpoint: 'bedrock-claude', fallback_endpoints: [{ id: 'anthropic-claude', status: 'degraded' }], conditions: {} });
    expect(swapped.headers.get('etag')).toBe('"2"');
    const direct = await message(gw, ADMIN_KEY, 'hi', 'prod-chat');
    expect(direct.headers.get('x-tracehouse-upstream')).toBe('bedrock-claude');

    const one = await call(gw, 'GET', `${BASE}/${id}`, READ_KEY);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ id, version: 2, route_id: 'prod-chat' });
    expect(one.headers.get('etag')).toBe('"2"');

    expect((await call(gw, 'DELETE', `${BASE}/${id}`, ADMIN_KEY, undefined, { 'if-match': '"2"' })).status).toBe(204);
    expect((await call(gw, 'GET', `${BASE}/${id}`, ADMIN_KEY)).status).toBe(404);
    expect((await message(gw, ADMIN_KEY, 'hi', 'prod-chat')).status).toBe(502);
  });

  it('a policy over the YAML route changes where a failing primary goes; disabling or deleting it restores the YAML fallback', async () => {
    gw.fakes.openai.enqueue({ status: 503 });
    expect((await chat(gw, ADMIN_KEY, 'hi', { routeId: 'prod-chat' })).headers.get('x-tracehouse-upstream')).toBe('backup');

    const created = await call(gw, 'POST', BASE, ADMIN_KEY, { route_id: 'prod-chat', primary_endpoint: 'openai', fallback_endpoints: ['standby'], conditions: { error_rate_threshold: 0.5 } });
    expect(created.status).toBe(201);
    const id = created.body.id;

    gw.fakes.openai.enqueue({ status: 503 }, { status: 503 });
    const acme = await chat(gw, ADMIN_KEY, 'hi', { routeId: 'prod-chat' });
    expect(acme.status).toBe(200);
    expect(acme.headers.get('x-tracehouse-upstream')).toBe('standby');
    const other = await chat(gw, OTHER_KEY, 'hi', { routeId: 'prod-chat' });
    expect(other.headers.get('x-tracehouse-upstream')).toBe('backup');
    expect(gw.fakes.standby.requests).toHaveLength(1);
    expect(gw.fakes.standby.requests[0].headers.authorization).toBe('Bearer sk-config-standby-0003');

    // A second active policy for the same route in the workspace is a conflict.
    const twice = await call(gw, 'POST', BASE, ADMIN_KEY, { route_id: 'prod-chat', primary_endpoint: 'backup' });
    expect(twice.status).toBe(409);
    expect(twice.body.error).toContain(id);

    // Stale If-Match: 412, nothing changes.
    const stale = await call(gw, 'PUT', `${BASE}/${id}`, ADMIN_KEY, { route_id: 'prod-chat', primary_endpoint: 'openai', status: 'disabled' }, { 'if-match': '"7"' });
    expect(stale.status).toBe(412);
    gw.fakes.openai.enqueue({ status: 503 });
    expect((await chat(gw, ADMIN_KEY, 'hi', { routeId: 'prod-chat' })).headers.get('x-tracehouse-upstream')).toBe('standby');

    const disabled = await call(gw, 'PUT', `${BASE}/${id}`, ADMIN_KEY, { route_id: 'prod-chat', primary_endpoint: 'openai', fallback_endpoints: ['standby'], status: 'disabled' }, { 'if-match': '"1"' });
    expect(disabled.body).toMatchObject({ status: 'disabled', version: 2 });
    gw.fakes.openai.enqueue({ status: 503 });
    expect((await chat(gw, ADMIN_KEY, 'hi', { routeId: 'prod-chat' })).headers.get('x-tracehouse-upstream')).toBe('backup');

    await call(gw, 'PUT', `${BASE}/${id}`, ADMIN_KEY, { route_id: 'prod-chat', primary_endpoint: 'openai', fallback_endpoints: ['standby'] });
    gw.fakes.openai.enqueue({ status: 503 });
    expect((await chat(gw, ADMIN_KEY, 'hi', { routeId: 'prod-chat' })).headers.get('x-tracehouse-upstream')).toBe('standby');

    const stalDelete = await call(gw, 'DELETE', `${BASE}/${id}`, ADMIN_KEY, undefined, { 'if-match': '"2"' });
    expect(stalDelete.status).toBe(412);
    expect((await call(gw, 'DELETE', `${BASE}/${id}`, ADMIN_KEY)).status).toBe(204);
    expect((await call(gw, 'DELETE', `${BASE}/${id}`, ADMIN_KEY)).status).toBe(404);
    gw.fakes.openai.enqueue({ status: 503 });
    expect((await chat(gw, ADMIN_KEY, 'hi', { routeId: 'prod-chat' })).headers.get('x-tracehouse-upstream')).toBe('backup');
  });

  it('a policy can add a route the YAML lacks; one naming upstreams the gateway lacks is stored but skipped with a warning', async () => {
    expect((await chat(gw, ADMIN_KEY, 'hi', { routeId: 'canary' })).status).toBe(400);
    const canary = await call(gw, 'POST', BASE, ADMIN_KEY, { route_id: 'canary', primary_endpoint: 'standby' });
    expect(canary.status).toBe(201);
    const routed = await chat(gw, ADMIN_KEY, 'hi', { routeId: 'canary' });
    expect(routed.status).toBe(200);
    expect(routed.headers.get('x-tracehouse-upstream')).toBe('standby');
    expect((await chat(gw, OTHER_KEY, 'hi', { routeId: 'canary' })).status).toBe(400);

    const ghost = await call(gw, 'POST', BASE, ADMIN_KEY, { route_id: 'ghost', primary_endpoint: 'nowhere', fallback_endpoints: ['standby', 'elsewhere'] });
    expect(ghost.status).toBe(201);
    expect(ghost.body.fallback_endpoints).toEqual([
      { id: 'standby', status: 'healthy' },
      { id: 'elsewhere', status: 'unknown' },
    ]);
    const refused = await chat(gw, ADMIN_KEY, 'hi', { routeId: 'ghost' });
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe('unknown_route');
    const warning = gw.logs.map((l) => JSON.parse(l)).find((l) => l.kind === 'failover_policy' && l.id === ghost.body.id);
    expect(warning).toMatchObject({ level: 40, unknownEndpoints: ['nowhere', 'elsewhere'], route: 'ghost', workspace: 'acme' });
    expect(warning.msg).toMatch(/does not have/);

    for (const id of [canary.body.id, ghost.body.id]) expect((await call(gw, 'DELETE', `${BASE}/${id}`, ADMIN_KEY)).status).toBe(204);
  });

  it('lists the YAML routes read-only: changing or deleting one answers 409', async () => {
    const list = await call(gw, 'GET', BASE, READ_KEY);
    const yaml = list.body.data.find((p: any) => p.id === 'prod-chat');
    expect(yaml).toMatchObject({ source: 'config', status: 'active', route_id: 'prod-chat', primary_endpoint: 'openai', fallback_endpoints: [{ id: 'backup', status: expect.stringMatching(/^(healthy|degraded)$/) }], conditions: { error_rate_threshold: 0.5 } });
    const one = await call(gw, 'GET', `${BASE}/prod-chat`, READ_KEY);
    expect(one.status).toBe(200);
    expect(one.headers.get('etag')).toBe('"1"');
    const put = await call(gw, 'PUT', `${BASE}/prod-chat`, ADMIN_KEY, { route_id: 'prod-chat', primary_endpoint: 'standby' });
    expect(put.status).toBe(409);
    expect(put.body.error).toMatch(/pipelines\.yaml/);
    expect((await call(gw, 'DELETE', `${BASE}/prod-chat`, ADMIN_KEY)).status).toBe(409);
  });

  it('refuses bad bodies with one message per field, other workspaces, read-only keys and unknown ids', async () => {
    const bad = await call(gw, 'POST', BASE, ADMIN_KEY, { route_id: 'has spaces', primary_endpoint: 3, fallback_endpoints: 'backup', conditions: { error_rate_threshold: 2, latency_threshold_ms: -5 }, status: 'paused', extra: true });
    expect(bad.status).toBe(422);
    expect(bad.body.fields.map((f: any) => f.field).sort()).toEqual(['conditions.error_rate_threshold', 'conditions.latency_threshold_ms', 'extra', 'fallback_endpoints', 'primary_endpoint', 'route_id', 'status']);
    const missing = await call(gw, 'POST', BASE, ADMIN_KEY, {});
    expect(missing.status).toBe(422);
    expect(missing.body.fields.map((f: any) => [f.field, f.code])).toEqual([
      ['route_id', 'required'],
      ['primary_endpoint', 'required'],
    ]);
    const dup = await call(gw, 'POST', BASE, ADMIN_KEY, { route_id: 'r', primary_endpoint: 'openai', fallback_endpoints: ['backup', 'openai'] });
    expect(dup.status).toBe(422);
    expect(dup.body.fields).toEqual([expect.objectContaining({ field: 'fallback_endpoints[1]' })]);

    // Another workspace, existing or not: the same 403.
    const foreign = await call(gw, 'GET', OTHER_BASE, ADMIN_KEY);
    const unknown = await call(gw, 'GET', '/v1/workspaces/no-such-workspace/failover-policies', ADMIN_KEY);
    expect(foreign.status).toBe(403);
    expect(unknown.status).toBe(403);
    expect(unknown.body).toEqual(foreign.body);
    expect((await call(gw, 'POST', OTHER_BASE, ADMIN_KEY, { route_id: 'r', primary_endpoint: 'openai' })).status).toBe(403);
    expect((await call(gw, 'GET', `${OTHER_BASE}/prod-chat`, ADMIN_KEY)).status).toBe(403);

    // A read-only key reads but cannot write.
    expect((await call(gw, 'GET', BASE, READ_KEY)).status).toBe(200);
    const readOnly = await call(gw, 'POST', BASE, READ_KEY, { route_id: 'r', primary_endpoint: 'openai' });
    expect(readOnly.status).toBe(403);
    expect(readOnly.body.error).toMatch(/admin/);
    expect((await call(gw, 'POST', BASE, 'not-a-key-at-all-000000000000', { route_id: 'r', primary_endpoint: 'openai' })).status).toBe(401);

    expect((await call(gw, 'GET', `${BASE}/failover-0000000000000000`, ADMIN_KEY)).status).toBe(404);
    expect((await call(gw, 'PUT', `${BASE}/failover-0000000000000000`, ADMIN_KEY, { route_id: 'r', primary_endpoint: 'openai' })).status).toBe(404);
    expect((await call(gw, 'DELETE', `${BASE}/failover-0000000000000000`, ADMIN_KEY)).status).toBe(404);
    expect((await call(gw, 'PATCH', `${BASE}/failover-0000000000000000`, ADMIN_KEY, {})).status).toBe(405);
    // Nothing was stored by the refusals.
    expect((await call(gw, 'GET', `${BASE}?source=api`, ADMIN_KEY)).body.total).toBe(0);
  });

  it('pages with Link headers and a total, sorts and filters', async () => {
    const ids: string[] = [];
    for (const [route, status] of [['route-b', 'active'], ['route-c', 'disabled'], ['route-a', 'active']]) {
      const created = await call(gw, 'POST', OTHER_BASE, OTHER_KEY, { route_id: route, primary_endpoint: 'openai', status });
      expect(created.status).toBe(201);
      ids.push(created.body.id);
    }
    // The workspace's three and the YAML's prod-chat.
    const first = await call(gw, 'GET', `${OTHER_BASE}?limit=2`, OTHER_KEY);
    expect(first.body).toMatchObject({ total: 4, page: 1, limit: 2 });
    expect(first.body.data).toHaveLength(2);
    expect(first.headers.get('x-total-count')).toBe('4');
    const link = first.headers.get('link') ?? '';
    expect(link).toContain(`<${OTHER_BASE}?limit=2&page=1>; rel="first"`);
    expect(link).toContain(`<${OTHER_BASE}?limit=2&page=2>; rel="next"`);
    expect(link).toContain(`<${OTHER_BASE}?limit=2&page=2>; rel="last"`);
    expect(link).not.toContain('rel="prev"');
    const second = await call(gw, 'GET', `${OTHER_BASE}?page=2&limit=2`, OTHER_KEY);
    expect(second.body.data).toHaveLength(2);
    expect(second.headers.get('link')).toContain('rel="prev"');
    expect(second.headers.get('link')).not.toContain('rel="next"');
    expect([...first.body.data, ...second.body.data].map((p: any) => p.id).sort()).toEqual([...ids, 'prod-chat'].sort());

    const sorted = await call(gw, 'GET', `${OTHER_BASE}?sort=route_id:desc`, OTHER_KEY);
    expect(sorted.body.data.map((p: any) => p.route_id)).toEqual(['route-c', 'route-b', 'route-a', 'prod-chat']);
    const newest = await call(gw, 'GET', `${OTHER_BASE}?sort=created_at:desc&source=api`, OTHER_KEY);
    expect(newest.body.data.map((p: any) => p.id)).toEqual([...ids].reverse());
    const disabled = await call(gw, 'GET', `${OTHER_BASE}?status=disabled`, OTHER_KEY);
    expect(disabled.body.data.map((p: any) => p.route_id)).toEqual(['route-c']);
    const active = await call(gw, 'GET', `${OTHER_BASE}?status=active&sort=route_id:asc`, OTHER_KEY);
    expect(active.body.data.map((p: any) => p.route_id)).toEqual(['prod-chat', 'route-a', 'route-b']);

    // Newest first unless asked otherwise, as every list of the contract.
    const byDefault = await call(gw, 'GET', `${OTHER_BASE}?source=api`, OTHER_KEY);
    expect(byDefault.body.data.map((p: any) => p.id)).toEqual([...ids].reverse());
    expect((await call(gw, 'GET', `${OTHER_BASE}?limit=500`, OTHER_KEY)).body.limit).toBe(100);
    const badQuery = await call(gw, 'GET', `${OTHER_BASE}?limit=abc&sort=color:asc&colour=red`, OTHER_KEY);
    expect(badQuery.status).toBe(422);
    expect(badQuery.body.fields.map((f: any) => f.field).sort()).toEqual(['colour', 'limit', 'sort']);
  });
});
