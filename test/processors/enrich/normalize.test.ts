/**
 * Normalization with attribute sets as the instrumentations emit them: OpenInference
 * (openinference-instrumentation-openai), OpenLLMetry (traceloop-sdk with the OpenAI and Anthropic
 * instrumentations), the Vercel AI SDK's experimental_telemetry, and the OpenAI Agents SDK.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CONVENTIONS, GUARDS } from '../../../processors/enrich/normalize';
import { harness, llmSpan } from './support';

const json = (value: unknown) => JSON.parse(value as string) as unknown;

describe('OpenInference', () => {
  const chat = {
    'openinference.span.kind': 'LLM',
    'llm.system': 'openai',
    'llm.provider': 'openai',
    'llm.model_name': 'gpt-4o-mini-2024-07-18',
    'llm.invocation_parameters': '{"model": "gpt-4o-mini", "temperature": 0.2}',
    'input.value': '{"messages": [{"role": "user", "content": "What is the weather in Paris?"}], "model": "gpt-4o-mini"}',
    'input.mime_type': 'application/json',
    'output.value': '{"id": "chatcmpl-1", "choices": []}',
    'output.mime_type': 'application/json',
    'llm.input_messages.0.message.role': 'system',
    'llm.input_messages.0.message.content': 'You are a weather bot.',
    'llm.input_messages.1.message.role': 'user',
    'llm.input_messages.1.message.content': 'What is the weather in Paris?',
    'llm.output_messages.0.message.role': 'assistant',
    'llm.output_messages.0.message.tool_calls.0.tool_call.id': 'call_abc123',
    'llm.output_messages.0.message.tool_calls.0.tool_call.function.name': 'get_weather',
    'llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments': '{"city": "Paris"}',
    'llm.token_count.prompt': 52n,
    'llm.token_count.completion': 18n,
    'llm.token_count.total': 70n,
    'llm.token_count.prompt_details.cache_read': 0n,
    'session.id': 'sess-42',
    'user.id': 'user-7',
  };

  it('maps an LLM span onto the GenAI attributes and keeps the originals', async () => {
    const out = (await harness().one(llmSpan(chat, { name: 'ChatCompletion' }))).attributes;
    expect(out).toMatchObject({
      ...chat,
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini-2024-07-18',
      'gen_ai.usage.input_tokens': 52n,
      'gen_ai.usage.output_tokens': 18n,
      'gen_ai.usage.total_tokens': 70n,
      'gen_ai.usage.cache_read.input_tokens': 0n,
      'gen_ai.conversation.id': 'sess-42',
      'user.id': 'user-7',
      'tracehouse.cost_status': 'catalog',
    });
    expect(json(out['gen_ai.input.messages'])).toEqual([
      { role: 'system', parts: [{ type: 'text', content: 'You are a weather bot.' }] },
      { role: 'user', parts: [{ type: 'text', content: 'What is the weather in Paris?' }] },
    ]);
    expect(json(out['gen_ai.output.messages'])).toEqual([
      { role: 'assistant', parts: [{ type: 'tool_call', id: 'call_abc123', name: 'get_weather', arguments: { city: 'Paris' } }] },
    ]);
    // gpt-4o-mini: $0.15 in, $0.60 out per million.
    expect(out['tracehouse.cost_usd']).toBeCloseTo((52 * 0.15 + 18 * 0.6) / 1e6, 15);
  });

  it('turns plain-text input.value/output.value of an LLM span into messages, never a JSON payload', async () => {
    const h = harness();
    const plain = await h.one(llmSpan({ 'openinference.span.kind': 'LLM', 'llm.model_name': 'gpt-4o', 'input.value': 'Hi there', 'output.value': 'Hello!' }));
    expect(json(plain.attributes['gen_ai.input.messages'])).toEqual([{ role: 'user', parts: [{ type: 'text', content: 'Hi there' }] }]);
    expect(json(plain.attributes['gen_ai.output.messages'])).toEqual([{ role: 'assistant', parts: [{ type: 'text', content: 'Hello!' }] }]);
    const payload = await h.one(
      llmSpan({ 'openinference.span.kind': 'LLM', 'llm.model_name': 'gpt-4o', 'input.value': '{"messages":[]}', 'input.mime_type': 'application/json' }),
    );
    expect(payload.attributes['gen_ai.input.messages']).toBeUndefined();
  });

  it('maps tool, agent and embedding spans to their operations', async () => {
    const h = harness();
    const tool = await h.one(llmSpan({ 'openinference.span.kind': 'TOOL', 'tool.name': 'get_weather', 'input.value': '{"city": "Paris"}' }));
    expect(tool.attributes).toMatchObject({ 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'get_weather' });
    const agent = await h.one(llmSpan({ 'openinference.span.kind': 'AGENT', 'agent.name': 'planner' }));
    expect(agent.attributes).toMatchObject({ 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'planner' });
    const embedding = await h.one(
      llmSpan({ 'openinference.span.kind': 'EMBEDDING', 'embedding.model_name': 'text-embedding-3-small', 'llm.token_count.prompt': 12n }),
    );
    expect(embedding.attributes).toMatchObject({ 'gen_ai.operation.name': 'embeddings', 'gen_ai.request.model': 'text-embedding-3-small' });
    const chain = await h.one(llmSpan({ 'openinference.span.kind': 'CHAIN', 'input.value': 'q' }));
    expect(chain.attributes['gen_ai.operation.name']).toBeUndefined();
  });
});

describe('OpenLLMetry (traceloop)', () => {
  it('maps an OpenAI chat span: deprecated usage names, indexed prompts and completions, session', async () => {
    const attrs = {
      'llm.request.type': 'chat',
      'gen_ai.system': 'openai',
      'gen_ai.request.model': 'gpt-4o',
      'gen_ai.request.temperature': 0.7,
      'gen_ai.response.model': 'gpt-4o-2024-08-06',
      'gen_ai.response.id': 'chatcmpl-AbC',
      'gen_ai.usage.prompt_tokens': 120n,
      'gen_ai.usage.completion_tokens': 35n,
      'llm.usage.total_tokens': 155n,
      'gen_ai.usage.cache_read_input_tokens': 64n,
      'gen_ai.prompt.0.role': 'system',
      'gen_ai.prompt.0.content': 'You are a support agent.',
      'gen_ai.prompt.1.role': 'user',
      'gen_ai.prompt.1.content': 'Where is my order 7?',
      'gen_ai.completion.0.role': 'assistant',
      'gen_ai.completion.0.content': 'It shipped yesterday.',
      'gen_ai.completion.0.finish_reason': 'stop',
      'llm.is_streaming': false,
      'traceloop.workflow.name': 'support_flow',
      'traceloop.association.properties.session_id': 'conv-9',
    };
    const out = (await harness().one(llmSpan(attrs, { name: 'openai.chat' }))).attributes;
    expect(out).toMatchObject({
      ...attrs,
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.usage.input_tokens': 120n,
      'gen_ai.usage.output_tokens': 35n,
      'gen_ai.usage.total_tokens': 155n,
      'gen_ai.usage.cache_read.input_tokens': 64n,
      'gen_ai.conversation.id': 'conv-9',
    });
    expect(json(out['gen_ai.input.messages'])).toEqual([
      { role: 'system', parts: [{ type: 'text', content: 'You are a support agent.' }] },
      { role: 'user', parts: [{ type: 'text', content: 'Where is my order 7?' }] },
    ]);
    expect(json(out['gen_ai.output.messages'])).toEqual([
      { role: 'assistant', parts: [{ type: 'text', content: 'It shipped yesterday.' }], finish_reason: 'stop' },
    ]);
    // gpt-4o (the dated response model normalizes to it): 56 fresh at $2.50, 64 cached at $1.25, 35 out at $10.
    expect(out['tracehouse.cost_usd']).toBeCloseTo((56 * 2.5 + 64 * 1.25 + 35 * 10) / 1e6, 15);
  });

  it('orders messages by index however the keys come, with tool calls and tool results, skipping keys without an index', async () => {
    const attrs = {
      'llm.request.type': 'chat',
      'gen_ai.system': 'openai',
      'gen_ai.prompt.10.role': 'user',
      'gen_ai.prompt.10.content': 'tenth',
      'gen_ai.prompt.2.role': 'tool',
      'gen_ai.prompt.2.tool_call_id': 'call_1',
      'gen_ai.prompt.2.content': '{"temp": 21}',
      'gen_ai.prompt.0.content': 'first, no role',
      'gen_ai.prompt.1.role': 'assistant',
      'gen_ai.prompt.1.tool_calls.0.id': 'call_1',
      'gen_ai.prompt.1.tool_calls.0.name': 'weather',
      'gen_ai.prompt.1.tool_calls.0.arguments': '{"city": "Paris"}',
      'gen_ai.prompt.x.content': 'not an index',
      'gen_ai.prompt.3': 'no field',
      'gen_ai.completion.0.content': 'done',
    };
    const out = (await harness().one(llmSpan(attrs, { name: 'openai.chat' }))).attributes;
    expect(json(out['gen_ai.input.messages'])).toEqual([
      { role: 'user', parts: [{ type: 'text', content: 'first, no role' }] },
      { role: 'assistant', parts: [{ type: 'tool_call', id: 'call_1', name: 'weather', arguments: { city: 'Paris' } }] },
      { role: 'tool', parts: [{ type: 'tool_call_response', id: 'call_1', response: '{"temp": 21}' }] },
      { role: 'user', parts: [{ type: 'text', content: 'tenth' }] },
    ]);
    expect(json(out['gen_ai.output.messages'])).toEqual([{ role: 'assistant', parts: [{ type: 'text', content: 'done' }] }]);
  });

  it('keeps an Anthropic span whose input already includes the cache, canonicalizing "Anthropic"', async () => {
    // The Anthropic instrumentation reports input_tokens = fresh + cache reads + cache writes.
    const out = (
      await harness().one(
        llmSpan(
          {
            'llm.request.type': 'chat',
            'gen_ai.system': 'Anthropic',
            'gen_ai.request.model': 'claude-3-5-sonnet-20241022',
            'gen_ai.response.model': 'claude-3-5-sonnet-20241022',
            'gen_ai.usage.input_tokens': 2200n,
            'gen_ai.usage.output_tokens': 150n,
            'llm.usage.total_tokens': 2350n,
            'gen_ai.usage.cache_read_input_tokens': 2000n,
            'gen_ai.usage.cache_creation_input_tokens': 0n,
            'gen_ai.prompt.0.role': 'user',
            'gen_ai.prompt.0.content': 'Summarize the attached contract.',
          },
          { name: 'anthropic.chat' },
        ),
      )
    ).attributes;
    expect(out).toMatchObject({
      'gen_ai.provider.name': 'anthropic',
      'gen_ai.usage.input_tokens': 2200n,
      'gen_ai.usage.cache_read.input_tokens': 2000n,
      'gen_ai.usage.cache_creation.input_tokens': 0n,
      'gen_ai.usage.total_tokens': 2350n,
    });
    expect(out['tracehouse.cost_usd']).toBeCloseTo((200 * 3 + 2000 * 0.3 + 150 * 15) / 1e6, 15);
  });

  it('maps agent and tool spans by traceloop.span.kind', async () => {
    const h = harness();
    const agent = await h.one(llmSpan({ 'traceloop.span.kind': 'agent', 'traceloop.entity.name': 'triage_agent', 'traceloop.workflow.name': 'support' }));
    expect(agent.attributes).toMatchObject({ 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'triage_agent' });
    expect(agent.attributes['gen_ai.tool.name']).toBeUndefined();
    const tool = await h.one(llmSpan({ 'traceloop.span.kind': 'tool', 'traceloop.entity.name': 'lookup_order' }));
    expect(tool.attributes).toMatchObject({ 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'lookup_order' });
    const workflow = await h.one(llmSpan({ 'traceloop.span.kind': 'workflow', 'traceloop.entity.name': 'support' }));
    expect(workflow.attributes['gen_ai.operation.name']).toBeUndefined();
  });
});

describe('Vercel AI SDK', () => {
  const messages = JSON.stringify([
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: [{ type: 'text', text: 'Weather in Berlin?' }] },
  ]);

  it('maps a provider-call span: model, provider, usage, messages, tool calls', async () => {
    const attrs = {
      'operation.name': 'ai.generateText.doGenerate',
      'ai.operationId': 'ai.generateText.doGenerate',
      'ai.model.provider': 'openai.chat',
      'ai.model.id': 'gpt-4o-mini',
      'ai.settings.maxRetries': 2,
      'ai.prompt.messages': messages,
      'ai.prompt.toolChoice': '{"type":"auto"}',
      'ai.response.finishReason': 'tool-calls',
      'ai.response.toolCalls': JSON.stringify([{ toolCallType: 'function', toolCallId: 'call_1', toolName: 'weather', args: '{"city":"Berlin"}' }]),
      'ai.response.id': 'chatcmpl-9',
      'ai.response.model': 'gpt-4o-mini-2024-07-18',
      'ai.usage.promptTokens': 80,
      'ai.usage.completionTokens': 14,
    };
    const out = (await harness().one(llmSpan(attrs, { name: 'ai.generateText.doGenerate' }))).attributes;
    expect(out).toMatchObject({
      ...attrs,
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
      'gen_ai.response.id': 'chatcmpl-9',
      'gen_ai.usage.input_tokens': 80n,
      'gen_ai.usage.output_tokens': 14n,
      'gen_ai.usage.total_tokens': 94n,
    });
    expect(json(out['gen_ai.input.messages'])).toEqual([
      { role: 'system', parts: [{ type: 'text', content: 'You are terse.' }] },
      { role: 'user', parts: [{ type: 'text', content: 'Weather in Berlin?' }] },
    ]);
    expect(json(out['gen_ai.output.messages'])).toEqual([
      { role: 'assistant', parts: [{ type: 'tool_call', id: 'call_1', name: 'weather', arguments: { city: 'Berlin' } }], finish_reason: 'tool-calls' },
    ]);
    expect(out['tracehouse.cost_usd']).toBeCloseTo((80 * 0.15 + 14 * 0.6) / 1e6, 15);
  });

  it('gives the outer ai.generateText span no usage, so sums over spans count each call once', async () => {
    const out = (
      await harness().one(
        llmSpan(
          {
            'ai.operationId': 'ai.generateText',
            'ai.model.provider': 'openai.chat',
            'ai.model.id': 'gpt-4o-mini',
            'ai.prompt': '{"prompt":"Weather in Berlin?"}',
            'ai.response.text': 'Sunny, 21°C.',
            'ai.usage.promptTokens': 180,
            'ai.usage.completionTokens': 40,
          },
          { name: 'ai.generateText' },
        ),
      )
    ).attributes;
    expect(out['gen_ai.request.model']).toBe('gpt-4o-mini');
    expect(out['gen_ai.usage.input_tokens']).toBeUndefined();
    expect(out['gen_ai.operation.name']).toBeUndefined();
    expect(out['tracehouse.cost_usd']).toBeUndefined();
  });

  it('maps tool-call and embedding spans', async () => {
    const h = harness();
    const tool = await h.one(
      llmSpan({
        'operation.name': 'ai.toolCall',
        'ai.operationId': 'ai.toolCall',
        'ai.toolCall.name': 'weather',
        'ai.toolCall.id': 'call_1',
        'ai.toolCall.args': '{"city":"Berlin"}',
        'ai.toolCall.result': '{"tempC":21}',
      }),
    );
    expect(tool.attributes).toMatchObject({
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'weather',
      'gen_ai.tool.call.id': 'call_1',
      'gen_ai.tool.call.arguments': '{"city":"Berlin"}',
      'gen_ai.tool.call.result': '{"tempC":21}',
    });
    const embed = await h.one(
      llmSpan({ 'ai.operationId': 'ai.embedMany.doEmbed', 'ai.model.provider': 'openai.embedding', 'ai.model.id': 'text-embedding-3-small', 'ai.usage.tokens': 24 }),
    );
    expect(embed.attributes).toMatchObject({ 'gen_ai.operation.name': 'embeddings', 'gen_ai.usage.input_tokens': 24n, 'tracehouse.cost_status': 'catalog' });
    expect(embed.attributes['tracehouse.cost_usd']).toBeCloseTo((24 * 0.02) / 1e6, 15);
  });
});

describe('OpenAI Agents SDK', () => {
  it('maps generation usage, function and agent spans, flat or nested', async () => {
    const h = harness();
    const generation = await h.one(
      llmSpan({
        'openai.agents.span_data.type': 'generation',
        'openai.agents.span_data.model': 'gpt-4.1',
        'openai.agents.span_data.usage.input_tokens': 500n,
        'openai.agents.span_data.usage.output_tokens': 120n,
      }),
    );
    expect(generation.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'gpt-4.1',
      'gen_ai.usage.input_tokens': 500n,
      'gen_ai.usage.output_tokens': 120n,
      'tracehouse.cost_status': 'catalog',
    });
    const fn = await h.one(llmSpan({ span_data: { type: 'function', name: 'lookup_order', input: '{"id":7}', output: 'shipped' } }));
    expect(fn.attributes).toMatchObject({
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'lookup_order',
      'gen_ai.tool.call.arguments': '{"id":7}',
      'gen_ai.tool.call.result': 'shipped',
    });
    const agent = await h.one(llmSpan({ 'span_data.type': 'agent', 'span_data.name': 'Triage', 'span_data.handoffs': ['Billing'] }));
    expect(agent.attributes).toMatchObject({ 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'Triage' });
    expect(agent.attributes['gen_ai.tool.name']).toBeUndefined();
  });
});

describe('deprecated GenAI names and operation inference', () => {
  it('renames deprecated attributes but never overwrites a canonical one', async () => {
    const out = (
      await harness().one(
        llmSpan({
          'gen_ai.system': 'openai',
          'gen_ai.provider.name': 'azure.ai.openai',
          'gen_ai.openai.request.seed': 42n,
          'gen_ai.usage.prompt_tokens': 10n,
          'gen_ai.usage.input_tokens': 11n,
        }),
      )
    ).attributes;
    expect(out).toMatchObject({ 'gen_ai.provider.name': 'azure.ai.openai', 'gen_ai.request.seed': 42n, 'gen_ai.usage.input_tokens': 11n });
  });

  it('infers the operation from an OpenTelemetry span name only on GenAI spans', async () => {
    const h = harness();
    const chat = await h.one(llmSpan({ 'gen_ai.request.model': 'gpt-4o' }, { name: 'chat gpt-4o' }));
    expect(chat.attributes['gen_ai.operation.name']).toBe('chat');
    const handler = await h.one(llmSpan({ 'http.route': '/chat' }, { name: 'chat handler' }));
    expect(handler.attributes['gen_ai.operation.name']).toBeUndefined();
  });

  it('treats span values as data, never as keys into its own tables', async () => {
    const out = (await harness().one(llmSpan({ 'openinference.span.kind': 'constructor', 'gen_ai.system': 'constructor', 'llm.request.type': '__proto__' })))
      .attributes;
    expect(out['gen_ai.operation.name']).toBeUndefined();
    expect(out['gen_ai.provider.name']).toBe('constructor');
  });

  it('counts which conventions it applied', async () => {
    const h = harness();
    await h.run([
      llmSpan({ 'openinference.span.kind': 'LLM', 'llm.model_name': 'gpt-4o' }),
      llmSpan({ 'openinference.span.kind': 'LLM', 'llm.model_name': 'gpt-4o' }),
      llmSpan({ 'ai.operationId': 'ai.generateText.doGenerate', 'ai.model.id': 'gpt-4o' }),
    ]);
    expect(await h.events('normalized', 'openinference')).toBe(2);
    expect(await h.events('normalized', 'vercel_ai')).toBe(1);
    expect(await h.events('normalized', 'openllmetry')).toBe(0);
  });
});

test('the README documents every mapping row of every convention table', () => {
  const readme = readFileSync(path.join(__dirname, '../../../processors/enrich/README.md'), 'utf8');
  for (const table of CONVENTIONS) {
    expect(readme).toContain(`#### ${table.title} (\`${table.name}\`)`);
    for (const m of table.mappings) {
      const line = `| ${m.from.map((f) => `\`${f}\``).join(', ')} | \`${m.to}\` | ${m.only ? GUARDS[m.only].describe : 'all'} |`;
      expect(readme).toContain(line);
    }
  }
});

// The attribute draft writes into its one copy in place, so a table reading a key it wrote itself
// would see its own write; none does (processors/enrich/attribute-draft.ts relies on it).
test('no convention table reads a key that it writes', () => {
  for (const table of CONVENTIONS) {
    const written = new Set([...table.mappings.map((m) => m.to), 'gen_ai.operation.name', 'gen_ai.input.messages', 'gen_ai.output.messages']);
    expect([table.name, table.mappings.flatMap((m) => m.from).filter((key) => written.has(key))]).toEqual([table.name, []]);
  }
});
