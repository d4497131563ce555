/** The context-window table is data: these checks keep it honest as it is edited. */
import tableJson from '../../../core/agent-runs/context-windows.json';
import { bareModelName, builtInContextWindows } from '../../../processors/evaluate_rules/agent-runs-context';

const windows = builtInContextWindows();
const { table } = windows;

test('the table parses, is dated, and covers every provider the detection names', () => {
  expect(table.version).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  expect(table.models.length).toBe(tableJson.models.length);
  const providers = new Set(table.models.map((m) => m.provider));
  for (const provider of ['openai', 'anthropic', 'google', 'mistral', 'meta', 'deepseek']) expect(providers).toContain(provider);
});

test.each(table.models.map((m) => [`${m.provider}/${m.id}`, m] as const))('%s is dated, sourced, and each of its prefixes resolves to it', (_name, m) => {
  expect(Date.parse(m.as_of)).not.toBeNaN();
  expect(m.as_of <= table.version).toBe(true);
  expect(m.source).toMatch(/^https:\/\//);
  expect(m.context_tokens).toBeGreaterThanOrEqual(4096);
  expect(m.context_tokens).toBeLessThanOrEqual(10_000_000);
  for (const prefix of m.prefixes) expect(windows.lookup(prefix)).toEqual({ id: m.id, tokens: m.context_tokens });
});

test('a prefix belongs to one entry only', () => {
  const prefixes = table.models.flatMap((m) => m.prefixes);
  expect(new Set(prefixes).size).toBe(prefixes.length);
});

test.each([
  ['gpt-4o', 'gpt-4o', 128_000],
  ['gpt-4o-2024-08-06', 'gpt-4o', 128_000],
  ['gpt-4o-mini-2024-07-18', 'gpt-4o-mini', 128_000],
  ['gpt-4-0613', 'gpt-4', 8192],
  ['gpt-4-turbo-2024-04-09', 'gpt-4-turbo', 128_000],
  ['gpt-4.1-2025-04-14', 'gpt-4.1', 1_047_576],
  ['gpt-5-mini-2025-08-07', 'gpt-5', 400_000],
  ['gpt-5.4-pro', 'gpt-5.4', 1_050_000],
  ['o1-mini-2024-09-12', 'o1-mini', 128_000],
  ['o3-2025-04-16', 'o3', 200_000],
  ['openai/gpt-5.5', 'gpt-5.5', 1_050_000],
  ['azure/gpt-35-turbo', 'gpt-3.5-turbo', 16_385],
  ['claude-haiku-4-5-20251001', 'claude-haiku-4-5', 200_000],
  ['claude-sonnet-4-20250514', 'claude-sonnet-4', 200_000],
  ['us.anthropic.claude-sonnet-4-5-20250929-v1:0', 'claude-sonnet-4-5', 200_000],
  ['claude-3-5-sonnet-v2@20241022', 'claude-3-5-sonnet', 200_000],
  ['anthropic/claude-opus-4.6', 'claude-opus-4-6', 1_000_000],
  ['anthropic:claude-opus-5', 'claude-opus-5', 1_000_000],
  ['claude-sonnet-4-5[1m]', 'claude-sonnet-4-5[1m]', 1_000_000],
  ['models/gemini-2.5-pro', 'gemini-2.5-pro', 1_048_576],
  ['gemini-2.5-flash-lite-preview-06-17', 'gemini-2.5-flash', 1_048_576],
  ['gemini-3-flash-preview', 'gemini-3', 1_048_576],
  ['mistral-large-latest', 'mistral-large-3', 262_144],
  ['mistral-large-2411', 'mistral-large-2', 131_072],
  ['mistral/codestral-2508', 'codestral', 262_144],
  ['meta-llama/Llama-3.3-70B-Instruct-Turbo', 'llama-3.3', 131_072],
  ['meta.llama3-1-70b-instruct-v1:0', 'llama-3.1', 131_072],
  ['llama3:8b', 'llama-3', 8192],
  ['accounts/fireworks/models/llama-v3p3-70b-instruct', 'llama-3.3', 131_072],
  ['llama-4-maverick-17b-128e-instruct', 'llama-4-maverick', 1_000_000],
  ['deepseek-v4-flash', 'deepseek-v4', 1_000_000],
])('%s has the context window of %s', (model, id, tokens) => {
  expect(windows.lookup(model)).toEqual({ id, tokens });
});

test.each(['gpt-4.7', 'gpt-5.9-turbo', 'gpt-4ox', 'my-company/gpt4-finetune', 'claude', 'gemini-9-ultra', 'o9', ''])(
  '%s is unknown rather than guessed from a shorter name',
  (model) => {
    expect(windows.lookup(model)).toBeUndefined();
  },
);

test('bare model names drop provider paths and prefixes', () => {
  expect(bareModelName('  OpenAI/GPT-4o ')).toBe('gpt-4o');
  expect(bareModelName('eu.anthropic.claude-3-haiku-20240307-v1:0')).toBe('claude-3-haiku-20240307-v1:0');
  expect(bareModelName('google-gla:gemini-2.5-pro')).toBe('gemini-2.5-pro');
});
