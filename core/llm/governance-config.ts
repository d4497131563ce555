/**
 * The `preflight:` options of a gateway (the proxy receiver): what is checked in-process before a
 * call is forwarded. Rules use the syntax of the evaluate_rules processor, restricted to the types
 * that judge a text alone (core/rules); detectors are the redact processor's (core/pii).
 */
import { z } from 'zod';
import { BUILTIN_DETECTOR_NAMES } from '../pii/names';
import { INPUT_RULE_TYPES, keywordRuleSchema, lengthRuleSchema, regexRuleSchema, SEVERITIES } from '../rules/text-rules';

/** What a detector's match does: refuse the call, mask it before it leaves, or nothing. */
export const PII_ACTIONS = ['block', 'mask', 'allow'] as const;
export type PiiAction = (typeof PII_ACTIONS)[number];

const piiAction = z.enum(PII_ACTIONS);

export const piiSchema = z
  .strictObject({
    /** The action of every built-in detector not listed in `detectors`. */
    default: piiAction.default('allow'),
    detectors: z.partialRecord(z.enum(BUILTIN_DETECTOR_NAMES), piiAction).default({}),
  })
  .prefault({});

/** The fields evaluate_rules rules have, as far as a request before forwarding can honour them. */
const ruleFields = {
  id: z.string().min(1),
  /** Shown in findings; the id when absent. */
  name: z.string().min(1).optional(),
  severity: z.enum(SEVERITIES).default('medium'),
  enabled: z.boolean().default(true),
  /** Only `input`: a request has no output yet (accepted so that rules copy over unchanged). */
  target: z.literal('input', { error: () => 'must be input: a request has no output yet' }).default('input'),
  /** Where the rule applies: the caller's workspace and a glob over the requested model. */
  scope: z
    .strictObject({
      workspace: z.string().min(1).optional(),
      model: z.string().min(1).optional(),
    })
    .optional(),
};

const KNOWN_TYPES = INPUT_RULE_TYPES.map((t) => `"${t}"`).join(', ');

export const preflightRuleSchema = z.discriminatedUnion(
  'type',
  [
    keywordRuleSchema('keyword_required', ruleFields),
    keywordRuleSchema('keyword_forbidden', ruleFields),
    regexRuleSchema('regex_required', ruleFields),
    regexRuleSchema('regex_forbidden', ruleFields),
    lengthRuleSchema('min_length', ruleFields),
    lengthRuleSchema('max_length', ruleFields),
  ],
  {
    error: (issue) => {
      if (issue.code !== 'invalid_union') return undefined;
      const input = issue.input;
      const type = input !== null && typeof input === 'object' && !Array.isArray(input) ? (input as Record<string, unknown>).type : undefined;
      if (type === undefined) return `missing rule type: expected one of ${KNOWN_TYPES}`;
      return `rule type ${JSON.stringify(type)} cannot judge a request before forwarding: expected one of ${KNOWN_TYPES}`;
    },
  },
);

export type PreflightRuleConfig = z.output<typeof preflightRuleSchema>;

/** A spend budget of one workspace: most USD in the window; a call is refused (403) once it is reached. */
export const workspaceBudgetSchema = z.strictObject({
  usd: z.number().positive(),
  window_seconds: z.number().int().positive().max(366 * 86_400),
});

const budgetSchema = workspaceBudgetSchema.extend({
  /** Budgets of particular workspaces, instead of `usd`. */
  workspaces: z.record(z.string().min(1), z.strictObject({ usd: z.number().positive() })).default({}),
});

/**
 * The checks a preflight and a guardrail policy of the control plane have in common (one body
 * means the same in both): PII actions, input rules, the model allow-list and the input size.
 */
export const preflightChecks = {
  pii: piiSchema,
  rules: z.array(preflightRuleSchema).default([]),
  /** Only models matching one of these globs (core/glob: case-insensitive, `*` crosses `/`) are forwarded. */
  models: z.strictObject({ allow: z.array(z.string().min(1)).min(1) }).optional(),
  /** Request bodies larger than this are refused (400) before anything else is checked. */
  max_input_bytes: z.number().int().positive().optional(),
};

/** Rule ids are unique within one list of rules. */
export function checkRuleIds(rules: readonly { id: string }[], ctx: z.RefinementCtx): void {
  const first = new Map<string, number>();
  rules.forEach((rule, i) => {
    const seen = first.get(rule.id);
    if (seen === undefined) first.set(rule.id, i);
    else ctx.addIssue({ code: 'custom', path: ['rules', i, 'id'], message: `duplicate rule id "${rule.id}" (also rules.${seen}.id)` });
  });
}

export const preflightConfigSchema = z
  .strictObject({
    ...preflightChecks,
    budget: budgetSchema.optional(),
  })
  .superRefine((config, ctx) => checkRuleIds(config.rules, ctx));

export type PreflightConfig = z.output<typeof preflightConfigSchema>;
