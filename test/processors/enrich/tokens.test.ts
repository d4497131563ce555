/**
 * One token rule (OpenTelemetry's: cached inside input, reasoning inside output). Sources that
 * report cached or reasoning tokens separately are converted, so cached tokens are charged once.
 */
import { harness, llmSpan } from './support';

// What AI SDK 5 records on an Anthropic call span: Anthropic's own input_tokens (fresh only) and the
// cache counts in the provider metadata.
const anthropicV5 = {
  'ai.operationId': 'ai.streamText.doStream',
  'ai.model.provider': 'anthropic.messages',
  'ai.model.id': 'claude-sonnet-4-20250514',
  'ai.usage.promptTokens': 200,
  'ai.usage.completionTokens': 100,
  'gen_ai.system': 'anthropic.messages',
  'gen_ai.request.model': 'claude-sonnet-4-20250514',
  'gen_ai.usage.input_tokens': 200,
  'gen_ai.usage.output_tokens': 100,
  'ai.response.providerMetadata': JSON.stringify({
    anthropic: {
      usage: { input_tokens: 200, cache_creation_input_tokens: 500, cache_read_input_tokens: 3000, output_tokens: 100 },
      cacheCreationInputTokens: 500,
    },
  }),
};

describe('sources that report cached input outside the input count', () => {
  it('AI SDK 5 + Anthropic: cache reads and writes are added to input, and cached tokens are priced once', async () => {
    const h = harness();
    const out = (await h.one(llmSpan(anthropicV5))).attributes;
    expect(out).toMatchObject({
      'gen_ai.usage.input_tokens': 3700n,
      'gen_ai.usage.cache_read.input_tokens': 3000n,
      'gen_ai.usage.cache_creation.input_tokens': 500n,
      'gen_ai.usage.output_tokens': 100,
      'gen_ai.usage.total_tokens': 3800n,
      // The SDK's own attribute keeps the number it reported.
      'ai.usage.promptTokens': 200,
    });
    // claude-sonnet-4: 700 uncached (fresh + cache writes) at $3, 3000 cache reads at $0.30, 100 out at $15.
    expect(out['tracehouse.cost_usd']).toBeCloseTo((700 * 3 + 3000 * 0.3 + 100 * 15) / 1e6, 15);
    expect(await h.events('tokens_converted', 'cache_added_to_input')).toBe(1);
  });

  it('is idempotent: a span enriched twice keeps the same counts and cost', async () => {
    const once = await harness().one(llmSpan(anthropicV5));
    // Without the cost attributes the second pass prices again, from the counts the first wrote.
    const { 'tracehouse.cost_usd': _cost, 'tracehouse.cost_status': _status, ...counts } = once.attributes;
    const twice = await harness().one({ ...once, attributes: counts });
    expect(twice.attributes['gen_ai.usage.input_tokens']).toBe(3700n);
    expect(twice.attributes['tracehouse.cost_usd']).toBe(once.attributes['tracehouse.cost_usd']);
  });

  it('AI SDK 5 + Anthropic with ai.usage.cachedInputTokens', async () => {
    const out = (
      await harness().one(
        llmSpan({
          'ai.operationId': 'ai.generateText.doGenerate',
          'ai.model.provider': 'anthropic.messages',
          'ai.model.id': 'claude-haiku-4-5',
          'ai.usage.promptTokens': 100,
          'ai.usage.cachedInputTokens': 50,
          'ai.usage.completionTokens': 10,
        }),
      )
    ).attributes;
    expect(out).toMatchObject({ 'gen_ai.usage.input_tokens': 150n, 'gen_ai.usage.cache_read.input_tokens': 50n, 'gen_ai.usage.total_tokens': 160n });
    expect(out['tracehouse.cost_usd']).toBeCloseTo((100 * 1 + 50 * 0.1 + 10 * 5) / 1e6, 15);
  });

  it('AI SDK 6 reports cache-inclusive totals and is left alone', async () => {
    const out = (
      await harness().one(
        llmSpan({
          'ai.operationId': 'ai.streamText.doStream',
          'ai.model.provider': 'anthropic.messages',
          'ai.model.id': 'claude-sonnet-4-5',
          'ai.usage.inputTokens': 9500,
          'ai.usage.inputTokenDetails.noCacheTokens': 1000,
          'ai.usage.inputTokenDetails.cacheReadTokens': 8000,
          'ai.usage.inputTokenDetails.cacheWriteTokens': 500,
          'ai.usage.outputTokens': 300,
          'ai.usage.cachedInputTokens': 8000,
          'gen_ai.usage.input_tokens': 9500,
          'gen_ai.usage.output_tokens': 300,
        }),
      )
    ).attributes;
    expect(out).toMatchObject({
      'gen_ai.usage.input_tokens': 9500,
      'gen_ai.usage.cache_read.input_tokens': 8000n,
      'gen_ai.usage.cache_creation.input_tokens': 500n,
      'gen_ai.usage.total_tokens': 9800n,
    });
    expect(out['tracehouse.cost_usd']).toBeCloseTo((1500 * 3 + 8000 * 0.3 + 300 * 15) / 1e6, 15);
  });

  it('any source whose cache count exceeds its input count reported them apart', async () => {
    const h = harness();
    const out = (
      await h.one(
        llmSpan({
          'gen_ai.provider.name': 'anthropic',
          'gen_ai.request.model': 'claude-opus-4-5',
          'gen_ai.usage.input_tokens': 100n,
          'gen_ai.usage.cache_read.input_tokens': 900n,
          'gen_ai.usage.output_tokens': 20n,
        }),
      )
    ).attributes;
    expect(out['gen_ai.usage.input_tokens']).toBe(1000n);
    expect(out['tracehouse.cost_usd']).toBeCloseTo((100 * 5 + 900 * 0.5 + 20 * 25) / 1e6, 15);
  });
});

describe('sources that report reasoning outside the output count', () => {
  it('AI SDK 5 + Gemini: thinking tokens are added to output', async () => {
    const h = harness();
    const out = (
      await h.one(
        llmSpan({
          'ai.operationId': 'ai.generateText.doGenerate',
          'ai.model.provider': 'google.generative-ai',
          'ai.model.id': 'gemini-2.5-flash',
          'ai.usage.promptTokens': 1000,
          'ai.usage.completionTokens': 50,
          'ai.response.providerMetadata': JSON.stringify({
            google: { usageMetadata: { promptTokenCount: 1000, candidatesTokenCount: 50, thoughtsTokenCount: 450, totalTokenCount: 1500 } },
          }),
        }),
      )
    ).attributes;
    expect(out).toMatchObject({
      'gen_ai.provider.name': 'gcp.gemini',
      'gen_ai.usage.output_tokens': 500n,
      'gen_ai.usage.reasoning.output_tokens': 450n,
      'gen_ai.usage.total_tokens': 1500n,
    });
    expect(out['tracehouse.cost_usd']).toBeCloseTo((1000 * 0.3 + 500 * 2.5) / 1e6, 15);
    expect(await h.events('tokens_converted', 'reasoning_added_to_output')).toBe(1);
  });

  it('reasoning already inside the output (OpenAI via OpenInference) is not added again', async () => {
    const out = (
      await harness().one(
        llmSpan({
          'openinference.span.kind': 'LLM',
          'llm.model_name': 'o3-2025-04-16',
          'llm.token_count.prompt': 400n,
          'llm.token_count.completion': 1200n,
          'llm.token_count.completion_details.reasoning': 1000n,
        }),
      )
    ).attributes;
    expect(out).toMatchObject({ 'gen_ai.usage.output_tokens': 1200n, 'gen_ai.usage.reasoning.output_tokens': 1000n, 'gen_ai.usage.total_tokens': 1600n });
    expect(out['tracehouse.cost_usd']).toBeCloseTo((400 * 2 + 1200 * 8) / 1e6, 15);
  });
});

test('a reported total is kept when nothing was converted, and computed when missing', async () => {
  const h = harness();
  const reported = await h.one(llmSpan({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 10n, 'gen_ai.usage.output_tokens': 5n, 'gen_ai.usage.total_tokens': 16n }));
  expect(reported.attributes['gen_ai.usage.total_tokens']).toBe(16n);
  const missing = await h.one(llmSpan({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': '10', 'gen_ai.usage.output_tokens': 5 }));
  expect(missing.attributes['gen_ai.usage.total_tokens']).toBe(15n);
});
