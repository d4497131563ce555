import { builtInCatalog, modelNameCandidates, PRICE_CACHE_SIZE, PriceBook } from '../../../core/pricing/pricing';
import type { CatalogEntry, PriceOverride, PriceScope } from '../../../core/pricing/pricing';
import { harness, llmSpan, resource } from './support';

const usage = (model: string, input: bigint, output: bigint, extra: Record<string, bigint | string> = {}) =>
  llmSpan({ 'gen_ai.request.model': model, 'gen_ai.usage.input_tokens': input, 'gen_ai.usage.output_tokens': output, ...extra });

describe('catalog prices', () => {
  it('prices a known model without cached tokens', async () => {
    const out = (await harness().one(usage('gpt-4.1', 1000n, 500n))).attributes;
    expect(out['tracehouse.cost_status']).toBe('catalog');
    expect(typeof out['tracehouse.cost_usd']).toBe('number');
    expect(out['tracehouse.cost_usd']).toBeCloseTo((1000 * 2 + 500 * 8) / 1e6, 15);
  });

  it('charges cached tokens once, at the cached price', async () => {
    const out = (await harness().one(usage('gpt-4o', 10_000n, 200n, { 'gen_ai.usage.cache_read.input_tokens': 8000n }))).attributes;
    // 2000 fresh at $2.50, 8000 cached at $1.25, 200 out at $10 — not 10,000 at $2.50 plus 8000 at $1.25.
    expect(out['tracehouse.cost_usd']).toBeCloseTo((2000 * 2.5 + 8000 * 1.25 + 200 * 10) / 1e6, 15);
  });

  it('bills cached tokens at the input price when the entry has no cached rate', async () => {
    const out = (await harness().one(usage('mistral-medium-latest', 1000n, 100n, { 'gen_ai.usage.cache_read.input_tokens': 600n }))).attributes;
    expect(out['tracehouse.cost_usd']).toBeCloseTo((1000 * 0.4 + 100 * 2) / 1e6, 15);
  });

  it.each([
    ['openai/gpt-4o-2024-11-20', 'gpt-4o', 2.5, 10],
    ['gpt-4o-2024-05-13', 'gpt-4o-2024-05-13', 5, 15],
    ['us.anthropic.claude-3-5-haiku-20241022-v1:0', 'claude-3-5-haiku', 0.8, 4],
    ['claude-3-5-sonnet-v2@20241022', 'claude-3-5-sonnet', 3, 15],
    ['anthropic/claude-3.5-sonnet', 'claude-3-5-sonnet', 3, 15],
    ['claude-sonnet-4-5-20250929', 'claude-sonnet-4-5', 3, 15],
    ['models/gemini-2.5-pro', 'gemini-2.5-pro', 1.25, 10],
    ['accounts/fireworks/models/llama-v3p3-70b-instruct', 'llama-v3p3-70b-instruct', 0.9, 0.9],
    ['meta-llama/Llama-3.3-70B-Instruct-Turbo', 'Llama-3.3-70B-Instruct-Turbo', 0.88, 0.88],
    ['mistral-large-2411', 'mistral-large-2411', 2, 6],
    ['deepseek/deepseek-chat', 'deepseek-chat', 0.28, 0.42],
    ['gpt-4o-mini-2024-07-18', 'gpt-4o-mini', 0.15, 0.6],
  ])('matches %s to %s despite prefixes and dated suffixes', async (model, id, input, output) => {
    const { entries } = builtInCatalog();
    expect(new PriceBook(entries, []).lookup(model)?.id).toBe(id);
    const out = (await harness().one(usage(model, 1_000_000n, 1_000_000n))).attributes;
    expect(out['tracehouse.cost_usd']).toBeCloseTo(input + output, 9);
  });

  it('lists the names a model is tried under, most specific first', () => {
    expect(modelNameCandidates('us.anthropic.claude-sonnet-4-20250514-v1:0')).toEqual([
      'claude-sonnet-4-20250514-v1:0',
      'claude-sonnet-4-20250514',
      'claude-sonnet-4',
    ]);
    expect(modelNameCandidates('ollama/llama3.1:latest')).toEqual(['llama3.1:latest', 'llama3.1']);
    expect(modelNameCandidates('mistral-large-latest')).toEqual(['mistral-large-latest', 'mistral-large']);
  });

  it('prefers the entry of the span provider when hosts sell the same model, then the longest id', () => {
    const entry = (id: string, provider: string, match: string, input: number): CatalogEntry => ({
      id,
      provider,
      creator: 'meta',
      pattern: new RegExp(`^(?:${match})$`, 'i'),
      price: { input, output: input, cachedInput: null },
    });
    const book = new PriceBook([entry('llama-x', 'groq', 'llama-x', 1), entry('llama-x', 'together_ai', 'llama-x', 2), entry('llama-x-long', 'groq', 'llama-x|llama-y', 3)], []);
    expect(book.lookup('llama-x', { provider: 'together_ai' })?.price.input).toBe(2);
    expect(book.lookup('llama-x', { provider: 'groq' })?.price.input).toBe(3);
    expect(book.lookup('llama-x')?.price.input).toBe(3);
  });

  it('stays correct past the bound of its lookup cache', () => {
    const book = new PriceBook(builtInCatalog().entries, [], 2);
    for (let round = 0; round < 2; round++) {
      expect(book.lookup('gpt-4o')?.id).toBe('gpt-4o');
      expect(book.lookup('o3')?.id).toBe('o3');
      expect(book.lookup('claude-3-haiku-20240307')?.id).toBe('claude-3-haiku');
      expect(book.lookup('no-such-model')).toBeUndefined();
    }
    expect(book.lookup(`gpt-4o${'x'.repeat(300)}`)).toBeUndefined();
  });
});

describe('the lookup cache', () => {
  const scopedOverrides: PriceOverride[] = [
    { model: 'gpt-4o', input_per_mtok: 1, output_per_mtok: 1 },
    { model: 'gpt-4o', workspace: 'acme', input_per_mtok: 2, output_per_mtok: 2 },
    { model: 'gpt-4o', workspace: 'acme', project: 'search', input_per_mtok: 3, output_per_mtok: 3 },
  ];

  /** Each model of prices.json as clients spell it, under no provider, its own and another one. */
  function lookups(): [string, PriceScope][] {
    const out: [string, PriceScope][] = [];
    for (const m of builtInCatalog().catalog.models) {
      for (const name of [m.id, `${m.provider}/${m.id}`, `${m.id}-2025-01-31`, m.id.toUpperCase(), `${m.id}-unknown-variant`]) {
        for (const scope of [{}, { provider: m.provider }, { provider: 'some-other-host' }, { workspace: 'acme', project: 'search', provider: m.provider }]) {
          out.push([name, scope]);
        }
      }
    }
    return out;
  }

  it.each([
    ['the catalog alone', [] as PriceOverride[]],
    ['scoped overrides', scopedOverrides],
  ])('answers every model of prices.json as an uncached lookup does, with %s', (_label, overrides) => {
    const { entries } = builtInCatalog();
    const cached = new PriceBook(entries, overrides);
    const all = lookups();
    expect(all.length).toBeGreaterThan(1000);
    // Twice through: the second pass is answered from the cache (refilled after it started over).
    for (let pass = 0; pass < 2; pass++) {
      for (const [model, scope] of all) {
        expect([model, scope, cached.lookup(model, scope)]).toEqual([model, scope, new PriceBook(entries, overrides, 0).lookup(model, scope)]);
      }
    }
  });

  it('keeps answers apart per workspace and project when an override is scoped', () => {
    const book = new PriceBook(builtInCatalog().entries, scopedOverrides);
    for (let round = 0; round < 2; round++) {
      expect(book.lookup('gpt-4o', { workspace: 'acme', project: 'search' })?.price.input).toBe(3);
      expect(book.lookup('gpt-4o', { workspace: 'acme', project: 'chat' })?.price.input).toBe(2);
      expect(book.lookup('gpt-4o', { workspace: 'other' })?.price.input).toBe(1);
    }
  });

  it('stays bounded however many model names clients send', () => {
    const book = new PriceBook(builtInCatalog().entries, []);
    for (let i = 0; i < 5 * PRICE_CACHE_SIZE; i++) {
      book.lookup(`client-model-${i}`, { provider: `host-${i % 7}` });
      expect(book.cachedResolutions).toBeLessThanOrEqual(PRICE_CACHE_SIZE);
    }
    expect(book.cachedResolutions).toBeGreaterThan(0);
    expect(book.lookup('gpt-4o')?.id).toBe('gpt-4o');
  });
});

describe('price overrides', () => {
  const config = {
    workspace: 'acme',
    price_overrides: [
      { model: 'gpt-4o', input_per_mtok: 1, output_per_mtok: 1 },
      { model: 'gpt-4o', workspace: 'acme', input_per_mtok: 2, output_per_mtok: 2 },
      { model: 'gpt-4o', workspace: 'acme', project: 'search', input_per_mtok: 3, output_per_mtok: 3, cached_input_per_mtok: 0 },
      { model: 'my-ft-.*', input_per_mtok: 4, output_per_mtok: 4 },
    ],
  };
  const span = (model: string, context: Record<string, string>, extra: Record<string, bigint> = {}) =>
    llmSpan({ 'gen_ai.request.model': model, 'gen_ai.usage.input_tokens': 1_000_000n, 'gen_ai.usage.output_tokens': 0n, ...extra, ...context });

  it('(workspace, project) beats workspace beats global beats catalog', async () => {
    const h = harness(config);
    const [project, workspace, global, catalog] = await h.run([
      span('gpt-4o', { 'tracehouse.project': 'search' }),
      span('gpt-4o-2024-08-06', { 'tracehouse.project': 'chat' }),
      span('openai/gpt-4o', { 'tracehouse.workspace': 'other' }),
      span('gpt-4o-mini', {}),
    ]);
    expect(project.attributes).toMatchObject({ 'tracehouse.cost_usd': 3, 'tracehouse.cost_status': 'override' });
    expect(workspace.attributes).toMatchObject({ 'tracehouse.cost_usd': 2, 'tracehouse.cost_status': 'override' });
    expect(global.attributes).toMatchObject({ 'tracehouse.cost_usd': 1, 'tracehouse.cost_status': 'override' });
    expect(catalog.attributes).toMatchObject({ 'tracehouse.cost_status': 'catalog' });
    expect(catalog.attributes['tracehouse.cost_usd']).toBeCloseTo(0.15, 12);
    expect(await h.events('cost', 'override')).toBe(3);
    expect(await h.events('cost', 'catalog')).toBe(1);
  });

  it('uses the workspace and project stamped from the resource', async () => {
    const out = await harness(config).one(
      llmSpan(
        { 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 1_000_000n },
        { resource: resource({ 'service.name': 'search', 'tracehouse.workspace': 'acme' }) },
      ),
    );
    expect(out.attributes).toMatchObject({ 'tracehouse.project': 'search', 'tracehouse.cost_usd': 3 });
  });

  it('matches a regular expression over the whole name, and an override cached price', async () => {
    const h = harness(config);
    const [ft, notFt, cached] = await h.run([
      span('my-ft-support-v3', {}),
      span('not-my-ft-x', {}),
      span('gpt-4o', { 'tracehouse.project': 'search' }, { 'gen_ai.usage.cache_read.input_tokens': 500_000n }),
    ]);
    expect(ft.attributes['tracehouse.cost_usd']).toBe(4);
    expect(notFt.attributes['tracehouse.cost_status']).toBe('unknown_model');
    expect(cached.attributes['tracehouse.cost_usd']).toBe(1.5);
  });

  it('with the catalog off, only overrides price', async () => {
    const [priced, unpriced] = await harness({ catalog: false, price_overrides: config.price_overrides.slice(0, 1) }).run([
      span('gpt-4o', {}),
      span('gpt-4.1', {}),
    ]);
    expect(priced.attributes['tracehouse.cost_usd']).toBe(1);
    expect(unpriced.attributes['tracehouse.cost_status']).toBe('unknown_model');
    expect(unpriced.attributes['tracehouse.cost_usd']).toBeUndefined();
  });
});

describe('client-supplied cost', () => {
  it.each([
    ['costUsd', '0.5', 0.5],
    ['estimatedCostUsd', 0.25, 0.25],
    ['llm.cost.total', 0.03, 0.03],
    ['tracehouse.cost_usd', 0.0042, 0.0042],
  ])('%s always wins over the catalog', async (key, value, expected) => {
    const h = harness();
    const out = (await h.one(usage('gpt-4o', 1000n, 1000n, { [key]: value as string }))).attributes;
    expect(out['tracehouse.cost_usd']).toBe(expected);
    expect(out['tracehouse.cost_status']).toBe('client');
    expect(await h.events('cost', 'client')).toBe(1);
  });

  it('is used even for a model nobody prices, and garbage is ignored', async () => {
    const [unknown, garbage] = await harness().run([
      usage('in-house-7b', 10n, 10n, { costUsd: '0.001' }),
      usage('gpt-4o', 1_000_000n, 0n, { costUsd: 'n/a' }),
    ]);
    expect(unknown.attributes).toMatchObject({ 'tracehouse.cost_usd': 0.001, 'tracehouse.cost_status': 'client' });
    expect(garbage.attributes).toMatchObject({ 'tracehouse.cost_usd': 2.5, 'tracehouse.cost_status': 'catalog' });
  });
});

describe('unknown models', () => {
  it('get no cost, are marked, and are counted without their name as a label', async () => {
    const h = harness();
    const [a, b, noTokens] = await h.run([
      usage('acme-finetune-2', 100n, 10n),
      usage('acme/finetune-3', 100n, 10n),
      llmSpan({ 'gen_ai.request.model': 'acme-finetune-2' }),
    ]);
    for (const span of [a, b]) {
      expect(span.attributes['tracehouse.cost_usd']).toBeUndefined();
      expect(span.attributes['tracehouse.cost_status']).toBe('unknown_model');
    }
    expect(noTokens.attributes['tracehouse.cost_status']).toBeUndefined();
    expect(await h.events('unknown_model')).toBe(2);
    expect(await h.metrics()).not.toContain('finetune');
  });
});
