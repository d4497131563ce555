/**
 * The rules over a text that both the `evaluate_rules` processor (on a stored span's output, input
 * or attribute) and the gateway's preflight (on a request's input, before it is forwarded) apply:
 * keywords, regular expressions and length limits. One definition of their syntax (the zod
 * builders below) and one implementation of their checks, so a rule means the same in both.
 */
import { z } from 'zod';
import { LinearRegex, linearRegexProblem } from '../linear-regex';
import { PASSED, triggered } from './check';
import type { CheckResult } from './check';

/** The text rule types that need nothing but the text (no JSON, no span): those a request's input can be judged by. */
export const INPUT_RULE_TYPES = [
  'keyword_required',
  'keyword_forbidden',
  'regex_required',
  'regex_forbidden',
  'min_length',
  'max_length',
] as const;

export type InputRuleType = (typeof INPUT_RULE_TYPES)[number];

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;

/** Regular expression flags a rule may use; g and y are left out because they make test() stateful. */
export const REGEX_FLAGS = 'imsu';

/** True when `flags` are some of REGEX_FLAGS, each at most once. */
export function validRegexFlags(flags: string): boolean {
  for (let i = 0; i < flags.length; i++) if (!REGEX_FLAGS.includes(flags[i]) || flags.indexOf(flags[i]) !== i) return false;
  return true;
}

const keywords = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)], {
  error: () => 'must be a keyword or a non-empty list of keywords',
});

/** keyword_required / keyword_forbidden, with the other fields of the rule (id, target, scope, ...). */
export function keywordRuleSchema<T extends string, F extends z.ZodRawShape>(type: T, fields: F) {
  return z.strictObject({ ...fields, type: z.literal(type), value: keywords, case_sensitive: z.boolean().default(false) });
}

/** regex_required / regex_forbidden: the pattern must compile on the linear-time engine (RE2). */
export function regexRuleSchema<T extends string, F extends z.ZodRawShape>(type: T, fields: F) {
  return z
    .strictObject({
      ...fields,
      type: z.literal(type),
      /**
       * JavaScript regular expression source, without slashes. Runs on the linear-time engine
       * (RE2): lookaround and backreferences are refused when the config loads.
       */
      value: z.string().min(1),
      flags: z.string().refine(validRegexFlags, 'must be some of i, m, s, u, each at most once').default(''),
    })
    .superRefine((rule, ctx) => {
      // The generic shape hides the fields from the compiler; they are the ones declared just above.
      const { value, flags } = rule as unknown as { value: string; flags: string };
      if (!validRegexFlags(flags)) return;
      const problem = linearRegexProblem(value, flags);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', path: ['value'], message: problem });
    });
}

/** min_length / max_length, in characters (code points). */
export function lengthRuleSchema<T extends string, F extends z.ZodRawShape>(type: T, fields: F) {
  return z.strictObject({ ...fields, type: z.literal(type), value: z.number().int().nonnegative() });
}

/** The parameters of an input rule that its check reads (whatever else the rule carries). */
export type InputRuleParameters =
  | { type: 'keyword_required' | 'keyword_forbidden'; value: string | string[]; case_sensitive: boolean }
  | { type: 'regex_required' | 'regex_forbidden'; value: string; flags: string }
  | { type: 'min_length' | 'max_length'; value: number };

export type TextCheck = (text: string) => CheckResult;

/** The check of one input rule, compiled once. Linear in the text's length whatever the rule. */
export function inputRuleCheck(rule: InputRuleParameters): TextCheck {
  switch (rule.type) {
    case 'keyword_required':
    case 'keyword_forbidden':
      return keywordCheck(rule.type === 'keyword_required', rule.value, rule.case_sensitive);
    case 'regex_required':
    case 'regex_forbidden': {
      // Linear in the text's length whatever the pattern (RE2); the config check refused what RE2 cannot run.
      const pattern = LinearRegex.compile(rule.value, rule.flags);
      return rule.type === 'regex_required'
        ? (text) => (pattern.test(text) ? PASSED : triggered('no match for the pattern'))
        : (text) => (pattern.test(text) ? triggered('matches the pattern') : PASSED);
    }
    case 'min_length': {
      const min = rule.value;
      return (text) => {
        const n = characters(text);
        return n < min ? triggered(`${n} characters, fewer than ${min}`) : PASSED;
      };
    }
    case 'max_length': {
      const max = rule.value;
      return (text) => {
        const n = characters(text);
        return n > max ? triggered(`${n} characters, more than ${max}`) : PASSED;
      };
    }
  }
}

/**
 * keyword_required: every keyword must occur (triggers when one is missing); keyword_forbidden:
 * none may occur (triggers when one does). Keywords are plain substrings. Findings name keywords
 * by position in the rule's list, so that not even a forbidden word's spelling is copied out.
 */
function keywordCheck(required: boolean, value: string | string[], caseSensitive: boolean): TextCheck {
  const keywords = typeof value === 'string' ? [value] : value;
  const needles = caseSensitive ? keywords : keywords.map((k) => k.toLowerCase());
  const what = required ? 'required' : 'forbidden';
  return (text) => {
    const haystack = caseSensitive ? text : text.toLowerCase();
    const hits: number[] = [];
    needles.forEach((needle, i) => {
      if (haystack.includes(needle) !== required) hits.push(i + 1);
    });
    if (hits.length === 0) return PASSED;
    const verb = required ? 'missing' : 'contains';
    if (keywords.length === 1) return triggered(`${verb} the ${what} keyword`);
    return triggered(`${verb} ${hits.length} of ${keywords.length} ${what} keywords (#${hits.join(', #')})`);
  };
}

/** Length in Unicode code points, so that an emoji or a CJK character outside the BMP counts once. */
export function characters(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // A high surrogate followed by a low one is one character.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/**
 * The text a rule reads from GenAI messages (gen_ai.input.messages, or a gateway request's input):
 * the text parts, joined by newlines. Undefined when no message has a text part (only tool calls):
 * there is no text to judge, so the rule does not apply rather than flagging every tool-calling step.
 */
export function messagesText(messages: readonly unknown[]): string | undefined {
  const texts: string[] = [];
  for (const message of messages) {
    const parts = isRecord(message) ? message.parts : undefined;
    if (!Array.isArray(parts)) continue;
    for (const part of parts) {
      if (isRecord(part) && part.type === 'text' && typeof part.content === 'string') texts.push(part.content);
    }
  }
  return texts.length === 0 ? undefined : texts.join('\n');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
