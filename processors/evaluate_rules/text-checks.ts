import { inputRuleCheck } from '../../core/rules/text-rules';
import type { TextCheck } from '../../core/rules/text-rules';
import type { Span } from '../../core/span';
import type { SpanCheck } from './check';
import { erred, PASSED, triggered } from './check';
import { compileJsonSchema, schemaFailure } from './json-schema';
import type { JsonSchemaValue } from './json-schema';
import type { RuleConfig, RuleTarget } from './rule-config';
import type { TextRuleType } from './rule-types';
import type { SpanTexts } from './span-text';

export type TextRuleConfig = Extract<RuleConfig, { type: TextRuleType }>;

/** A rule over the target text: it applies when the span carries that text. */
export function textRuleCheck(rule: TextRuleConfig): SpanCheck {
  const check = textCheck(rule);
  const target: RuleTarget = rule.target;
  return (_span: Span, texts: SpanTexts) => {
    const text = texts.of(target);
    if (text.kind === 'absent') return undefined;
    if (text.kind === 'unreadable') return erred(text.reason);
    return check(text.text);
  };
}

function textCheck(rule: TextRuleConfig): TextCheck {
  switch (rule.type) {
    // Keyword, regex and length checks are core/rules', shared with the gateway's preflight.
    case 'keyword_required':
    case 'keyword_forbidden':
    case 'regex_required':
    case 'regex_forbidden':
    case 'min_length':
    case 'max_length':
      return inputRuleCheck(rule);
    case 'json_valid':
      // JSON.parse's message quotes the text, so the detail does not pass it on.
      return (text) => (parseJson(text) === NOT_JSON ? triggered('not valid JSON') : PASSED);
    case 'json_schema':
      return jsonSchemaCheck(rule.value as JsonSchemaValue);
  }
}

function jsonSchemaCheck(schema: JsonSchemaValue): TextCheck {
  const validate = compileJsonSchema(schema);
  return (text) => {
    const data = parseJson(text);
    if (data === NOT_JSON) return triggered('not valid JSON');
    let valid: boolean;
    try {
      valid = validate(data) as boolean;
    } catch (err) {
      // The validator's own message may quote the data; its class is enough to investigate.
      return erred(`the schema validator failed (${(err as Error).name})`);
    }
    return valid ? PASSED : triggered(schemaFailure(validate));
  };
}

const NOT_JSON = Symbol('not JSON');

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return NOT_JSON;
  }
}
