import { z } from 'zod';
import { JUDGE_BASE_URLS } from '../../core/llm/judge-protocol';
import type { JudgeProvider } from '../../core/llm/judge-protocol';
import { JUDGE_PROVIDERS } from '../../core/rules/api-rules';

/** The model a provider's judge uses when neither the rule nor the workspace settings name one. */
export const DEFAULT_JUDGE_MODELS: Readonly<Record<JudgeProvider, string>> = {
  openai: 'gpt-4o-mini',
  anthropic: 'claude-haiku-4-5',
  openrouter: 'openai/gpt-4o-mini',
};

/** An empty value (`${env:OPENAI_API_KEY:-}` with the variable unset) means "not configured". */
const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v));

const providerSchema = (provider: JudgeProvider) =>
  z
    .strictObject({
      base_url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).default(JUDGE_BASE_URLS[provider]),
      /** Usually `${env:…}`; the workspace settings' key wins over it. */
      api_key: optionalText,
      model: z.string().min(1).max(200).default(DEFAULT_JUDGE_MODELS[provider]),
    })
    .prefault({});

/** How llm_judge rules call their judge. */
export const judgeConfigSchema = z
  .strictObject({
    /** Per judged span and rule, queueing and retries included; beyond it the finding is an error. */
    timeout_ms: z.number().int().positive().max(600_000).default(30_000),
    max_concurrency: z.number().int().positive().max(256).default(4),
    /** Judge calls waiting for a slot; beyond it a call is an error at once. */
    max_queue: z.number().int().nonnegative().max(100_000).default(1_000),
    /** Retries after the first attempt, on 429, 5xx and connection failures. */
    max_retries: z.number().int().nonnegative().max(10).default(2),
    /** Used when neither the rule nor the workspace settings (defaultJudgeProvider) name one. */
    default_provider: z.enum(JUDGE_PROVIDERS).default('openai'),
    providers: z
      .strictObject({
        openai: providerSchema('openai'),
        anthropic: providerSchema('anthropic'),
        openrouter: providerSchema('openrouter'),
      })
      .prefault({}),
  })
  .prefault({});

export type JudgeConfig = z.output<typeof judgeConfigSchema>;
