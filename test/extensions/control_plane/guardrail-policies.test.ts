/**
 * /v1/workspaces/:id/policies through HTTP against a daemon running the proxy receiver: a policy
 * created over HTTP blocks a forbidden keyword (400, OpenAI's envelope) and a model outside its
 * allow-list (403) for its workspace only, masks what its detectors mask, keeps its own budget
 * ledger across changes, and stops applying once disabled or deleted; the YAML preflight still
 * applies and is listed read-only (409); 422 per field, 403, 412, 404, pages, sort and filters.
 */
import { ADMIN_KEY, call, chat, OTHER_KEY, READ_KEY, startPolicyGateway } from './policies-daemon';
import type { PolicyGateway } from './policies-daemon';

const BASE = '/v1/workspaces/acme/policies';
const OTHER_BASE = '/v1/workspaces/other/policies';

const POLICY = {
  name: 'Support guardrails',
  status: 'active',
  pii: { default: 'allow', detectors: { email: 'mask', us_ssn: 'block' } },
  rules: [{ id: 'no-project-x', type: 'keyword_forbidden', value: ['project-x', 'codename falcon'] }],
  models: { allow: ['gpt-4o*'] },
  max_input_bytes: 100_000,
  budget: { usd: 50, window_seconds: 86_400 },
};

describe('control plane: guardrail policies', () => {
  let gw: PolicyGateway;
  beforeAll(async () => {
    gw = await startPolicyGateway();
  }, 60_000);
  afterAll(() => gw?.stop());
  beforeEach(() => {
    for (const fake of Object.values(gw.fakes)) fake.reset();
  });

  it('a policy created over HTTP blocks keywords (400) and models (403) for its workspace only, masks, and stops once disabled or deleted', async () => {
    expect((await chat(gw, ADMIN_KEY, 'tell me about project-x')).status).toBe(200);

    const created = await call(gw, 'POST', BASE, ADMIN_KEY, POLICY);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ ...POLICY, rules: [expect.objectContaining(POLICY.rules[0])], version: 1, source: 'api' });
    const id = created.body.id;
    expect(id).toMatch(/^policy-[0-9a-f]{16}$/);
    expect(created.headers.get('etag')).toBe('"1"');
    expect(created.headers.get('location')).toBe(`${BASE}/${id}`);
    gw.fakes.openai.reset();

    const keyword = await chat(gw, ADMIN_KEY, 'tell me about Project-X');
    expect(keyword.status).toBe(400);
    expect(keyword.body.error).toMatchObject({ type: 'invalid_request_error', code: 'blocked_by_policy', findings: [expect.objectContaining({ rule: 'rule:no-project-x' })] });
    expect(keyword.body.error.message).toMatch(/no-project-x/);
    const model = await chat(gw, ADMIN_KEY, 'hello', { model: 'gpt-3.5-turbo' });
    expect(model.status).toBe(403);
    expect(model.body.error).toMatchObject({ code: 'blocked_by_policy', findings: [expect.objectContaining({ rule: 'models.allow' })] });
    const ssn = await chat(gw, ADMIN_KEY, 'my ssn is 123-45-6789');
    expect(ssn.status).toBe(400);
    expect(gw.fakes.openai.requests).toHaveLength(0);

    // Another workspace's calls pass.
    expect((await chat(gw, OTHER_KEY, 'tell me about project-x')).status).toBe(200);
    expect((await chat(gw, OTHER_KEY, 'hello', { model: 'gpt-3.5-turbo' })).status).toBe(200);
    expect(gw.fakes.openai.requests).toHaveLength(2);

    // Masks apply: the provider never sees the address.
    gw.fakes.openai.reset();
    const masked = await chat(gw, ADMIN_KEY, 'write to jane.doe@example.com please');
    expect(masked.status).toBe(200);
    expect(gw.fakes.openai.requests[0].body.messages[0].content).toBe('write to [REDACTED:EMAIL] please');
    // The YAML preflight still applies beside the policy, to every workspace.
    expect((await chat(gw, ADMIN_KEY, 'this is forbidden-by-yaml')).status).toBe(400);
    expect((await chat(gw, OTHER_KEY, 'this is forbidden-by-yaml')).status).toBe(400);

    // Disabled: the policy stops applying (stale If-Match first: 412, nothing changes).
    const stale = await call(gw, 'PUT', `${BASE}/${id}`, ADMIN_KEY, { ...POLICY, status: 'disabled' }, { 'if-match': '"5"' });
    expect(stale.status).toBe(412);
    expect((await chat(gw, ADMIN_KEY, 'project-x again')).status).toBe(400);
    const disabled = await call(gw, 'PUT', `${BASE}/${id}`, ADMIN_KEY, { ...POLICY, status: 'disabled' }, { 'if-match': '"1"' });
    expect(disabled.status).toBe(200);
    expect(disabled.body).toMatchObject({ id, status: 'disabled', version: 2 });
    expect(disabled.headers.get('etag')).toBe('"2"');
    expect((await chat(gw, ADMIN_KEY, 'project-x again')).status).toBe(200);

    // Active again with another keyword, then deleted.
    await call(gw, 'PUT', `${BASE}/${id}`, ADMIN_KEY, { ...POLICY, rules: [{ id: 'no-falcon', type: 'keyword_forbidden', value: 'falcon' }] });
    expect((await chat(gw, ADMIN_KEY, 'project-x again')).status).toBe(200);
    expect((await chat(gw, ADMIN_KEY, 'the falcon has landed')).status).toBe(400);
    const one = await call(gw, 'GET', `${BASE}/${id}`, READ_KEY);
    expect(one.body).toMatchObject({ id, version: 3, rules: [expect.objectContaining({ id: 'no-falcon' })] });
    expect(one.headers.get('etag')).toBe('"3"');
    expect((await call(gw, 'DELETE', `${BASE}/${id}`, ADMIN_KEY, undefined, { 'if-match': '"2"' })).status).toBe(412);
    expect((await call(gw, 'DELETE', `${BASE}/${id}`, ADMIN_KEY, undefined, { 'if-match': '"3"' })).status).toBe(204);
    expect((await chat(gw, ADMIN_KEY, 'the falcon has landed')).status).toBe(200);
    expect((await call(gw, 'GET', `${BASE}/${id}`, ADMIN_KEY)).status).toBe(404);
  });

  it("keeps each policy's budget in its own ledger, across changes to the policy", async () => {
    const created = await call(gw, 'POST', OTHER_BASE, OTHER_KEY, { name: 'Tiny budget', budget: { usd: 0.000001, window_seconds: 3600 } });
    expect(created.status).toBe(201);
    expect(created.body.status).toBe('active');
    expect((await chat(gw, OTHER_KEY, 'first call')).status).toBe(200);
    const over = await chat(gw, OTHER_KEY, 'second call');
    expect(over.status).toBe(403);
    expect(over.body.error.findings).toEqual([expect.objectContaining({ rule: 'budget' })]);
    // The other workspace has no such policy.
    expect((await chat(gw, ADMIN_KEY, 'second call')).status).toBe(200);
    // Renamed, the policy keeps what was spent.
    expect((await call(gw, 'PUT', `${OTHER_BASE}/${created.body.id}`, OTHER_KEY, { name: 'Tiny budget, renamed', budget: { usd: 0.000001, window_seconds: 3600 } })).status).toBe(200);
    expect((await chat(gw, OTHER_KEY, 'third call')).status).toBe(403);
    // A second policy with its own (fresh) budget does not lift the first one's block.
    expect((await call(gw, 'DELETE', `${OTHER_BASE}/${created.body.id}`, OTHER_KEY)).status).toBe(204);
    expect((await chat(gw, OTHER_KEY, 'fourth call')).status).toBe(200);
  });

  it('lists the YAML preflight read-only: changing or deleting it answers 409', async () => {
    const list = await call(gw, 'GET', `${BASE}?source=config`, READ_KEY);
    expect(list.body.data).toEqual([expect.objectContaining({ id: 'proxy.preflight', source: 'config', status: 'active', rules: [expect.objectContaining({ id: 'yaml-keyword' })] })]);
    const put = await call(gw, 'PUT', `${BASE}/proxy.preflight`, ADMIN_KEY, { name: 'mine' });
    expect(put.status).toBe(409);
    expect(put.body.error).toMatch(/pipelines\.yaml/);
    expect((await call(gw, 'DELETE', `${BASE}/proxy.preflight`, ADMIN_KEY)).status).toBe(409);
    expect((await chat(gw, ADMIN_KEY, 'forbidden-by-yaml')).status).toBe(400);
  });

  it('refuses bad bodies with one message per field, other workspaces, read-only keys and unknown ids', async () => {
    const bad = await call(gw, 'POST', BASE, ADMIN_KEY, {
      status: 'sometimes',
      pii: { default: 'explode', detectors: { retina: 'block' } },
      rules: [{ id: 'judge', type: 'llm_judge', value: 'x' }],
      models: { allow: [] },
      max_input_bytes: -1,
      budget: { usd: 0 },
      colour: 'red',
    });
    expect(bad.status).toBe(422);
    expect(bad.body.fields.map((f: any) => f.field).sort()).toEqual(
      ['budget.usd', 'budget.window_seconds', 'colour', 'max_input_bytes', 'models.allow', 'name', 'pii.default', 'pii.detectors.retina', 'rules[0].type', 'status'].sort(),
    );
    // Checks across fields run once the fields are valid.
    const scoped = await call(gw, 'POST', BASE, ADMIN_KEY, { name: 'scoped', rules: [{ id: 'ws', type: 'keyword_forbidden', value: 'x', scope: { workspace: 'other' } }] });
    expect(scoped.status).toBe(422);
    expect(scoped.body.fields).toEqual([expect.objectContaining({ field: 'rules[0].scope.workspace' })]);
    const dupRules = await call(gw, 'POST', BASE, ADMIN_KEY, { name: 'dup', rules: [{ id: 'a', type: 'max_length', value: 10 }, { id: 'a', type: 'min_length', value: 1 }] });
    expect(dupRules.status).toBe(422);
    expect(dupRules.body.fields).toEqual([expect.objectContaining({ field: 'rules[1].id' })]);
    const badRegex = await call(gw, 'POST', BASE, ADMIN_KEY, { name: 'regex', rules: [{ id: 'r', type: 'regex_forbidden', value: '(?<=secret)\\d+' }] });
    expect(badRegex.status).toBe(422);
    expect(badRegex.body.fields).toEqual([expect.objectContaining({ field: 'rules[0].value', message: expect.stringMatching(/lookbehind/) })]);

    const foreign = await call(gw, 'GET', OTHER_BASE, ADMIN_KEY);
    const unknown = await call(gw, 'GET', '/v1/workspaces/nowhere/policies', ADMIN_KEY);
    expect(foreign.status).toBe(403);
    expect(unknown.body).toEqual(foreign.body);
    expect((await call(gw, 'POST', OTHER_BASE, ADMIN_KEY, { name: 'x' })).status).toBe(403);
    expect((await call(gw, 'POST', BASE, READ_KEY, { name: 'x' })).status).toBe(403);
    expect((await call(gw, 'GET', `${BASE}/policy-0000000000000000`, READ_KEY)).status).toBe(404);
    expect((await call(gw, 'PUT', `${BASE}/policy-0000000000000000`, ADMIN_KEY, { name: 'x' })).status).toBe(404);
    expect((await call(gw, 'GET', `${BASE}?source=api`, ADMIN_KEY)).body.total).toBe(0);
  });

  it('pages with Link headers and a total, sorts by name and filters by status', async () => {
    const WS = '/v1/workspaces/acme/policies';
    const ids: string[] = [];
    for (const [name, status] of [['Bravo', 'active'], ['Alpha', 'disabled'], ['Charlie', 'disabled']]) {
      const created = await call(gw, 'POST', WS, ADMIN_KEY, { name, status, rules: [{ id: 'k', type: 'keyword_forbidden', value: `kw-${name}` }] });
      expect(created.status).toBe(201);
      ids.push(created.body.id);
    }
    const page = await call(gw, 'GET', `${WS}?source=api&limit=1&page=2&sort=name:asc`, READ_KEY);
    expect(page.body).toMatchObject({ total: 3, page: 2, limit: 1 });
    expect(page.body.data.map((p: any) => p.name)).toEqual(['Bravo']);
    const link = page.headers.get('link') ?? '';
    for (const rel of ['first', 'prev', 'next', 'last']) expect(link).toContain(`rel="${rel}"`);
    expect(link).toContain(`<${WS}?source=api&limit=1&page=3&sort=name%3Aasc>; rel="last"`);
    const desc = await call(gw, 'GET', `${WS}?source=api&sort=name:desc`, READ_KEY);
    expect(desc.body.data.map((p: any) => p.name)).toEqual(['Charlie', 'Bravo', 'Alpha']);
    const disabled = await call(gw, 'GET', `${WS}?status=disabled&sort=name:asc`, READ_KEY);
    expect(disabled.body.data.map((p: any) => p.name)).toEqual(['Alpha', 'Charlie']);
    // Only the active one applies.
    expect((await chat(gw, ADMIN_KEY, 'kw-Bravo')).status).toBe(400);
    expect((await chat(gw, ADMIN_KEY, 'kw-Alpha')).status).toBe(200);
    for (const id of ids) await call(gw, 'DELETE', `${WS}/${id}`, ADMIN_KEY);
  });
});
