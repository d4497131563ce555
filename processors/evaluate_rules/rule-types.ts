/** Every rule type, in the order the README documents them. */
export const RULE_TYPES = [
  'keyword_required',
  'keyword_forbidden',
  'regex_required',
  'regex_forbidden',
  'min_length',
  'max_length',
  'json_valid',
  'json_schema',
  'confidence_threshold',
  'latency_threshold_ms',
  'cost_threshold_usd',
  'pii_detected',
  'finish_reason_in',
  'model_in',
] as const;

export type RuleType = (typeof RULE_TYPES)[number];

/** Rule types that read a text (the output, the input, or a string attribute) chosen by `target`. */
export const TEXT_RULE_TYPES = [
  'keyword_required',
  'keyword_forbidden',
  'regex_required',
  'regex_forbidden',
  'min_length',
  'max_length',
  'json_valid',
  'json_schema',
] as const satisfies readonly RuleType[];

export type TextRuleType = (typeof TEXT_RULE_TYPES)[number];

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;

/** Regular expression flags a rule may use; g and y are left out because they make test() stateful. */
export const REGEX_FLAGS = 'imsu';

/** True when `flags` are some of REGEX_FLAGS, each at most once. */
export function validRegexFlags(flags: string): boolean {
  for (let i = 0; i < flags.length; i++) if (!REGEX_FLAGS.includes(flags[i]) || flags.indexOf(flags[i]) !== i) return false;
  return true;
}
