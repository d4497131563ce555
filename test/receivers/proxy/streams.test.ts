/**
 * Streams through the gateway compared with the same streams taken from the fake provider
 * directly: completions (usage added and taken out again), the Bifrost route streaming, Anthropic
 * Messages byte for byte, tool calls assembled on the span, usage of cut streams marked estimated,
 * and the bounded hold before the first content delta.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { TEST_API_KEY } from '../../support/daemon';
import { rawPost, startGateway } from './proxy-daemon';
import type { Gateway } from './proxy-daemon';

let gw: Gateway;
let taskCounter = 0;
const newTask = (name: string) => `st-${name}-${++taskCounter}`;

const viaGateway = (task: string) => new OpenAI({ apiKey: TEST_API_KEY, baseURL: `${gw.url}/v1`, maxRetries: 0, defaultHeaders: { 'X-Task-ID': task } });
const direct = () => new OpenAI({ apiKey: 'sk-direct', baseURL: `${gw.openai.url}/v1`, maxRetries: 0 });

beforeAll(async () => {
  gw = await startGateway({ failover: '{ backoff_initial_ms: 1, backoff_max_ms: 5, max_retry_wait_ms: 50, max_hold_ms: 200 }' });
});
afterAll(() => gw.stop());
beforeEach(() => {
  gw.openai.reset();
  gw.backup.reset();
  gw.anthropic.reset();
});


/** Reads a response body until it ends or breaks off; the bytes that arrived. */
async function readAll(res: Response): Promise<Buffer> {
  const parts: Buffer[] = [];
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(Buffer.from(value));
    }
  } catch {
    // cut by the gateway: what arrived is what counts
  }
  return Buffer.concat(parts);
}

/** Runs `call` against the fake directly and through the gateway with the same behaviour. */
async function both<T>(provider: 'openai' | 'anthropic', behaviour: Parameters<Gateway['openai']['setDefault']>[0], call: (viaDirect: boolean) => Promise<T>): Promise<[T, T]> {
  const fake = gw[provider];
  fake.setDefault(behaviour);
  const expected = await call(true);
  fake.reset();
  fake.setDefault(behaviour);
  const got = await call(false);
  return [expected, got];
}

describe('proxy receiver: streamed completions', () => {
  it('adds include_usage upstream, gives the client the stream as the provider sends it without it, and records exact tokens', async () => {
    const task = newTask('completions-sse');
    const request = { model: 'gpt-3.5-turbo-instruct', prompt: 'Once upon', stream: true };
    const behaviour = { usage: { input: 17, output: 6 } };
    const [expected, got] = await both('openai', behaviour, (d) => rawPost(d ? gw.openai.url : gw.url, '/v1/completions', request, { authorization: d ? 'Bearer sk-direct' : `Bearer ${TEST_API_KEY}`, 'x-task-id': task }));
    expect(expected.bytes.toString()).not.toContain('"usage"');
    expect(got.status).toBe(200);
    expect(got.bytes.equals(expected.bytes)).toBe(true);
    expect(gw.openai.requests[0].body.stream_options).toEqual({ include_usage: true });
    const [row] = await gw.callRows(task);
    expect(row).toMatchObject({ GenAIOperation: 'text_completion', InputTokens: 17, OutputTokens: 6 });
    expect(row.SpanAttributes['tracehouse.usage.estimated']).toBeUndefined();
  });

  it('streams completions through the openai SDK as the provider does', async () => {
    const task = newTask('completions-sdk');
    const collect = async (client: OpenAI) => {
      const chunks: unknown[] = [];
      for await (const chunk of await client.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Once', stream: true })) chunks.push(chunk);
      return chunks;
    };
    const [expected, got] = await both('openai', { usage: { input: 3, output: 6 } }, (d) => collect(d ? direct() : viaGateway(task)));
    expect(got).toEqual(expected);
    const [row] = await gw.callRows(task);
    expect(row).toMatchObject({ InputTokens: 3, OutputTokens: 6 });
  });
});

describe('proxy receiver: JSON answers identical to the provider', () => {
  it('answers completions and embeddings exactly as the provider does', async () => {
    const task = newTask('json-identical');
    const [c1, c2] = await both('openai', {}, (d) => (d ? direct() : viaGateway(task)).completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Once' }));
    expect(c2).toEqual(c1);
    const [e1, e2] = await both('openai', {}, (d) => (d ? direct() : viaGateway(task)).embeddings.create({ model: 'text-embedding-3-small', input: ['one', 'two'] }));
    expect(e2).toEqual(e1);
    const rows = await gw.callRows(task, 2);
    const embeddings = rows.find((r) => r.GenAIOperation === 'embeddings');
    expect(embeddings?.InputTokens).toBe(e1.usage.prompt_tokens);
  });
});

describe('proxy receiver: Responses streams', () => {
  it('streams the Bifrost route byte-identical to the provider, with usage from the terminal event', async () => {
    const task = newTask('bifrost-sse');
    const request = { model: 'gpt-4o', input: 'stream me', stream: true };
    const [expected, got] = await both('openai', { usage: { input: 9, output: 6 } }, (d) =>
      d ? rawPost(gw.openai.url, '/v1/responses', request, { authorization: 'Bearer sk-direct' }) : rawPost(gw.url, '/api/proxy/openai/responses', request, { 'x-api-key': TEST_API_KEY, 'x-task-id': task }),
    );
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toContain('text/event-stream');
    expect(got.bytes.equals(expected.bytes)).toBe(true);
    expect(gw.openai.requests[0].path).toBe('/v1/responses');
    const [row] = await gw.callRows(task);
    expect(row).toMatchObject({ InputTokens: 9, OutputTokens: 6 });
    expect(row.SpanAttributes['gen_ai.response.finish_reasons']).toBe('["stop"]');
  });

  it('assembles streamed function calls by output item and stores them on the span', async () => {
    const task = newTask('responses-tools');
    const toolCalls = [
      { name: 'get_weather', arguments: '{"city":"Paris"}' },
      { name: 'get_time', arguments: '{"zone":"Europe/Paris"}' },
    ];
    const collect = async (client: OpenAI) => {
      const events: unknown[] = [];
      for await (const event of await client.responses.create({ model: 'gpt-4o', input: 'weather and time?', stream: true })) events.push(event);
      return events;
    };
    const [expected, got] = await both('openai', { toolCalls }, (d) => collect(d ? direct() : viaGateway(task)));
    expect(got).toEqual(expected);
    const [row] = await gw.callRows(task);
    expect(row.SpanAttributes['gen_ai.response.finish_reasons']).toBe('["tool_calls"]');
    const parts = (JSON.parse(row.Output) as { parts: unknown[] }[]).flatMap((m) => m.parts);
    expect(parts).toEqual([
      { type: 'tool_call', id: expect.any(String), name: 'get_weather', arguments: { city: 'Paris' } },
      { type: 'tool_call', id: expect.any(String), name: 'get_time', arguments: { zone: 'Europe/Paris' } },
    ]);
  });
});

describe('proxy receiver: Anthropic streams', () => {
  const anthropicHeaders = (d: boolean, task: string) => ({ 'anthropic-version': '2023-06-01', 'x-api-key': d ? 'sk-ant-direct' : TEST_API_KEY, 'x-task-id': task });

  it('streams /v1/messages byte-identical to the provider', async () => {
    const task = newTask('messages-bytes');
    const request = { model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }], stream: true };
    const [expected, got] = await both('anthropic', { usage: { input: 11, output: 5, cached: 3 } }, (d) => rawPost(d ? gw.anthropic.url : gw.url, '/v1/messages', request, anthropicHeaders(d, task)));
    expect(got.status).toBe(200);
    expect(got.bytes.equals(expected.bytes)).toBe(true);
    const [row] = await gw.callRows(task);
    expect(row).toMatchObject({ InputTokens: 14, OutputTokens: 5 });
  });

  it('assembles streamed tool_use blocks and stores them on the span', async () => {
    const task = newTask('messages-tools');
    const client = (d: boolean) => new Anthropic({ apiKey: d ? 'sk-ant-direct' : TEST_API_KEY, baseURL: d ? gw.anthropic.url : gw.url, maxRetries: 0, defaultHeaders: { 'X-Task-ID': task } });
    const [expected, got] = await both('anthropic', { chunks: ['Let me look.'], toolCalls: [{ name: 'lookup', arguments: '{"q":"tracehouse","limit":3}' }] }, (d) =>
      client(d).messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'find it' }] }).finalMessage(),
    );
    expect(got).toEqual(expected);
    const [row] = await gw.callRows(task);
    expect(row.SpanAttributes['gen_ai.response.finish_reasons']).toBe('["tool_use"]');
    const [message] = JSON.parse(row.Output);
    expect(message.parts).toEqual([
      { type: 'text', content: 'Let me look.' },
      { type: 'tool_call', id: expect.any(String), name: 'lookup', arguments: { q: 'tracehouse', limit: 3 } },
    ]);
  });

  it('marks usage estimated when the stream is cut after message_start, keeping its input and the larger output', async () => {
    const task = newTask('messages-cut');
    gw.anthropic.setDefault({ usage: { input: 15, output: 3 }, chunks: ['x'.repeat(400), 'y'.repeat(400), 'z'], dropAfterChunks: 2 });
    const res = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...anthropicHeaders(false, task) },
      body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'long' }], stream: true }),
    });
    expect(res.status).toBe(200);
    const bytes = await readAll(res);
    expect(bytes.toString()).toContain('message_start');
    expect(bytes.toString()).not.toContain('message_stop');
    const [row] = await gw.callRows(task);
    // message_start reported input 15 and output 1; 800 characters of output came before the cut.
    expect(row).toMatchObject({ InputTokens: 15, OutputTokens: 200 });
    expect(row.SpanAttributes['tracehouse.usage.estimated']).toBe('true');
    expect(row.SpanAttributes['error.type']).toBe('network');
  });
});

describe('proxy receiver: cut chat streams', () => {
  it('estimates the input of a cut stream from the input text, not the body size', async () => {
    const task = newTask('chat-cut');
    gw.openai.setDefault({ chunks: ['a'.repeat(40), 'b'.repeat(40), 'c'], dropAfterChunks: 2 });
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_API_KEY}`, 'x-task-id': task },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'system', content: 's'.repeat(100) }, { role: 'user', content: 'u'.repeat(300) }], stream: true, temperature: 0.2 }),
    });
    await readAll(res);
    const [row] = await gw.callRows(task);
    expect(row).toMatchObject({ InputTokens: 100, OutputTokens: 20 });
    expect(row.SpanAttributes['tracehouse.usage.estimated']).toBe('true');
  });

  it('keeps the usage of a chat stream cut after its usage chunk exact, not estimated', async () => {
    const task = newTask('chat-cut-after-usage');
    gw.openai.setDefault({ usage: { input: 33, output: 6 }, chunks: ['Hello', ' there'], dropBeforeLastEvent: true });
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_API_KEY}`, 'x-task-id': task },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], stream: true }),
    });
    expect((await readAll(res)).toString()).not.toContain('[DONE]');
    const [row] = await gw.callRows(task);
    expect(row).toMatchObject({ InputTokens: 33, OutputTokens: 6 });
    expect(row.SpanAttributes['tracehouse.usage.estimated']).toBeUndefined();
  });
});

describe('proxy receiver: bounded hold before the first content delta', () => {
  it('sends the headers once max_hold_ms passed while the provider is silent, and the stream stays complete', async () => {
    const task = newTask('hold');
    const request = { model: 'o3', messages: [{ role: 'user', content: 'think hard' }], stream: true };
    gw.openai.setDefault({ ttftMs: 1_500, usage: { input: 8, output: 6 } });
    const expected = await rawPost(gw.openai.url, '/v1/chat/completions', request, { authorization: 'Bearer sk-direct' });
    gw.openai.reset();
    gw.openai.setDefault({ ttftMs: 1_500, usage: { input: 8, output: 6 } });
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_API_KEY}`, 'x-task-id': task },
      body: JSON.stringify(request),
    });
    // The headers are here while the provider has not sent its first delta yet.
    expect(res.status).toBe(200);
    expect(gw.openai.requests[0].chunksSent).toBe(0);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const bytes = await readAll(res);
    expect(bytes.equals(expected.bytes)).toBe(true);
    const [row] = await gw.callRows(task);
    expect(row).toMatchObject({ InputTokens: 8, OutputTokens: 6, StatusCode: 'Ok' });
  });
});
