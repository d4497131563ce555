import { FakeLlmProvider } from '../support/fake-llm-provider';
import { waitFor } from '../support/wait';

/** The bytes on the wire and the behaviour knobs, checked with plain fetch. */
describe('fake LLM provider: wire format and knobs', () => {
  let fake: FakeLlmProvider;

  beforeAll(async () => {
    fake = await FakeLlmProvider.start();
  });
  afterEach(() => fake.reset());
  afterAll(() => fake.close());

  const post = (path: string, body: unknown, init: RequestInit = {}) =>
    fetch(`${fake.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), ...init });
  // Typed loosely on purpose: these tests read the answers field by field.
  const json = (res: Response): Promise<any> => res.json();
  const chat = { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] };

  test('the same scenario gives the same bytes and headers (fixed created, ids by request number, no Date)', async () => {
    const run = async () => {
      const res = await post('/v1/chat/completions', { ...chat, stream: true, stream_options: { include_usage: true } });
      return { headers: [...res.headers.entries()], body: await res.text() };
    };
    fake.setDefault({ chunks: ['a', 'b'], toolCalls: [{ name: 'f', arguments: '{"x":1}' }] });
    const first = await run();
    fake.reset();
    fake.setDefault({ chunks: ['a', 'b'], toolCalls: [{ name: 'f', arguments: '{"x":1}' }] });
    const second = await run();
    expect(second).toEqual(first);
    expect(first.headers.map(([k]) => k)).not.toContain('date');
    expect(first.body).toContain('"created":1700000000');
    expect(first.body).toContain('"id":"chatcmpl-fake-1"');

    fake.enqueue({ created: 1234 });
    const third = await post('/v1/chat/completions', chat).then(json);
    expect(third.created).toBe(1234);
    expect(third.id).toBe('chatcmpl-fake-2');
  });

  test('OpenAI chat SSE: `data: {...}\\n\\n` frames ending with `data: [DONE]`', async () => {
    fake.enqueue({ chunks: ['x', 'y'] });
    const res = await post('/v1/chat/completions', { ...chat, stream: true });
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(res.headers.get('x-request-id')).toBe('req_fake_1');
    const text = await res.text();
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    const frames = text.split('\n\n').filter(Boolean);
    expect(frames.every((f) => f.startsWith('data: ') && !f.includes('\n'))).toBe(true);
    const payloads = frames.slice(0, -1).map((f) => JSON.parse(f.slice('data: '.length)));
    expect(payloads.map((p) => p.choices[0].delta)).toEqual([
      { role: 'assistant', content: '', refusal: null },
      { content: 'x' },
      { content: 'y' },
      {},
    ]);
    expect(payloads.map((p) => p.choices[0].finish_reason)).toEqual([null, null, null, 'stop']);
  });

  test('Responses SSE: event/data pairs numbered from 0, no [DONE]', async () => {
    fake.enqueue({ chunks: ['x'] });
    const text = await post('/v1/responses', { model: 'gpt-4.1', input: 'hi', stream: true }).then((r) => r.text());
    expect(text).not.toContain('[DONE]');
    const frames = text.split('\n\n').filter(Boolean).map((f) => f.split('\n'));
    expect(frames.every((lines) => lines.length === 2 && lines[0].startsWith('event: ') && lines[1].startsWith('data: '))).toBe(true);
    const events = frames.map(([e, d]) => ({ event: e.slice(7), data: JSON.parse(d.slice(6)) }));
    expect(events.every(({ event, data }) => event === data.type)).toBe(true);
    expect(events.map(({ data }) => data.sequence_number)).toEqual(events.map((_, i) => i));
    expect(events.at(-1)!.data.response.usage).toEqual({
      input_tokens: 12,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: 1,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 13,
    });
  });

  test('Anthropic SSE: event names in order, ping included, request-id header', async () => {
    fake.enqueue({ chunks: ['x', 'y'], usage: { input: 9, output: 2, cached: 3 } });
    const res = await post('/v1/messages', { model: 'claude-haiku-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }], stream: true });
    expect(res.headers.get('request-id')).toBe('req_fake_1');
    const frames = (await res.text()).split('\n\n').filter(Boolean).map((f) => f.split('\n'));
    const names = frames.map(([e]) => e.slice('event: '.length));
    expect(names).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    const data = frames.map(([, d]) => JSON.parse(d.slice('data: '.length)));
    expect(data[0].message.usage).toEqual({ input_tokens: 9, cache_creation_input_tokens: 0, cache_read_input_tokens: 3, output_tokens: 1 });
    expect(data[6]).toEqual({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 2 } });
  });

  test('error envelopes: OpenAI and Anthropic shapes, retry-after, unknown routes and unparsable bodies', async () => {
    fake.enqueue({ status: 503, retryAfter: '3' }, { status: 400, errorMessage: 'bad max_tokens' });
    const openaiErr = await post('/v1/chat/completions', chat);
    expect(openaiErr.status).toBe(503);
    expect(openaiErr.headers.get('retry-after')).toBe('3');
    expect(await openaiErr.json()).toEqual({
      error: { message: 'The engine is currently overloaded, please try again later', type: 'server_error', param: null, code: null },
    });
    const anthropicErr = await post('/v1/messages', { model: 'm', max_tokens: 1, messages: [] });
    expect(anthropicErr.status).toBe(400);
    expect(await anthropicErr.json()).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: 'bad max_tokens' } });

    const notFound = await post('/v1/nope', {});
    expect(notFound.status).toBe(404);
    expect(await notFound.json()).toEqual({ error: { message: 'Invalid URL (POST /v1/nope)', type: 'invalid_request_error', param: null, code: null } });
    const badJson = await fetch(`${fake.url}/v1/chat/completions`, { method: 'POST', body: '{"model":' });
    expect(badJson.status).toBe(400);
    expect((await json(badJson)).error.type).toBe('invalid_request_error');
    expect(fake.requests.at(-1)!.raw).toBe('{"model":');
    expect(fake.requests.at(-1)!.body).toBeUndefined();
  });

  test('the queue is used in order, each entry merged over the default; then the default alone', async () => {
    fake.setDefault({ chunks: ['default'], model: 'pinned-model' });
    fake.enqueue({ chunks: ['first'] }, { chunks: ['second'], model: 'other' });
    const answers: any[] = [];
    for (let i = 0; i < 3; i++) answers.push(await post('/v1/chat/completions', chat).then(json));
    expect(answers.map((a) => [a.choices[0].message.content, a.model])).toEqual([
      ['first', 'pinned-model'],
      ['second', 'other'],
      ['default', 'pinned-model'],
    ]);
    fake.reset();
    const afterReset = await post('/v1/chat/completions', chat).then(json);
    expect(afterReset.model).toBe('gpt-4o');
    expect(afterReset.choices[0].message.content).toBe('Hello from the fake provider.');
  });

  test('an abort during latencyMs is recorded before any status was sent', async () => {
    fake.enqueue({ latencyMs: 10_000 });
    const controller = new AbortController();
    const pending = post('/v1/chat/completions', chat, { signal: controller.signal }).catch((e: unknown) => e);
    await waitFor('the request recorded with its body', () => fake.requests[0]?.body !== undefined);
    controller.abort();
    await pending;
    const req = await waitFor('the abort seen upstream', () => fake.requests[0].abortedAt !== undefined && fake.requests[0]);
    expect(req.status).toBeUndefined();
    expect(req.finishedAt).toBeUndefined();
  });

  test('ttftMs holds the first delta back after the headers; an abort then leaves chunksSent at 0', async () => {
    fake.enqueue({ ttftMs: 10_000 });
    const controller = new AbortController();
    const res = await post('/v1/chat/completions', { ...chat, stream: true }, { signal: controller.signal });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const { value } = await reader.read();
    expect(new TextDecoder().decode(value)).toContain('"role":"assistant"');
    controller.abort();
    const req = await waitFor('the abort seen upstream', () => fake.requests[0].abortedAt !== undefined && fake.requests[0]);
    expect(req.status).toBe(200);
    expect(req.chunksSent).toBe(0);
  });

  test('a stalled stream stays open until close(), which is not recorded as a client abort', async () => {
    const other = await FakeLlmProvider.start({ chunks: ['p', 'q'], stallAfterChunks: 1 });
    const res = await fetch(`${other.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ ...chat, stream: true }) });
    const reader = res.body!.getReader();
    let seen = '';
    while (!seen.includes('"content":"p"')) seen += new TextDecoder().decode((await reader.read()).value);
    await waitFor('the first delta counted', () => other.requests[0].chunksSent === 1);
    expect(other.requests[0].finishedAt).toBeUndefined();
    await other.close();
    await expect(reader.read()).rejects.toBeDefined();
    expect(other.requests[0].abortedAt).toBeUndefined();
    expect(other.requests[0].finishedAt).toBeUndefined();
    expect(seen).not.toContain('"content":"q"');
  });

  test('JSON answers honour stall and drop after the headers', async () => {
    fake.enqueue({ dropAfterChunks: 0 });
    const res = await post('/v1/chat/completions', chat);
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toBeDefined();
    expect(fake.requests[0].droppedAt).toBeDefined();
    expect(fake.requests[0].abortedAt).toBeUndefined();
  });
});
