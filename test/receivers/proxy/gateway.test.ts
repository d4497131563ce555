import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { TEST_API_KEY, TEST_WORKSPACE } from '../../support/daemon';
import { waitFor } from '../../support/wait';
import { ANTHROPIC_CONFIG_KEY, BACKUP_CONFIG_KEY, OPENAI_CONFIG_KEY, rawPost, startGateway } from './proxy-daemon';
import type { Gateway } from './proxy-daemon';

let gw: Gateway;
let taskCounter = 0;
const newTask = (name: string) => `task-${name}-${++taskCounter}`;

const viaGateway = (task: string, extra: Record<string, string> = {}) =>
  new OpenAI({ apiKey: TEST_API_KEY, baseURL: `${gw.url}/v1`, maxRetries: 0, defaultHeaders: { 'X-Task-ID': task, ...extra } });
const direct = () => new OpenAI({ apiKey: 'sk-direct', baseURL: `${gw.openai.url}/v1`, maxRetries: 0 });

beforeAll(async () => {
  gw = await startGateway();
});
afterAll(() => gw.stop());
beforeEach(() => {
  gw.openai.reset();
  gw.backup.reset();
  gw.anthropic.reset();
});


describe('proxy receiver: OpenAI routes with the openai SDK', () => {
  it('answers a chat completion exactly as the provider does and stores one call span with exact usage', async () => {
    const task = newTask('chat-json');
    gw.openai.setDefault({ usage: { input: 40, output: 7, cached: 10, reasoning: 3 } });
    const request = { model: 'gpt-4o', messages: [{ role: 'user' as const, content: 'Say hello' }], temperature: 0.5 };
    const expected = await direct().chat.completions.create(request);
    gw.openai.reset();
    gw.openai.setDefault({ usage: { input: 40, output: 7, cached: 10, reasoning: 3 } });
    const answer = await viaGateway(task, { 'X-Conversation-ID': 'conv-1', 'X-User-ID': 'user-9' }).chat.completions.create(request);
    expect(answer).toEqual(expected);
    const upstream = gw.openai.requests[0];
    expect(upstream.headers.authorization).toBe(`Bearer ${OPENAI_CONFIG_KEY}`);
    expect(upstream.headers['x-task-id']).toBeUndefined();
    expect(upstream.headers['x-conversation-id']).toBeUndefined();
    expect(upstream.headers['x-user-id']).toBeUndefined();
    const [row] = await gw.callRows(task);
    expect(row).toMatchObject({
      SpanName: 'chat gpt-4o',
      SpanKind: 'Client',
      StatusCode: 'Ok',
      Workspace: TEST_WORKSPACE,
      GenAIOperation: 'chat',
      GenAIProvider: 'openai',
      GenAIRequestModel: 'gpt-4o',
      GenAIResponseModel: 'gpt-4o',
      InputTokens: 40,
      OutputTokens: 7,
      Input: JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: 'Say hello' }] }]),
      Output: JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: expected.choices[0].message.content }], finish_reason: 'stop' }]),
    });
    expect(row.SpanAttributes).toMatchObject({
      'gen_ai.usage.cache_read.input_tokens': '10',
      'gen_ai.usage.reasoning.output_tokens': '3',
      'gen_ai.usage.total_tokens': '47',
      'gen_ai.response.finish_reasons': '["stop"]',
      'gen_ai.response.id': expected.id,
      'gen_ai.request.temperature': '0.5',
      'gen_ai.request.stream': 'false',
      'gen_ai.conversation.id': 'conv-1',
      'enduser.id': 'user-9',
      'tracehouse.task': task,
      'tracehouse.proxy.upstream': 'openai',
      'tracehouse.proxy.attempts': '1',
      'http.response.status_code': '200',
      'tracehouse.source': 'proxy',
    });
    expect(row.SpanAttributes['tracehouse.usage.estimated']).toBeUndefined();
  });

  it('streams chat byte-identical to the provider without include_usage, and still records exact usage and TTFT', async () => {
    const task = newTask('chat-sse');
    const request = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true };
    gw.openai.setDefault({ usage: { input: 21, output: 6 }, chunkGapMs: 5 });
    const expected = await rawPost(gw.openai.url, '/v1/chat/completions', request, { authorization: 'Bearer sk-direct' });
    expect(expected.bytes.toString()).not.toContain('"usage"');
    gw.openai.reset();
    gw.openai.setDefault({ usage: { input: 21, output: 6 }, chunkGapMs: 5 });
    const got = await rawPost(gw.url, '/v1/chat/completions', request, { authorization: `Bearer ${TEST_API_KEY}`, 'x-task-id': task });
    expect(got.status).toBe(200);
    expect(got.bytes.equals(expected.bytes)).toBe(true);
    expect(got.headers.get('content-type')).toContain('text/event-stream');
    expect(got.headers.get('cache-control')).toBe('no-cache');
    expect(got.headers.get('x-accel-buffering')).toBe('no');
    expect(got.headers.get('content-encoding')).toBeNull();
    expect(got.headers.get('x-tracehouse-upstream')).toBe('openai');
    expect(got.headers.get('x-tracehouse-attempts')).toBe('1');
    expect(got.headers.get('x-tracehouse-overhead-ms')).toMatch(/^\d+\.\d{3}$/);
    // Upstream, usage was asked for.
    expect(gw.openai.requests[0].body.stream_options).toEqual({ include_usage: true });
    const [row] = await gw.callRows(task);
    expect(row).toMatchObject({ InputTokens: 21, OutputTokens: 6, StatusCode: 'Ok', GenAIRequestModel: 'gpt-4o-mini' });
    expect(row.SpanAttributes['gen_ai.response.finish_reasons']).toBe('["stop"]');
    expect(row.SpanAttributes['gen_ai.request.stream']).toBe('true');
    expect(Number(row.SpanAttributes['tracehouse.proxy.ttft_ms'])).toBeGreaterThan(0);
    expect(JSON.parse(row.Output)).toEqual([{ role: 'assistant', parts: [{ type: 'text', content: 'Hello from the fake provider.' }], finish_reason: 'stop' }]);
  });

  it('sends a JSON answer whole with its length, and reports its own overhead without the provider\'s time', async () => {
    const task = newTask('chat-overhead');
    const request = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };
    gw.openai.setDefault({ latencyMs: 1_000 });
    const started = performance.now();
    const got = await rawPost(gw.url, '/v1/chat/completions', request, { authorization: `Bearer ${TEST_API_KEY}`, 'x-task-id': task });
    const elapsed = performance.now() - started;
    expect(got.status).toBe(200);
    expect(got.headers.get('content-length')).toBe(String(got.bytes.length));
    expect(got.headers.get('transfer-encoding')).toBeNull();
    const overhead = got.headers.get('x-tracehouse-overhead-ms') ?? '';
    expect(overhead).toMatch(/^\d+\.\d{3}$/);
    // The provider held the answer for a second: that wait is not the gateway's.
    expect(elapsed).toBeGreaterThanOrEqual(1_000);
    expect(Number(overhead)).toBeLessThan(1_000);
    expect(JSON.parse(got.bytes.toString()).object).toBe('chat.completion');
  });

  it('keeps the usage chunk for a client that asked for it, through the SDK', async () => {
    const task = newTask('chat-sse-usage');
    gw.openai.setDefault({ usage: { input: 5, output: 4, cached: 2 }, chunks: ['a', 'b', 'c', 'd'] });
    const stream = await viaGateway(task).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }], stream: true, stream_options: { include_usage: true } });
    let usage: unknown;
    let text = '';
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('abcd');
    expect(usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 4 });
    const [row] = await gw.callRows(task);
    expect(row).toMatchObject({ InputTokens: 5, OutputTokens: 4 });
    expect(row.SpanAttributes['gen_ai.usage.cache_read.input_tokens']).toBe('2');
  });

  it('assembles streamed tool calls by index', async () => {
    const task = newTask('chat-tools');
    gw.openai.setDefault({ toolCalls: [{ name: 'get_weather', arguments: '{"city":"Paris","unit":"c"}' }] });
    const stream = await viaGateway(task).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'weather?' }], stream: true });
    for await (const _chunk of stream) void _chunk;
    const [row] = await gw.callRows(task);
    expect(row.SpanAttributes['gen_ai.response.finish_reasons']).toBe('["tool_calls"]');
    const [message] = JSON.parse(row.Output);
    expect(message.parts).toEqual([{ type: 'tool_call', id: expect.any(String), name: 'get_weather', arguments: { city: 'Paris', unit: 'c' } }]);
  });

  it('records usage of a streamed Responses call from its terminal event, identical to the provider', async () => {
    const task = newTask('responses-sse');
    const request = { model: 'o4-mini', input: 'Think', stream: true };
    gw.openai.setDefault({ usage: { input: 30, output: 12, cached: 4, reasoning: 8 }, finishReason: 'length' });
    const expected = await rawPost(gw.openai.url, '/v1/responses', request, { authorization: 'Bearer sk-direct' });
    gw.openai.reset();
    gw.openai.setDefault({ usage: { input: 30, output: 12, cached: 4, reasoning: 8 }, finishReason: 'length' });
    const got = await rawPost(gw.url, '/v1/responses', request, { authorization: `Bearer ${TEST_API_KEY}`, 'x-task-id': task });
    expect(got.bytes.equals(expected.bytes)).toBe(true);
    const [row] = await gw.callRows(task);
    expect(row).toMatchObject({ InputTokens: 30, OutputTokens: 12, GenAIOperation: 'chat' });
    expect(row.SpanAttributes).toMatchObject({
      'gen_ai.usage.cache_read.input_tokens': '4',
      'gen_ai.usage.reasoning.output_tokens': '8',
      'gen_ai.response.finish_reasons': '["length"]',
      'openai.response.status': 'incomplete',
    });
  });

  it('serves Responses JSON through the SDK and the Bifrost route', async () => {
    const task = newTask('responses-json');
    const expected = await direct().responses.create({ model: 'gpt-4o', input: 'hello' });
    gw.openai.reset();
    const answer = await viaGateway(task).responses.create({ model: 'gpt-4o', input: 'hello' });
    expect(answer).toEqual(expected);
    gw.openai.reset();
    const raw = await rawPost(gw.openai.url, '/v1/responses', { model: 'gpt-4o', input: 'hello', stream: false }, { authorization: 'Bearer sk-direct' });
    gw.openai.reset();
    const bifrost = await rawPost(gw.url, '/api/proxy/openai/responses', { model: 'gpt-4o', input: 'hello', stream: false }, { 'x-api-key': TEST_API_KEY, 'x-task-id': task });
    expect(bifrost.status).toBe(200);
    expect(bifrost.bytes.equals(raw.bytes)).toBe(true);
    expect(gw.openai.requests[0].path).toBe('/v1/responses');
    const rows = await gw.callRows(task, 2);
    for (const row of rows) expect(row.SpanAttributes['gen_ai.response.finish_reasons']).toBe('["stop"]');
  });

  it('serves completions and embeddings', async () => {
    const task = newTask('completions');
    const client = viaGateway(task);
    const completion = await client.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Once' });
    expect(completion.choices[0].text).toBe('Hello from the fake provider.');
    const embedding = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'vectorize me' });
    expect(embedding.data.length).toBeGreaterThan(0);
    const rows = await gw.callRows(task, 2);
    expect(rows.map((r) => r.GenAIOperation).sort()).toEqual(['embeddings', 'text_completion']);
  });
});

describe('proxy receiver: Anthropic Messages with @anthropic-ai/sdk', () => {
  const viaAnthropic = (task: string) => new Anthropic({ apiKey: TEST_API_KEY, baseURL: gw.url, maxRetries: 0, defaultHeaders: { 'X-Task-ID': task } });

  it('answers JSON as the provider does, with the config key upstream and cache reads added to input', async () => {
    const task = newTask('messages-json');
    gw.anthropic.setDefault({ usage: { input: 50, output: 9, cached: 20 } });
    const request = { model: 'claude-sonnet-4-5', max_tokens: 100, system: 'Be brief', messages: [{ role: 'user' as const, content: 'Hi' }] };
    const expected = await new Anthropic({ apiKey: 'sk-ant-direct', baseURL: gw.anthropic.url, maxRetries: 0 }).messages.create(request);
    gw.anthropic.reset();
    gw.anthropic.setDefault({ usage: { input: 50, output: 9, cached: 20 } });
    const answer = await viaAnthropic(task).messages.create(request);
    expect(answer).toEqual(expected);
    expect(gw.anthropic.requests[0].headers['x-api-key']).toBe(ANTHROPIC_CONFIG_KEY);
    expect(gw.anthropic.requests[0].headers['anthropic-version']).toBeDefined();
    const [row] = await gw.callRows(task);
    expect(row).toMatchObject({ GenAIProvider: 'anthropic', InputTokens: 70, OutputTokens: 9 });
    expect(row.SpanAttributes['gen_ai.usage.cache_read.input_tokens']).toBe('20');
    expect(JSON.parse(row.Input)[0]).toEqual({ role: 'system', parts: [{ type: 'text', content: 'Be brief' }] });
  });

  it('streams with usage from message_start and the last message_delta', async () => {
    const task = newTask('messages-sse');
    gw.anthropic.setDefault({ usage: { input: 15, output: 6, cached: 5 }, chunks: ['one', ' two', ' three'] });
    const stream = viaAnthropic(task).messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'count' }] });
    const final = await stream.finalMessage();
    expect(final.content).toEqual([expect.objectContaining({ type: 'text', text: 'one two three' })]);
    const [row] = await gw.callRows(task);
    expect(row).toMatchObject({ InputTokens: 20, OutputTokens: 6 });
    expect(row.SpanAttributes['gen_ai.response.finish_reasons']).toBe('["end_turn"]');
    expect(Number(row.SpanAttributes['tracehouse.proxy.ttft_ms'])).toBeGreaterThan(0);
  });
});

describe('proxy receiver: keys', () => {
  it('refuses a missing or unknown workspace key with 401 in the provider envelope, reaching no provider', async () => {
    const none = await rawPost(gw.url, '/v1/chat/completions', { model: 'x', messages: [] }, {});
    expect(none.status).toBe(401);
    expect(JSON.parse(none.bytes.toString())).toEqual({ error: { message: expect.any(String), type: 'invalid_request_error', param: null, code: 'invalid_api_key' } });
    const wrong = await rawPost(gw.url, '/v1/messages', { model: 'x', messages: [] }, { 'x-api-key': 'nope-nope-nope-nope' });
    expect(wrong.status).toBe(401);
    expect(JSON.parse(wrong.bytes.toString())).toEqual({ type: 'error', error: { type: 'authentication_error', message: 'invalid workspace key' } });
    expect(gw.openai.requests).toHaveLength(0);
    expect(gw.anthropic.requests).toHaveLength(0);
  });

  it("forwards the caller's own provider key untouched with X-API-Key, and stores or logs no provider key", async () => {
    const task = newTask('own-key');
    const callerKey = 'sk-caller-own-provider-key-7777';
    const res = await rawPost(gw.url, '/v1/chat/completions', { model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }, { 'x-api-key': TEST_API_KEY, authorization: `Bearer ${callerKey}`, 'x-task-id': task });
    expect(res.status).toBe(200);
    expect(gw.openai.requests[0].headers.authorization).toBe(`Bearer ${callerKey}`);
    expect(gw.openai.requests[0].headers['x-api-key']).toBeUndefined();
    await gw.callRows(task);
    const stored = JSON.stringify(await waitFor('all rows', () => gw.allRows(task, 1)));
    for (const secret of [callerKey, OPENAI_CONFIG_KEY, BACKUP_CONFIG_KEY, ANTHROPIC_CONFIG_KEY, TEST_API_KEY]) {
      expect(stored).not.toContain(secret);
      expect(gw.logs.join('\n')).not.toContain(secret);
    }
  });

  it("takes an Anthropic caller's own key as Bearer beside X-API-Key and hands it to Anthropic as x-api-key", async () => {
    const task = newTask('own-anthropic-key');
    const callerKey = 'sk-ant-api03-caller-own-key-8888';
    const res = await rawPost(gw.url, '/v1/messages', { model: 'claude-sonnet-4', max_tokens: 16, messages: [{ role: 'user', content: 'x' }] }, { 'x-api-key': TEST_API_KEY, authorization: `Bearer ${callerKey}`, 'anthropic-version': '2023-06-01', 'x-task-id': task });
    expect(res.status).toBe(200);
    expect(gw.anthropic.requests[0].headers['x-api-key']).toBe(callerKey);
    expect(gw.anthropic.requests[0].headers.authorization).toBeUndefined();
    const stored = JSON.stringify(await waitFor('all rows', () => gw.allRows(task, 1)));
    expect(stored).not.toContain(callerKey);
    expect(gw.logs.join('\n')).not.toContain(callerKey);
  });

  it('applies the workspace rate limit with 429, Retry-After and X-RateLimit-* in the OpenAI envelope', async () => {
    // The limit is 2 per minute: whatever earlier tests spent, the third call from here is over it.
    for (const input of ['a', 'b']) await rawPost(gw.url, '/v1/embeddings', { model: 'e', input }, { authorization: `Bearer ${TEST_API_KEY}` });
    const res = await rawPost(gw.url, '/v1/embeddings', { model: 'e', input: 'c' }, { authorization: `Bearer ${TEST_API_KEY}` });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(res.headers.get('x-ratelimit-limit')).toBe('2');
    expect(JSON.parse(res.bytes.toString()).error.code).toBe('rate_limit_exceeded');
  });
});
