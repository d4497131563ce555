import type { Finding } from '../../core/evaluation';
import type { Span } from '../../core/span';
import type { CheckResult, SpanCheck } from './check';
import { erred } from './check';
import type { RuleConfig } from './rule-config';
import { scopeLabel, scopeTest } from './rule-scope';
import type { ScopeTest } from './rule-scope';
import { confidenceCheck, costCheck, finishReasonCheck, latencyCheck, modelCheck, piiCheck } from './span-checks';
import { SpanTexts } from './span-text';
import { textRuleCheck } from './text-checks';

/** What every finding of a rule repeats. */
type RuleIdentity = Omit<Finding, 'outcome' | 'detail'>;

interface CompiledRule {
  identity: RuleIdentity;
  inScope: ScopeTest;
  check: SpanCheck;
}

/** The enabled rules of a config, compiled once, evaluated span by span. */
export class RuleEngine {
  private readonly rules: readonly CompiledRule[];

  constructor(rules: readonly RuleConfig[]) {
    this.rules = rules.filter((rule) => rule.enabled).map(compileRule);
  }

  get size(): number {
    return this.rules.length;
  }

  /** A finding for every rule that is in scope and applies to the span, in config order. */
  evaluate(span: Span): Finding[] {
    const findings: Finding[] = [];
    // The default pipeline runs with no rules: no per-span work then.
    if (this.rules.length === 0) return findings;
    const texts = new SpanTexts(span.attributes);
    for (const rule of this.rules) {
      if (!rule.inScope(span)) continue;
      let result: CheckResult | undefined;
      try {
        result = rule.check(span, texts);
      } catch (err) {
        // A check that throws is a bug or a hostile input; the span still gets a verdict.
        result = erred(`evaluation failed (${(err as Error).name})`);
      }
      if (result === undefined) continue;
      findings.push(result.detail === undefined ? { ...rule.identity, outcome: result.outcome } : { ...rule.identity, outcome: result.outcome, detail: result.detail });
    }
    return findings;
  }
}

function compileRule(rule: RuleConfig): CompiledRule {
  return {
    identity: {
      ruleId: rule.id,
      ruleName: rule.name ?? rule.id,
      ruleType: rule.type,
      ruleValue: ruleValueText(rule),
      scope: scopeLabel(rule.scope),
      severity: rule.severity,
    },
    inScope: scopeTest(rule.scope),
    check: checkFor(rule),
  };
}

function checkFor(rule: RuleConfig): SpanCheck {
  switch (rule.type) {
    case 'confidence_threshold':
      return confidenceCheck(rule);
    case 'latency_threshold_ms':
      return latencyCheck(rule);
    case 'cost_threshold_usd':
      return costCheck(rule);
    case 'pii_detected':
      return piiCheck(rule);
    case 'finish_reason_in':
      return finishReasonCheck(rule);
    case 'model_in':
      return modelCheck(rule);
    default:
      return textRuleCheck(rule);
  }
}

/** The rule's parameter as findings show it: text as written, lists and schemas as JSON. */
export function ruleValueText(rule: RuleConfig): string {
  switch (rule.type) {
    case 'regex_required':
    case 'regex_forbidden':
      return `/${rule.value}/${rule.flags}`;
    case 'json_valid':
      return '';
    case 'pii_detected':
      return rule.value === undefined ? 'any' : JSON.stringify(rule.value);
    default:
      return typeof rule.value === 'string' || typeof rule.value === 'number' ? String(rule.value) : JSON.stringify(rule.value);
  }
}
