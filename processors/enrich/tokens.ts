/**
 * Token accounting, one rule: OpenTelemetry's. Cached input tokens (reads and writes) are counted
 * inside gen_ai.usage.input_tokens and reasoning tokens inside gen_ai.usage.output_tokens. Sources
 * known to report them separately are converted here, so a cost computed from the canonical
 * attributes charges every cached token once, at the cached price.
 */
import type { AttributeValue, Attributes } from '../../core/span';
import type { AttributeDraft } from './attribute-draft';

export const INPUT_TOKENS = 'gen_ai.usage.input_tokens';
export const OUTPUT_TOKENS = 'gen_ai.usage.output_tokens';
export const TOTAL_TOKENS = 'gen_ai.usage.total_tokens';
export const CACHE_READ_TOKENS = 'gen_ai.usage.cache_read.input_tokens';
export const CACHE_WRITE_TOKENS = 'gen_ai.usage.cache_creation.input_tokens';
export const REASONING_TOKENS = 'gen_ai.usage.reasoning.output_tokens';

/** A token count as an exact integer, from an int, a whole double or a digit string. */
export function toCount(value: AttributeValue | undefined): bigint | undefined {
  if (typeof value === 'bigint') return value >= 0n ? value : undefined;
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? BigInt(Math.trunc(value)) : undefined;
  if (typeof value === 'string' && /^\s*\d+\s*$/.test(value)) return BigInt(value.trim());
  return undefined;
}

export interface TokenUsage {
  input?: bigint;
  output?: bigint;
  cacheRead?: bigint;
  cacheWrite?: bigint;
  reasoning?: bigint;
}

/** What was converted, for the processor's counters (a small fixed set). */
export type TokenConversion = 'cache_added_to_input' | 'reasoning_added_to_output';

export interface TokenAccounting {
  usage: TokenUsage;
  conversions: TokenConversion[];
}

// AI SDK 6 reports cache-inclusive totals and says so with these detail attributes; older
// versions pass each provider's own numbers through unchanged.
const AI_SDK_DETAIL_KEYS = [
  'ai.usage.inputTokenDetails.noCacheTokens',
  'ai.usage.inputTokenDetails.cacheReadTokens',
  'ai.usage.inputTokenDetails.cacheWriteTokens',
  'ai.usage.outputTokenDetails.textTokens',
  'ai.usage.outputTokenDetails.reasoningTokens',
];

function providerMetadata(attrs: Attributes): Record<string, unknown> | undefined {
  const raw = attrs['ai.response.providerMetadata'];
  if (typeof raw !== 'string' || raw === '') return undefined;
  try {
    const parsed: unknown = JSON.parse(raw);
    return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function dig(root: Record<string, unknown> | undefined, path: readonly string[]): AttributeValue | undefined {
  let node: unknown = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return typeof node === 'number' || typeof node === 'string' ? node : undefined;
}

function firstCount(attrs: Attributes, keys: readonly string[]): bigint | undefined {
  for (const key of keys) {
    const count = toCount(attrs[key]);
    if (count !== undefined) return count;
  }
  return undefined;
}

/**
 * AI SDK 5 and older on a provider-call span: the numbers are the provider's own. Anthropic's
 * input_tokens leave out cache reads and writes; Gemini's candidatesTokenCount leaves out the
 * thinking tokens. The conversion starts from the SDK's own attributes (never from the canonical
 * ones it rewrites), so running enrich twice gives the same numbers.
 */
function convertAiSdk(attrs: Attributes, usage: TokenUsage, conversions: TokenConversion[]): void {
  const operation = attrs['ai.operationId'];
  if (typeof operation !== 'string' || !/\.do(?:Generate|Stream)$/.test(operation)) return;
  if (AI_SDK_DETAIL_KEYS.some((key) => attrs[key] !== undefined)) return;
  const provider = attrs['ai.model.provider'];
  if (typeof provider !== 'string') return;

  if (provider.includes('anthropic')) {
    const reported = firstCount(attrs, ['ai.usage.promptTokens', 'ai.usage.inputTokens']);
    if (reported === undefined) return;
    const meta = providerMetadata(attrs);
    const read =
      firstCount(attrs, ['ai.usage.cachedInputTokens']) ??
      toCount(dig(meta, ['anthropic', 'usage', 'cache_read_input_tokens'])) ??
      0n;
    const write =
      toCount(dig(meta, ['anthropic', 'cacheCreationInputTokens'])) ??
      toCount(dig(meta, ['anthropic', 'usage', 'cache_creation_input_tokens'])) ??
      0n;
    if (read + write === 0n) return;
    usage.input = reported + read + write;
    usage.cacheRead = read;
    if (write > 0n) usage.cacheWrite = write;
    conversions.push('cache_added_to_input');
  } else if (provider.startsWith('google')) {
    const reported = firstCount(attrs, ['ai.usage.completionTokens', 'ai.usage.outputTokens']);
    if (reported === undefined) return;
    const thoughts =
      firstCount(attrs, ['ai.usage.reasoningTokens']) ??
      toCount(dig(providerMetadata(attrs), ['google', 'usageMetadata', 'thoughtsTokenCount'])) ??
      0n;
    if (thoughts === 0n) return;
    usage.output = reported + thoughts;
    usage.reasoning = thoughts;
    conversions.push('reasoning_added_to_output');
  }
}

/**
 * Reads the canonical usage attributes (filled by normalization), converts sources that report
 * cached or reasoning tokens separately, writes the corrected counts back and fills the total.
 */
export function accountTokens(draft: AttributeDraft): TokenAccounting {
  const attrs = draft.current;
  const usage: TokenUsage = {
    input: toCount(attrs[INPUT_TOKENS]),
    output: toCount(attrs[OUTPUT_TOKENS]),
    cacheRead: toCount(attrs[CACHE_READ_TOKENS]),
    cacheWrite: toCount(attrs[CACHE_WRITE_TOKENS]),
    reasoning: toCount(attrs[REASONING_TOKENS]),
  };
  const conversions: TokenConversion[] = [];
  convertAiSdk(attrs, usage, conversions);

  // Whatever the source: a part larger than its whole cannot be inside it.
  const cached = (usage.cacheRead ?? 0n) + (usage.cacheWrite ?? 0n);
  if (!conversions.includes('cache_added_to_input') && usage.input !== undefined && cached > usage.input) {
    usage.input += cached;
    conversions.push('cache_added_to_input');
  }
  if (
    !conversions.includes('reasoning_added_to_output') &&
    usage.output !== undefined &&
    usage.reasoning !== undefined &&
    usage.reasoning > usage.output
  ) {
    usage.output += usage.reasoning;
    conversions.push('reasoning_added_to_output');
  }

  // Unconverted counts keep their original attribute value and type.
  if (conversions.includes('cache_added_to_input') && usage.input !== undefined) draft.set(INPUT_TOKENS, usage.input);
  if (conversions.includes('reasoning_added_to_output') && usage.output !== undefined) draft.set(OUTPUT_TOKENS, usage.output);
  if (usage.cacheRead !== undefined) draft.fill(CACHE_READ_TOKENS, usage.cacheRead);
  if (usage.cacheWrite !== undefined) draft.fill(CACHE_WRITE_TOKENS, usage.cacheWrite);
  if (usage.reasoning !== undefined) draft.fill(REASONING_TOKENS, usage.reasoning);

  if (usage.input !== undefined || usage.output !== undefined) {
    const total = (usage.input ?? 0n) + (usage.output ?? 0n);
    // A reported total made of the unconverted parts would contradict the converted ones.
    if (conversions.length > 0) draft.set(TOTAL_TOKENS, total);
    else draft.fill(TOTAL_TOKENS, total);
  }
  return { usage, conversions };
}
