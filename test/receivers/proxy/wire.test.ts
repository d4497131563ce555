/**
 * What the gateway puts on the wire and takes off it: query strings (with an Azure-style base URL
 * that has its own), per-route model lists, the per-upstream include_usage switch, header hygiene
 * both ways, Anthropic error envelopes, the admin health action and the passthrough span.
 */
import { TEST_API_KEY } from '../../support/daemon';
import { FakeLlmProvider } from '../../support/fake-llm-provider';
import { startGateway } from './proxy-daemon';
import type { Gateway } from './proxy-daemon';

let gw: Gateway;
let azure: FakeLlmProvider;
let taskCounter = 0;
const newTask = (name: string) => `wire-${name}-${++taskCounter}`;

async function post(path: string, body: unknown, headers: Record<string, string>, base = gw.url) {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

const chatBody = (model: string, extra: Record<string, unknown> = {}) => ({ model, messages: [{ role: 'user', content: 'hi' }], ...extra });
const anthropicBody = { model: 'claude-sonnet-4-5', max_tokens: 32, messages: [{ role: 'user', content: 'hi' }] };

beforeAll(async () => {
  azure = await FakeLlmProvider.start({ pathPrefix: '/openai' });
  gw = await startGateway({
    upstreams: `      azure: { provider: openai_compatible, base_url: "${azure.url}/openai?api-version=2024-10-21", api_key: "azure-key", include_usage: false }`,
    routes: '      azure-models: { primary: azure, models: [azure-gpt-4o] }',
  });
});
afterAll(async () => {
  await gw.stop();
  await azure.close();
});
beforeEach(() => {
  gw.openai.reset();
  gw.anthropic.reset();
  azure.reset();
});

describe('proxy receiver: query strings and model routing', () => {
  it("forwards the client's query string, after the base URL's own parameters", async () => {
    const plain = await post('/v1/chat/completions?trace=on&x=1', chatBody('gpt-4o'), { authorization: `Bearer ${TEST_API_KEY}` });
    expect(plain.status).toBe(200);
    expect(gw.openai.requests[0].path).toBe('/v1/chat/completions?trace=on&x=1');
    const routed = await post('/v1/chat/completions?trace=on', chatBody('azure-gpt-4o'), { authorization: `Bearer ${TEST_API_KEY}` });
    expect(routed.status).toBe(200);
    expect(azure.requests[0].path).toBe('/openai/v1/chat/completions?api-version=2024-10-21&trace=on');
    const bare = await post('/v1/chat/completions', chatBody('azure-gpt-4o'), { authorization: `Bearer ${TEST_API_KEY}` });
    expect(bare.status).toBe(200);
    expect(azure.requests[1].path).toBe('/openai/v1/chat/completions?api-version=2024-10-21');
    expect(azure.requests[1].headers.authorization).toBe('Bearer azure-key');
  });

  it("routes by a route's models list when no X-Route-ID is sent, and by default otherwise", async () => {
    const task = newTask('models');
    const routed = await post('/v1/chat/completions', chatBody('azure-gpt-4o'), { authorization: `Bearer ${TEST_API_KEY}`, 'x-task-id': task });
    expect(routed.headers.get('x-tracehouse-upstream')).toBe('azure');
    const other = await post('/v1/chat/completions', chatBody('gpt-4o-mini'), { authorization: `Bearer ${TEST_API_KEY}` });
    expect(other.headers.get('x-tracehouse-upstream')).toBe('openai');
    expect(azure.requests).toHaveLength(1);
    expect(gw.openai.requests).toHaveLength(1);
    const [row] = await gw.callRows(task);
    expect(row.SpanAttributes['tracehouse.proxy.route']).toBe('azure-models');
  });
});

describe('proxy receiver: include_usage per upstream', () => {
  it('does not add stream_options to an upstream configured with include_usage: false, and marks its usage estimated', async () => {
    const task = newTask('no-include-usage');
    const request = chatBody('azure-gpt-4o', { stream: true });
    const expected = await post('/openai/v1/chat/completions', request, { authorization: 'Bearer direct' }, azure.url);
    azure.reset();
    const got = await post('/v1/chat/completions', request, { authorization: `Bearer ${TEST_API_KEY}`, 'x-task-id': task });
    expect(got.bytes.equals(expected.bytes)).toBe(true);
    expect(azure.requests[0].body.stream_options).toBeUndefined();
    expect(azure.requests[0].raw).toBe(JSON.stringify(request));
    const [row] = await gw.callRows(task);
    expect(row.SpanAttributes['tracehouse.usage.estimated']).toBe('true');
  });
});

describe('proxy receiver: header hygiene', () => {
  it("forwards provider headers, never the gateway's own, and passes the provider's ids and limits back verbatim", async () => {
    const task = newTask('headers');
    const passedBack = { 'x-request-id': 'req_abc123', 'retry-after': '3', 'retry-after-ms': '2500', 'x-ratelimit-remaining-requests': '99', 'x-ratelimit-reset-tokens': '6m0s', 'x-other-thing': 'kept-out' };
    gw.openai.setDefault({ headers: passedBack });
    const res = await post('/v1/chat/completions', chatBody('gpt-4o'), {
      'x-api-key': TEST_API_KEY,
      authorization: 'Bearer sk-caller-key',
      'openai-organization': 'org-1',
      'openai-project': 'proj-2',
      'openai-beta': 'assistants=v2',
      'x-task-id': task,
      'x-conversation-id': 'conv-7',
      'x-user-id': 'user-8',
      'x-route-id': 'prod-chat',
    });
    expect(res.status).toBe(200);
    const sent = gw.openai.requests[0].headers;
    expect(sent).toMatchObject({ 'openai-organization': 'org-1', 'openai-project': 'proj-2', 'openai-beta': 'assistants=v2', authorization: 'Bearer sk-caller-key' });
    for (const name of ['x-api-key', 'x-task-id', 'x-conversation-id', 'x-user-id', 'x-route-id']) expect(sent[name]).toBeUndefined();
    for (const [name, value] of Object.entries(passedBack)) if (name !== 'x-other-thing') expect(res.headers.get(name)).toBe(value);
    expect(res.headers.get('x-other-thing')).toBeNull();

    gw.anthropic.setDefault({ headers: { 'request-id': 'req_ant_1', 'anthropic-ratelimit-requests-remaining': '49' } });
    const anthropic = await post('/v1/messages', anthropicBody, { 'x-api-key': TEST_API_KEY, 'anthropic-version': '2023-06-01', 'anthropic-beta': 'prompt-caching-2024-07-31', 'x-user-id': 'user-8' });
    expect(anthropic.status).toBe(200);
    expect(gw.anthropic.requests[0].headers).toMatchObject({ 'anthropic-version': '2023-06-01', 'anthropic-beta': 'prompt-caching-2024-07-31' });
    expect(gw.anthropic.requests[0].headers['x-user-id']).toBeUndefined();
    expect(anthropic.headers.get('request-id')).toBe('req_ant_1');
    expect(anthropic.headers.get('anthropic-ratelimit-requests-remaining')).toBe('49');
  });
});

describe('proxy receiver: Anthropic error envelopes', () => {
  it('answers 502 as api_error when the upstream is lost, before headers or before any stream output', async () => {
    // A stream cut before any output is tried again (max_attempts 3): every attempt is cut here.
    gw.anthropic.enqueue({ dropBeforeHeaders: true }, { dropAfterChunks: 0 }, { dropAfterChunks: 0 }, { dropAfterChunks: 0 });
    const lost = await post('/v1/messages', anthropicBody, { 'x-api-key': TEST_API_KEY, 'anthropic-version': '2023-06-01' });
    expect(lost.status).toBe(502);
    expect(JSON.parse(lost.bytes.toString())).toEqual({ type: 'error', error: { type: 'api_error', message: expect.any(String) } });
    const cut = await post('/v1/messages', { ...anthropicBody, stream: true }, { 'x-api-key': TEST_API_KEY, 'anthropic-version': '2023-06-01' });
    expect(cut.status).toBe(502);
    expect(JSON.parse(cut.bytes.toString())).toEqual({ type: 'error', error: { type: 'api_error', message: expect.stringContaining('broke off') } });
    expect(gw.anthropic.requests).toHaveLength(4);
  });
});

describe('proxy receiver: admin health and passthrough spans', () => {
  it('answers the health action with each upstream and the span queue', async () => {
    const res = await fetch(`${gw.daemon.adminUrl}/actions/proxy/health`, { method: 'POST', body: '{}', headers: { 'x-tracehouse-action-token': gw.daemon.service.adminActionToken ?? '' } });
    expect(res.status).toBe(200);
    const answer = (await res.json()) as { ok: boolean; result: { upstreams: Record<string, { state: string; requests: number }>; span_queue: number } };
    expect(answer.ok).toBe(true);
    expect(Object.keys(answer.result.upstreams).sort()).toEqual(['anthropic', 'azure', 'backup', 'openai']);
    expect(answer.result.upstreams.openai).toMatchObject({ state: 'healthy', errorRate: 0 });
    expect(answer.result.upstreams.openai.requests).toBeGreaterThan(0);
    expect(typeof answer.result.span_queue).toBe('number');
  });

  it('puts the conversation id on a passthrough span', async () => {
    const task = newTask('passthrough');
    const res = await fetch(`${gw.url}/v1/files?purpose=batch`, { headers: { authorization: `Bearer ${TEST_API_KEY}`, 'x-task-id': task, 'x-conversation-id': 'conv-files' } });
    expect(res.status).toBeLessThan(500);
    expect(gw.openai.requests[0].path).toBe('/v1/files?purpose=batch');
    const [row] = await gw.callRows(task);
    expect(row.SpanAttributes['gen_ai.conversation.id']).toBe('conv-files');
  });
});

describe('proxy receiver: workspace rate limit on /v1/messages', () => {
  let limited: Gateway;
  beforeAll(async () => {
    limited = await startGateway({ rateLimit: '{ limit: 1000, per_route: { "/v1/messages": { limit: 1 } } }' });
  });
  afterAll(() => limited.stop());

  it("answers 429 in Anthropic's envelope with Retry-After and X-RateLimit-*, reaching no provider", async () => {
    const headers = { 'x-api-key': TEST_API_KEY, 'anthropic-version': '2023-06-01' };
    expect((await post('/v1/messages', anthropicBody, headers, limited.url)).status).toBe(200);
    const res = await post('/v1/messages', anthropicBody, headers, limited.url);
    expect(res.status).toBe(429);
    expect(JSON.parse(res.bytes.toString())).toEqual({ type: 'error', error: { type: 'rate_limit_error', message: expect.stringContaining('rate limit') } });
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(res.headers.get('x-ratelimit-limit')).toBe('1');
    expect(res.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(limited.anthropic.requests).toHaveLength(1);
  });
});
