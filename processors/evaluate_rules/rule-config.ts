import { z } from 'zod';
import { JUDGE_PROVIDERS } from '../../core/rules/api-rules';
import { keywordRuleSchema, lengthRuleSchema, regexRuleSchema, SEVERITIES } from '../../core/rules/text-rules';
import { compileJsonSchema } from './json-schema';
import type { JsonSchemaValue } from './json-schema';
import { RULE_TYPES } from './rule-types';

/** What a text rule reads: the output text, the input text, or one string attribute. */
const targetSchema = z
  .union([z.enum(['output', 'input']), z.strictObject({ attribute: z.string().min(1) })], {
    error: () => 'must be output, input or { attribute: <key> }',
  })
  .default('output');

export type RuleTarget = z.output<typeof targetSchema>;

/** Where a rule applies; every condition given must hold. Absent: every span. */
const scopeSchema = z.strictObject({
  workspace: z.string().min(1).optional(),
  project: z.string().min(1).optional(),
  task: z.string().min(1).optional(),
  /** A glob over gen_ai.response.model or gen_ai.request.model (core/glob, case-insensitive). */
  model: z.string().min(1).optional(),
});

export type RuleScope = z.output<typeof scopeSchema>;

const common = {
  id: z.string().min(1),
  /** Shown in findings and sync answers; the id when absent. */
  name: z.string().min(1).optional(),
  scope: scopeSchema.optional(),
  severity: z.enum(SEVERITIES).default('medium'),
  enabled: z.boolean().default(true),
};

const textRule = { ...common, target: targetSchema };

// Keyword, regex and length rules are defined in core/rules, shared with the gateway's preflight.
const keywordRule = <T extends string>(type: T) => keywordRuleSchema(type, textRule);
const regexRule = <T extends string>(type: T) => regexRuleSchema(type, textRule);
const lengthRule = <T extends string>(type: T) => lengthRuleSchema(type, textRule);

const jsonSchemaValue = z.union([z.boolean(), z.record(z.string(), z.unknown())], {
  error: () => 'must be a JSON Schema (an object, or true/false)',
});

const jsonSchemaRule = z
  .strictObject({ ...textRule, type: z.literal('json_schema'), value: jsonSchemaValue })
  .superRefine((rule, ctx) => {
    try {
      compileJsonSchema(rule.value as JsonSchemaValue);
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: `is not a valid JSON Schema: ${(err as Error).message}` });
    }
  });

const names = z.array(z.string().min(1)).min(1);

const ruleOptions = [
  keywordRule('keyword_required'),
  keywordRule('keyword_forbidden'),
  regexRule('regex_required'),
  regexRule('regex_forbidden'),
  lengthRule('min_length'),
  lengthRule('max_length'),
  z.strictObject({ ...textRule, type: z.literal('json_valid') }),
  jsonSchemaRule,
  z.strictObject({ ...common, type: z.literal('confidence_threshold'), value: z.number() }),
  z.strictObject({ ...common, type: z.literal('latency_threshold_ms'), value: z.number().nonnegative() }),
  z.strictObject({ ...common, type: z.literal('cost_threshold_usd'), value: z.number().nonnegative() }),
  /** Without a value: any detector counts. */
  z.strictObject({ ...common, type: z.literal('pii_detected'), value: names.optional() }),
  z.strictObject({ ...common, type: z.literal('finish_reason_in'), value: names }),
  /** Globs (core/glob, case-insensitive, `*` also crosses `/`). */
  z.strictObject({ ...common, type: z.literal('model_in'), value: names }),
  /**
   * The criteria an LLM judge checks the output (and the input, when present) against. Provider,
   * model and key: the rule's, else the workspace settings', else the processor's `judge` section.
   */
  z.strictObject({
    ...common,
    type: z.literal('llm_judge'),
    value: z.string().trim().min(1, 'must not be empty').max(10_000),
    provider: z.enum(JUDGE_PROVIDERS).optional(),
    model: z.string().min(1).max(200).optional(),
    /** Usually `${env:…}`; never shown in findings or the API. */
    api_key: z.string().min(1).optional(),
  }),
] as const;

const KNOWN_TYPES = RULE_TYPES.map((t) => `"${t}"`).join(', ');

export const ruleConfigSchema = z.discriminatedUnion('type', ruleOptions, {
  error: (issue) => {
    if (issue.code !== 'invalid_union') return undefined;
    const type = isRecord(issue.input) ? issue.input.type : undefined;
    if (type === undefined) return `missing rule type: expected one of ${KNOWN_TYPES}`;
    return `unknown rule type ${JSON.stringify(type)}: expected one of ${KNOWN_TYPES}`;
  },
});

export type RuleConfig = z.output<typeof ruleConfigSchema>;

/** Rule ids name findings and incidents, so two rules must not share one. */
export function checkUniqueRuleIds(rules: unknown, ctx: z.RefinementCtx): void {
  if (!Array.isArray(rules)) return;
  const first = new Map<string, number>();
  rules.forEach((rule: unknown, i) => {
    if (!isRecord(rule) || typeof rule.id !== 'string') return;
    const seen = first.get(rule.id);
    if (seen === undefined) first.set(rule.id, i);
    else ctx.addIssue({ code: 'custom', path: ['rules', i, 'id'], message: `duplicate rule id "${rule.id}" (also rules.${seen}.id)`, params: { code: 'CFG_DUPLICATE_ID' } });
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
