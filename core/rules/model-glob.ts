import { globMatcher } from '../glob';

/**
 * Model names are ids, not paths: `*` crosses `/` (openrouter's `anthropic/claude-...`), dots are
 * ordinary characters, and case does not matter (`GPT-4o` is `gpt-4o`). `?` is one character
 * other than `/`, and `{a,b}` are alternatives, as picomatch had them. Names come from clients, so
 * globs match in linear time (core/glob), whatever their length.
 */
const MODEL_GLOB_OPTIONS = { caseInsensitive: true, braces: true, questionMarkSkipsSlash: true } as const;

export type ModelMatcher = (model: string) => boolean;

export function modelMatcher(globs: string | readonly string[]): ModelMatcher {
  return globMatcher(globs, MODEL_GLOB_OPTIONS);
}
