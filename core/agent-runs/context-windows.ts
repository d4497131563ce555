/**
 * Context windows (context-windows.json): the tokens a request to a model may hold, looked up by
 * the longest model-name prefix, for the context_window detection.
 */
import { z } from 'zod';
import tableJson from './context-windows.json';

const tableSchema = z.strictObject({
  version: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  unit: z.literal('tokens'),
  description: z.string().min(1),
  models: z.array(
    z.strictObject({
      id: z.string().min(1),
      provider: z.string().min(1),
      /** Lower-case model-name prefixes, each ending where a version or variant suffix would start. */
      prefixes: z.array(z.string().regex(/^[a-z0-9][a-z0-9.-]*$/)).min(1),
      context_tokens: z.int().positive(),
      as_of: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
      source: z.url(),
      basis: z.enum(['page', 'knowledge']),
      note: z.string().optional(),
    }),
  ),
});

export type ContextWindowTable = z.output<typeof tableSchema>;

export interface ContextWindow {
  /** The table entry's id (never the client's model text). */
  id: string;
  tokens: number;
}

// Bedrock region and vendor prefixes (`us.anthropic.claude-…`, `meta.llama3-…`).
const BEDROCK_PREFIX = /^(?:(?:us|eu|apac|au|ca|jp|us-gov|global)\.)?(?:anthropic|meta|mistral|deepseek|amazon|openai|google)\./;
// `provider:model` as some SDKs and gateways spell it (pydantic-ai, promptfoo).
const PROVIDER_COLON = /^(?:openai|anthropic|google|google-gla|google-vertex|gemini|vertex|mistral|groq|deepseek|bedrock|azure|meta|together|fireworks|openrouter):/;
// A prefix matches at a name boundary only, so that `gpt-4` never matches `gpt-4o` or `gpt-4.1`,
// and an unknown newer version (`gpt-5.7`) stays unknown rather than taking an older one's window.
const BOUNDARY = new Set(['-', ':', '@', '_', '[']);
// Claude Code and gateways mark the 1M-token variant of a model with a `[1m]` suffix.
const ONE_MILLION_TAG = /\[1m\]$/;
const MAX_MODEL_NAME = 256;

/** The model name as the table spells it: lower case, without provider paths and prefixes. */
export function bareModelName(raw: string): string {
  const lowered = raw.trim().toLowerCase();
  return lowered.slice(lowered.lastIndexOf('/') + 1).replace(BEDROCK_PREFIX, '').replace(PROVIDER_COLON, '');
}

export class ContextWindows {
  private readonly byPrefix = new Map<string, ContextWindow>();
  private readonly longest: number;
  // Model names recur on every span; the lookup is cached, bounded against pathological variety.
  private readonly cache = new Map<string, ContextWindow | null>();

  constructor(readonly table: ContextWindowTable, private readonly cacheSize = 1000) {
    for (const model of table.models) {
      for (const prefix of model.prefixes) this.byPrefix.set(prefix, { id: model.id, tokens: model.context_tokens });
    }
    this.longest = Math.max(0, ...[...this.byPrefix.keys()].map((p) => p.length));
  }

  lookup(model: string): ContextWindow | undefined {
    if (model.length > MAX_MODEL_NAME) return undefined;
    const cached = this.cache.get(model);
    if (cached !== undefined) return cached ?? undefined;
    const found = this.resolve(bareModelName(model));
    if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(model, found ?? null);
    return found;
  }

  private resolve(name: string): ContextWindow | undefined {
    for (let end = Math.min(name.length, this.longest); end > 0; end--) {
      if (end < name.length && !BOUNDARY.has(name[end])) continue;
      const found = this.byPrefix.get(name.slice(0, end));
      if (found === undefined) continue;
      return ONE_MILLION_TAG.test(name) && found.tokens < 1_000_000 ? { id: `${found.id}[1m]`, tokens: 1_000_000 } : found;
    }
    return undefined;
  }
}

let builtIn: ContextWindows | undefined;

/** The validated built-in table (parsed once per process). */
export function builtInContextWindows(): ContextWindows {
  builtIn ??= new ContextWindows(tableSchema.parse(tableJson));
  return builtIn;
}
