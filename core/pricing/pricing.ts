/**
 * Prices: the built-in catalog (prices.json) and per-workspace/project overrides, matched against
 * model names as clients spell them (`openai/gpt-4o-2024-11-20`, `models/gemini-2.5-pro`,
 * `us.anthropic.claude-sonnet-4-20250514-v1:0`, `claude-3-5-sonnet-v2@20241022`).
 */
import { z } from 'zod';
import { LinearRegex } from '../linear-regex';
import catalogJson from './prices.json';

/** An operator's price for models matching `model` (enrich's `price_overrides` entries). */
export interface PriceOverride {
  /** Model name, matched exactly or as a regular expression over the whole (normalized) name. */
  model: string;
  workspace?: string;
  project?: string;
  input_per_mtok: number;
  output_per_mtok: number;
  cached_input_per_mtok?: number;
}

/** Token counts by OpenTelemetry's rule: cached input inside input. */
export interface PricedUsage {
  input?: bigint;
  output?: bigint;
  cacheRead?: bigint;
}

const catalogSchema = z.strictObject({
  version: z.string().min(1),
  currency: z.literal('USD'),
  unit: z.literal('per million tokens'),
  models: z.array(
    z.strictObject({
      id: z.string().min(1),
      provider: z.string().min(1),
      creator: z.string().min(1),
      match: z.string().min(1),
      input_per_mtok: z.number().nonnegative(),
      output_per_mtok: z.number().nonnegative(),
      cached_input_per_mtok: z.number().nonnegative().nullable(),
      as_of: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
      source: z.url(),
      basis: z.enum(['page', 'knowledge']),
      note: z.string().optional(),
    }),
  ),
});

export type PriceCatalog = z.output<typeof catalogSchema>;
export type CatalogModel = PriceCatalog['models'][number];

/** USD per million tokens; a null cached price means cached tokens cost the input price. */
export interface Price {
  input: number;
  output: number;
  cachedInput: number | null;
}

export interface CatalogEntry {
  id: string;
  provider: string;
  creator: string;
  pattern: RegExp;
  price: Price;
}

export interface PriceMatch {
  price: Price;
  source: 'override' | 'catalog';
  /** Catalog id or the override's model pattern. */
  id: string;
}

/** The whole name must match: `gpt-4o` must not price `gpt-4o-mini`. */
function wholeName(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`, 'i');
}

let loaded: { catalog: PriceCatalog; entries: CatalogEntry[] } | undefined;

/** The validated built-in catalog (parsed once per process). */
export function builtInCatalog(): { catalog: PriceCatalog; entries: readonly CatalogEntry[] } {
  if (!loaded) {
    const catalog = catalogSchema.parse(catalogJson);
    const entries = catalog.models.map((m) => ({
      id: m.id,
      provider: m.provider,
      creator: m.creator,
      pattern: wholeName(m.match),
      price: { input: m.input_per_mtok, output: m.output_per_mtok, cachedInput: m.cached_input_per_mtok },
    }));
    loaded = { catalog, entries };
  }
  return loaded;
}

// Region and vendor prefixes of Amazon Bedrock ids (`us.anthropic.claude-…`, `meta.llama3-…`).
const BEDROCK_PREFIX = /^(?:(?:us|eu|apac|au|ca|jp|us-gov|global)\.)?(?:anthropic|meta|mistral|deepseek|amazon|cohere|ai21|openai|qwen|writer)\./;

// Version decorations, stripped one at a time from the end.
const SUFFIXES: readonly RegExp[] = [
  /\[[\w-]+\]$/, // context-size tags: claude-sonnet-4-5[1m]
  /:(?:latest|free|beta|nitro|floor|online|extended|thinking)$/, // Ollama / OpenRouter variants
  /-v\d+:\d+$/, // Bedrock versions: -v2:0
  /@[\w.-]+$/, // Vertex AI versions: @20241022, @001
  /-latest$/,
  /-\d{4}-\d{2}-\d{2}$/, // -2024-11-20
  /-\d{8}$/, // -20241022
  /-\d{3,4}$/, // -0125, -2411, -002
];

/**
 * The names a model is looked up by, most specific first: without path and Bedrock prefixes, then
 * with each version decoration removed. A dated snapshot with its own price (gpt-4o-2024-05-13)
 * thus matches its own entry before the family's.
 */
export function modelNameCandidates(raw: string): string[] {
  let name = raw.trim().toLowerCase();
  name = name.slice(name.lastIndexOf('/') + 1).replace(BEDROCK_PREFIX, '');
  const out = [name];
  for (let changed = true; changed; ) {
    changed = false;
    for (const suffix of SUFFIXES) {
      const next = name.replace(suffix, '');
      if (next !== name && next !== '') {
        name = next;
        out.push(name);
        changed = true;
        break;
      }
    }
  }
  return out;
}

export interface PriceScope {
  workspace?: string;
  project?: string;
  /** gen_ai.provider.name, to choose between hosts of the same open model. */
  provider?: string;
}

interface CompiledOverride {
  exact: string;
  /** The operator's pattern, on the linear-time engine (model names come from clients). */
  pattern: LinearRegex;
  workspace?: string;
  project?: string;
  /** 3: workspace and project, 2: workspace, 1: everywhere. */
  level: number;
  price: Price;
}

function compileOverride(o: PriceOverride): CompiledOverride {
  return {
    exact: o.model.toLowerCase(),
    pattern: LinearRegex.compile(`^(?:${o.model})$`, 'i'),
    workspace: o.workspace,
    project: o.project,
    level: o.project !== undefined ? 3 : o.workspace !== undefined ? 2 : 1,
    price: {
      input: o.input_per_mtok,
      output: o.output_per_mtok,
      cachedInput: o.cached_input_per_mtok ?? null,
    },
  };
}

const NO_MATCH = null;
const MAX_MODEL_NAME = 256;
/** Resolutions a PriceBook keeps, all models and scopes together. */
export const PRICE_CACHE_SIZE = 1000;

/**
 * Resolves a model to a price: the most specific override in scope ((workspace, project) >
 * workspace > everywhere, first listed within a level), else the catalog. The same few models
 * recur on every span, so resolutions are cached: by model, then by provider (and by workspace and
 * project only when some override is limited to one, the only case where they change the answer),
 * so that a hit costs two map lookups and no key string. The cache holds at most `cacheSize`
 * resolutions and starts over when full: clients choose model names, and endless new ones must
 * cost a resolution each, never memory.
 */
export class PriceBook {
  private readonly overrides: CompiledOverride[];
  private readonly scoped: boolean;
  private readonly cache = new Map<string, Map<string, PriceMatch | typeof NO_MATCH>>();
  private cached = 0;

  constructor(
    private readonly entries: readonly CatalogEntry[],
    overrides: readonly PriceOverride[],
    private readonly cacheSize = PRICE_CACHE_SIZE,
  ) {
    // Stable sort keeps the listed order within a level.
    this.overrides = overrides.map(compileOverride).sort((a, b) => b.level - a.level);
    this.scoped = this.overrides.some((o) => o.level > 1);
  }

  /** Resolutions currently cached (at most the cache size). */
  get cachedResolutions(): number {
    return this.cached;
  }

  lookup(model: string, scope: PriceScope = {}): PriceMatch | undefined {
    // No model name is this long; a client sending one must not fill the cache with it.
    if (model.length > MAX_MODEL_NAME) return undefined;
    const key = this.scoped ? `${scope.provider ?? ''}\u0000${scope.workspace ?? ''}\u0000${scope.project ?? ''}` : (scope.provider ?? '');
    let byScope = this.cache.get(model);
    const cached = byScope?.get(key);
    if (cached !== undefined) return cached ?? undefined;
    const found = this.resolve(model, scope);
    if (this.cached >= this.cacheSize) {
      this.cache.clear();
      this.cached = 0;
      byScope = undefined;
    }
    if (byScope === undefined) this.cache.set(model, (byScope = new Map()));
    byScope.set(key, found ?? NO_MATCH);
    this.cached++;
    return found;
  }

  private resolve(model: string, scope: PriceScope): PriceMatch | undefined {
    const candidates = modelNameCandidates(model);
    const lowered = model.trim().toLowerCase();
    for (const o of this.overrides) {
      if (o.workspace !== undefined && o.workspace !== scope.workspace) continue;
      if (o.project !== undefined && o.project !== scope.project) continue;
      if (o.exact === lowered || candidates.includes(o.exact) || o.pattern.test(lowered) || candidates.some((c) => o.pattern.test(c))) {
        return { price: o.price, source: 'override', id: o.exact };
      }
    }
    for (const candidate of candidates) {
      const matches = this.entries.filter((e) => e.pattern.test(candidate));
      if (matches.length === 0) continue;
      const sameHost = scope.provider ? matches.filter((e) => e.provider === scope.provider) : [];
      const pool = sameHost.length > 0 ? sameHost : matches;
      const best = pool.reduce((a, b) => (b.id.length > a.id.length ? b : a));
      return { price: best.price, source: 'catalog', id: best.id };
    }
    return undefined;
  }
}

/**
 * cost = (input − cached) × input price + cached × cached price + output × output price, per
 * million tokens, with input and output counted the OpenTelemetry way (cached inside input).
 */
export function costUsd(price: Price, usage: PricedUsage): number {
  const input = Number(usage.input ?? 0n);
  const cached = Math.min(Number(usage.cacheRead ?? 0n), input);
  const output = Number(usage.output ?? 0n);
  const cachedPrice = price.cachedInput ?? price.input;
  return ((input - cached) * price.input + cached * cachedPrice + output * price.output) / 1_000_000;
}
