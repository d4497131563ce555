import { LinearRegex } from '../../core/linear-regex';
import type { Span } from '../../core/span';
import type { CheckResult, SpanCheck } from './check';
import { erred, PASSED, triggered } from './check';
import { compileJsonSchema, schemaFailure } from './json-schema';
import type { JsonSchemaValue } from './json-schema';
import type { RuleConfig, RuleTarget } from './rule-config';
import type { TextRuleType } from './rule-types';
import type { SpanTexts } from './span-text';

export type TextRuleConfig = Extract<RuleConfig, { type: TextRuleType }>;

type TextCheck = (text: string) => CheckResult;

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
    case 'min_length':
      return (text) => {
        const n = characters(text);
        return n < rule.value ? triggered(`${n} characters, fewer than ${rule.value}`) : PASSED;
      };
    case 'max_length':
      return (text) => {
        const n = characters(text);
        return n > rule.value ? triggered(`${n} characters, more than ${rule.value}`) : PASSED;
      };
    case 'json_valid':
      // JSON.parse's message quotes the text, so the detail does not pass it on.
      return (text) => (parseJson(text) === NOT_JSON ? triggered('not valid JSON') : PASSED);
    case 'json_schema':
      return jsonSchemaCheck(rule.value as JsonSchemaValue);
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
