import Anthropic from '@anthropic-ai/sdk';
import { FakeLlmProvider } from '../support/fake-llm-provider';
import { waitFor } from '../support/wait';

/** The fake provider driven by the real `@anthropic-ai/sdk`: the Messages API, JSON and SSE. */
describe('fake LLM provider, through the Anthropic SDK', () => {
  let fake: FakeLlmProvider;
  let client: Anthropic;

  beforeAll(async () => {
    fake = await FakeLlmProvider.start();
    client = new Anthropic({ apiKey: 'sk-ant-test', baseURL: fake.url, maxRetries: 0 });
  });
  afterEach(() => fake.reset());
  afterAll(() => fake.close());

  const params = { model: 'claude-sonnet-4-5', max_tokens: 256, messages: [{ role: 'user' as const, content: 'Say hello' }] };

  test('a message as JSON: text, stop reason, usage with cache reads, request-id; the request is recorded', async () => {
    fake.enqueue({ chunks: ['Hello', ' there'], usage: { input: 25, output: 6, cached: 100 } });
    const { data, response } = await client.messages.create(params).withResponse();
    expect(data.id).toBe('msg_fake_1');
    expect(data.type).toBe('message');
    expect(data.role).toBe('assistant');
    expect(data.model).toBe('claude-sonnet-4-5');
    expect(data.content).toEqual([{ type: 'text', text: 'Hello there' }]);
    expect(data.stop_reason).toBe('end_turn');
    expect(data.usage).toMatchObject({ input_tokens: 25, output_tokens: 6, cache_read_input_tokens: 100, cache_creation_input_tokens: 0 });
    expect(response.headers.get('request-id')).toBe('req_fake_1');

    const [req] = fake.requests;
    expect(req.path).toBe('/v1/messages');
    // @anthropic-ai/sdk 1.x sends an apiKey as a bearer token (0.x sent x-api-key).
    expect(req.headers.authorization).toBe('Bearer sk-ant-test');
    expect(req.headers['anthropic-version']).toBeDefined();
    expect(req.body).toMatchObject(params);
  });

  test('a streamed message: finalMessage() assembles the text and the usage from message_start and message_delta', async () => {
    fake.enqueue({ chunks: ['Bon', 'jour', '!'], usage: { input: 40, output: 17, cached: 8 }, finishReason: 'length' });
    const stream = client.messages.stream(params);
    const texts: string[] = [];
    stream.on('text', (t) => texts.push(t));
    const final = await stream.finalMessage();
    expect(texts).toEqual(['Bon', 'jour', '!']);
    expect(final.content).toEqual([{ type: 'text', text: 'Bonjour!' }]);
    expect(final.stop_reason).toBe('max_tokens');
    expect(final.usage).toMatchObject({ input_tokens: 40, output_tokens: 17, cache_read_input_tokens: 8 });
    expect(fake.requests[0].body.stream).toBe(true);
    expect(fake.requests[0].chunksSent).toBe(3);
  });

  test('the raw event sequence of a stream, with a tool_use block whose input_json_delta pieces the SDK assembles', async () => {
    const input = { city: 'Paris', days: 3 };
    fake.enqueue({ chunks: ['Let me check.'], toolCalls: [{ name: 'forecast', arguments: JSON.stringify(input) }] });
    const stream = client.messages.stream({ ...params, tools: [{ name: 'forecast', input_schema: { type: 'object' } }] });
    const types: string[] = [];
    stream.on('streamEvent', (e) => types.push(e.type === 'content_block_delta' ? `${e.type}:${e.delta.type}` : e.type));
    const final = await stream.finalMessage();
    expect(final.stop_reason).toBe('tool_use');
    expect(final.content).toEqual([
      { type: 'text', text: 'Let me check.' },
      { type: 'tool_use', id: 'toolu_fake_1_0', name: 'forecast', input },
    ]);
    const jsonDeltas = types.filter((t) => t === 'content_block_delta:input_json_delta').length;
    expect(jsonDeltas).toBe(Math.ceil(JSON.stringify(input).length / 8));
    expect(types[0]).toBe('message_start');
    expect(types.slice(-2)).toEqual(['message_delta', 'message_stop']);
    expect(types.filter((t) => t === 'content_block_start')).toHaveLength(2);
    expect(types.filter((t) => t === 'content_block_stop')).toHaveLength(2);
  });

  test('a tool_use answer as JSON carries the parsed input', async () => {
    fake.enqueue({ toolCalls: [{ name: 'lookup', arguments: '{"id":42}' }] });
    const msg = await client.messages.create(params);
    expect(msg.content).toEqual([{ type: 'tool_use', id: 'toolu_fake_1_0', name: 'lookup', input: { id: 42 } }]);
    expect(msg.stop_reason).toBe('tool_use');
  });

  test('429 with retry-after is the SDK RateLimitError in the Anthropic envelope; 529 is OverloadedError', async () => {
    fake.enqueue({ status: 429, retryAfter: '12' }, { status: 529 });
    const err = await client.messages.create(params).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.RateLimitError);
    const e = err as InstanceType<typeof Anthropic.RateLimitError>;
    expect(e.status).toBe(429);
    expect(e.headers?.get('retry-after')).toBe('12');
    expect(e.requestID).toBe('req_fake_1');
    expect(e.error).toEqual({ type: 'error', error: { type: 'rate_limit_error', message: expect.any(String) } });
    await expect(client.messages.create(params)).rejects.toBeInstanceOf(Anthropic.OverloadedError);
    expect(fake.requests).toHaveLength(2);
  });

  test('a mid-stream `event: error` surfaces as an APIError after the deltas before it', async () => {
    fake.enqueue({ chunks: ['a', 'b', 'c'], errorEventAfterChunks: 2, errorMessage: 'Overloaded right now' });
    const stream = client.messages.stream(params);
    const texts: string[] = [];
    stream.on('text', (t) => texts.push(t));
    const err = await stream.finalMessage().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect((err as InstanceType<typeof Anthropic.APIError>).error).toEqual({
      type: 'error',
      error: { type: 'overloaded_error', message: 'Overloaded right now' },
    });
    expect(texts).toEqual(['a', 'b']);
  });

  test('aborting the stream is recorded upstream as a client abort', async () => {
    fake.enqueue({ chunks: ['x', 'y', 'z'], stallAfterChunks: 1 });
    const stream = client.messages.stream(params);
    const first = await new Promise<string>((resolve) => stream.on('text', resolve));
    const abortedByClientAt = Date.now();
    stream.abort();
    await stream.done().catch(() => undefined);
    const req = await waitFor('the abort seen upstream', () => fake.requests[0].abortedAt !== undefined && fake.requests[0]);
    expect(first).toBe('x');
    expect(req.abortedAt).toBeGreaterThanOrEqual(abortedByClientAt);
    expect(req.finishedAt).toBeUndefined();
    expect(req.chunksSent).toBe(1);
  });
});
