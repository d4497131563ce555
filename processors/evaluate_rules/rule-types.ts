import { INPUT_RULE_TYPES } from '../../core/rules/text-rules';

/** Every rule type, in the order the README documents them. */
export const RULE_TYPES = [
  ...INPUT_RULE_TYPES,
  'json_valid',
  'json_schema',
  'confidence_threshold',
  'latency_threshold_ms',
  'cost_threshold_usd',
  'pii_detected',
  'finish_reason_in',
  'model_in',
  'llm_judge',
] as const;

export type RuleType = (typeof RULE_TYPES)[number];

/** Rule types that read a text (the output, the input, or a string attribute) chosen by `target`. */
export const TEXT_RULE_TYPES = [
  ...INPUT_RULE_TYPES,
  'json_valid',
  'json_schema',
] as const satisfies readonly RuleType[];

export type TextRuleType = (typeof TEXT_RULE_TYPES)[number];

export { REGEX_FLAGS, SEVERITIES, validRegexFlags } from '../../core/rules/text-rules';
