import OpenAI from 'openai';
import { FakeLlmProvider } from '../support/fake-llm-provider';
import { waitFor } from '../support/wait';

/** The fake provider driven by the real `openai` SDK: if the SDK parses it, a gateway can rely on it. */
describe('fake LLM provider, through the openai SDK', () => {
  let fake: FakeLlmProvider;
  let client: OpenAI;

  beforeAll(async () => {
    fake = await FakeLlmProvider.start();
    client = new OpenAI({ apiKey: 'sk-test', baseURL: `${fake.url}/v1`, maxRetries: 0 });
  });
  afterEach(() => fake.reset());
  afterAll(() => fake.close());

  const messages = [{ role: 'user' as const, content: 'Say hello' }];

  test('chat completion as JSON: content, finish reason, usage details, request id; the request is recorded', async () => {
    fake.enqueue({ chunks: ['Hi', ' there'], usage: { input: 30, output: 9, cached: 10, reasoning: 4 } });
    const { data, response } = await client.chat.completions.create({ model: 'gpt-4o', messages, temperature: 0 }).withResponse();
    expect(data.id).toBe('chatcmpl-fake-1');
    expect(data.object).toBe('chat.completion');
    expect(data.model).toBe('gpt-4o');
    expect(data.choices[0].message).toMatchObject({ role: 'assistant', content: 'Hi there' });
    expect(data.choices[0].finish_reason).toBe('stop');
    expect(data.usage).toMatchObject({
      prompt_tokens: 30,
      completion_tokens: 9,
      total_tokens: 39,
      prompt_tokens_details: { cached_tokens: 10 },
      completion_tokens_details: { reasoning_tokens: 4 },
    });
    expect(response.headers.get('x-request-id')).toBe('req_fake_1');
    expect(response.headers.get('x-ratelimit-remaining-requests')).toBe('9999');

    expect(fake.requests).toHaveLength(1);
    const [req] = fake.requests;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/v1/chat/completions');
    expect(req.headers.authorization).toBe('Bearer sk-test');
    expect(req.headers['content-type']).toContain('application/json');
    expect(req.body).toMatchObject({ model: 'gpt-4o', messages, temperature: 0 });
    expect(JSON.parse(req.raw)).toEqual(req.body);
    expect(req.finishedAt).toBeGreaterThanOrEqual(req.startedAt);
    expect(req.abortedAt).toBeUndefined();
  });

  test('chat completion streamed without include_usage: the deltas in order, the finish reason, no usage chunk', async () => {
    fake.enqueue({ chunks: ['One', ' two', ' three'], finishReason: 'length' });
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe('One two three');
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    expect(chunks.every((c) => c.id === 'chatcmpl-fake-1' && c.object === 'chat.completion.chunk')).toBe(true);
    expect(chunks.at(-1)!.choices[0].finish_reason).toBe('length');
    expect(chunks.some((c) => c.usage)).toBe(false);
    expect(chunks.some((c) => c.choices.length === 0)).toBe(false);
    expect(fake.requests[0].body.stream).toBe(true);
    expect(fake.requests[0].chunksSent).toBe(3);
  });

  test('chat completion streamed with include_usage: a last chunk with no choices carries the usage', async () => {
    fake.enqueue({ chunks: ['a', 'b'], usage: { input: 21, output: 2, cached: 5 } });
    const stream = await client.chat.completions.create({
      model: 'gpt-4o',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({ prompt_tokens: 21, completion_tokens: 2, total_tokens: 23, prompt_tokens_details: { cached_tokens: 5 } });
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    expect(chunks.at(-2)!.choices[0].finish_reason).toBe('stop');
  });

  test('tool-call deltas by index are assembled by the SDK into whole calls', async () => {
    const weather = JSON.stringify({ city: 'Paris', unit: 'celsius' });
    const time = JSON.stringify({ tz: 'Europe/Paris' });
    fake.enqueue({ toolCalls: [{ name: 'get_weather', arguments: weather }, { name: 'get_time', arguments: time }] });
    const stream = client.chat.completions.stream({
      model: 'gpt-4o',
      messages,
      tools: [
        { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } },
        { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: {} } } },
      ],
    });
    const final = await stream.finalChatCompletion();
    const choice = final.choices[0];
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBeNull();
    const calls = choice.message.tool_calls!.map((c) => (c.type === 'function' ? [c.id, c.function.name, c.function.arguments] : []));
    expect(calls).toEqual([
      ['call_fake_1_0', 'get_weather', weather],
      ['call_fake_1_1', 'get_time', time],
    ]);
    // The arguments really came in several deltas (8 characters each).
    expect(fake.requests[0].chunksSent).toBe(Math.ceil(weather.length / 8) + Math.ceil(time.length / 8));
  });

  test('responses as JSON: output text and usage with cached and reasoning tokens', async () => {
    fake.enqueue({ chunks: ['Bonjour', '!'], usage: { input: 40, output: 12, cached: 32, reasoning: 6 } });
    const res = await client.responses.create({ model: 'gpt-4.1', input: 'Say hello in French', instructions: 'Be brief' });
    expect(res.id).toBe('resp_fake_1');
    expect(res.status).toBe('completed');
    expect(res.output_text).toBe('Bonjour!');
    expect(res.instructions).toBe('Be brief');
    expect(res.usage).toEqual({
      input_tokens: 40,
      input_tokens_details: { cached_tokens: 32 },
      output_tokens: 12,
      output_tokens_details: { reasoning_tokens: 6 },
      total_tokens: 52,
    });
    expect(fake.requests[0].path).toBe('/v1/responses');
  });

  test('responses streamed: the SDK follows every event and its final response carries the usage', async () => {
    fake.enqueue({ chunks: ['Hel', 'lo'], usage: { input: 8, output: 2, cached: 0, reasoning: 1 } });
    const stream = client.responses.stream({ model: 'gpt-4.1', input: 'hi' });
    const types: string[] = [];
    const deltas: string[] = [];
    stream.on('event', (e) => types.push(e.type));
    stream.on('response.output_text.delta', (e) => deltas.push(e.delta));
    const final = await stream.finalResponse();
    expect(final.output_text).toBe('Hello');
    expect(final.status).toBe('completed');
    expect(final.usage).toMatchObject({ input_tokens: 8, output_tokens: 2, output_tokens_details: { reasoning_tokens: 1 }, total_tokens: 10 });
    expect(deltas).toEqual(['Hel', 'lo']);
    expect(types).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
  });

  test('responses streamed with a function call, cut short: response.incomplete, arguments assembled', async () => {
    const args = JSON.stringify({ query: 'tracehouse' });
    fake.enqueue({ chunks: ['Searching'], toolCalls: [{ name: 'search', arguments: args }], finishReason: 'length' });
    const stream = await client.responses.create({ model: 'gpt-4.1', input: 'find it', stream: true });
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    const argDeltas = events.filter((e) => e.type === 'response.function_call_arguments.delta');
    expect(argDeltas.map((e) => (e.type === 'response.function_call_arguments.delta' ? e.delta : '')).join('')).toBe(args);
    expect(argDeltas.length).toBeGreaterThan(1);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const last = events.at(-1)!;
    expect(last.type).toBe('response.incomplete');
    if (last.type !== 'response.incomplete') throw new Error('unreachable');
    expect(last.response.incomplete_details).toEqual({ reason: 'max_output_tokens' });
    expect(last.response.output.map((o) => o.type)).toEqual(['message', 'function_call']);
    const call = last.response.output[1];
    expect(call.type === 'function_call' && [call.name, call.arguments, call.call_id]).toEqual(['search', args, 'call_fake_1_0']);
  });

  test('a failed response ends with response.failed carrying the error and the usage', async () => {
    fake.enqueue({ chunks: ['x'], finishReason: 'failed', errorMessage: 'model crashed', usage: { input: 3, output: 1 } });
    const stream = await client.responses.create({ model: 'gpt-4.1', input: 'x', stream: true });
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    const last = events.at(-1)!;
    expect(last.type).toBe('response.failed');
    if (last.type !== 'response.failed') throw new Error('unreachable');
    expect(last.response.error).toEqual({ code: 'server_error', message: 'model crashed' });
    expect(last.response.usage).toMatchObject({ input_tokens: 3, output_tokens: 1 });
  });

  test('legacy completions, as JSON and streamed with usage', async () => {
    fake.enqueue({ chunks: ['4'], usage: { input: 5, output: 1 } }, { chunks: ['fo', 'ur'], usage: { input: 5, output: 2 } });
    const json = await client.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: '2+2=' });
    expect(json.id).toBe('cmpl-fake-1');
    expect(json.object).toBe('text_completion');
    expect(json.choices[0]).toMatchObject({ text: '4', finish_reason: 'stop', index: 0 });
    expect(json.usage).toEqual({ prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 });

    const stream = await client.completions.create({
      model: 'gpt-3.5-turbo-instruct',
      prompt: '2+2=',
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.Completions.Completion[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.map((c) => c.choices[0]?.text ?? '').join('')).toBe('four');
    expect(chunks.at(-2)!.choices[0].finish_reason).toBe('stop');
    expect(chunks.at(-1)!.choices).toEqual([]);
    expect(chunks.at(-1)!.usage).toEqual({ prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 });
  });

  test('embeddings: the SDK decodes its default base64 answer into the same vectors as the float answer', async () => {
    fake.setDefault({ usage: { input: 7, output: 0 } });
    const viaBase64 = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['alpha', 'beta'], dimensions: 16 });
    const viaFloat = await client.embeddings.create({
      model: 'text-embedding-3-small',
      input: ['alpha', 'beta'],
      dimensions: 16,
      encoding_format: 'float',
    });
    expect(fake.requests[0].body.encoding_format).toBe('base64');
    expect(viaBase64.data).toHaveLength(2);
    expect(viaBase64.data[0].embedding).toHaveLength(16);
    expect(viaBase64.data.map((d) => d.embedding)).toEqual(viaFloat.data.map((d) => d.embedding));
    expect(viaFloat.data[0].embedding).not.toEqual(viaFloat.data[1].embedding);
    expect(viaFloat.usage).toEqual({ prompt_tokens: 7, total_tokens: 7 });
    expect(viaFloat.model).toBe('text-embedding-3-small');
  });

  test('models: listed and retrieved; an unknown model is a NotFoundError', async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toContain('gpt-4o');
    expect((await client.models.retrieve('gpt-4o-mini')).object).toBe('model');
    await expect(client.models.retrieve('no-such-model')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /v1/models', 'GET /v1/models/gpt-4o-mini', 'GET /v1/models/no-such-model']);
  });

  test('429 with retry-after is the SDK RateLimitError in the OpenAI envelope, and nothing is retried', async () => {
    fake.enqueue({ status: 429, retryAfter: '7' });
    const err = await client.chat.completions.create({ model: 'gpt-4o', messages }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    const e = err as InstanceType<typeof OpenAI.RateLimitError>;
    expect(e.status).toBe(429);
    expect(e.headers.get('retry-after')).toBe('7');
    expect(e.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(e.requestID).toBe('req_fake_1');
    expect(e.type).toBe('requests');
    expect(e.code).toBe('rate_limit_exceeded');
    expect(fake.requests).toHaveLength(1);
  });

  test('500 and 400 map to the SDK error classes with the message given', async () => {
    fake.enqueue({ status: 500 }, { status: 400, errorMessage: "'messages' must not be empty" });
    await expect(client.chat.completions.create({ model: 'gpt-4o', messages })).rejects.toBeInstanceOf(OpenAI.InternalServerError);
    const err = await client.chat.completions.create({ model: 'gpt-4o', messages }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as Error).message).toContain("'messages' must not be empty");
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).type).toBe('invalid_request_error');
  });

  test('a mid-stream error event surfaces as an APIError after the deltas before it', async () => {
    fake.enqueue({ chunks: ['a', 'b', 'c', 'd'], errorEventAfterChunks: 2, errorMessage: 'upstream overloaded mid-stream' });
    const stream = await client.chat.completions.create({ model: 'gpt-4o', messages, stream: true });
    const seen: string[] = [];
    const err = await (async () => {
      for await (const chunk of stream) seen.push(chunk.choices[0]?.delta.content ?? '');
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as Error).message).toContain('upstream overloaded mid-stream');
    expect(seen.join('')).toBe('ab');
    expect(fake.requests[0].chunksSent).toBe(2);
    expect(fake.requests[0].finishedAt).toBeDefined();
  });

  test('a Responses mid-stream error arrives as an `error` event', async () => {
    fake.enqueue({ chunks: ['a', 'b'], errorEventAfterChunks: 1, errorMessage: 'boom' });
    const stream = await client.responses.create({ model: 'gpt-4.1', input: 'x', stream: true });
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    const last = events.at(-1)!;
    expect(last).toMatchObject({ type: 'error', message: 'boom', code: 'server_error', sequence_number: events.length - 1 });
    expect(events.filter((e) => e.type === 'response.output_text.delta')).toHaveLength(1);
  });

  test('a client abort mid-stream is recorded upstream with abortedAt, and no finishedAt', async () => {
    fake.enqueue({ chunks: ['one', 'two', 'three'], stallAfterChunks: 2 });
    const controller = new AbortController();
    const stream = await client.chat.completions.create({ model: 'gpt-4o', messages, stream: true }, { signal: controller.signal });
    let contentChunks = 0;
    let abortedByClientAt = 0;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) contentChunks += 1;
      if (contentChunks === 2) {
        abortedByClientAt = Date.now();
        controller.abort();
      }
    }
    const req = await waitFor('the abort seen upstream', () => fake.requests[0].abortedAt !== undefined && fake.requests[0]);
    expect(contentChunks).toBe(2);
    expect(req.abortedAt).toBeGreaterThanOrEqual(abortedByClientAt);
    expect(req.finishedAt).toBeUndefined();
    expect(req.droppedAt).toBeUndefined();
    expect(req.chunksSent).toBe(2);
  });

  test('dropAfterChunks breaks the stream for the SDK; dropBeforeHeaders is a connection error; neither is a client abort', async () => {
    // The gap lets the client read 'a' before the connection breaks (the drop comes when 'b' was due).
    fake.enqueue({ chunks: ['a', 'b', 'c'], dropAfterChunks: 1, chunkGapMs: 50 }, { dropBeforeHeaders: true });
    const stream = await client.chat.completions.create({ model: 'gpt-4o', messages, stream: true });
    const seen: string[] = [];
    const err = await (async () => {
      for await (const chunk of stream) seen.push(chunk.choices[0]?.delta.content ?? '');
    })().catch((e: unknown) => e);
    // undici's TypeError('terminated') comes from another realm than jest's, so match on the message.
    expect(String((err as Error | undefined)?.message)).toMatch(/terminated|other side closed|ECONNRESET/);
    expect(seen.join('')).toBe('a');

    await expect(client.chat.completions.create({ model: 'gpt-4o', messages })).rejects.toBeInstanceOf(OpenAI.APIConnectionError);
    const [dropped, droppedEarly] = fake.requests;
    expect(dropped.droppedAt).toBeDefined();
    expect(dropped.abortedAt).toBeUndefined();
    expect(dropped.status).toBe(200);
    expect(droppedEarly.droppedAt).toBeDefined();
    expect(droppedEarly.status).toBeUndefined();
    expect(droppedEarly.abortedAt).toBeUndefined();
  });
});
