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

/**
 * What a rule managed over HTTP adds to its engine config: how findings name it (the API's own
 * type, raw value and scope, not the engine's translation) and a scope condition the config
 * cannot express (a project named by id, resolved when a span is evaluated).
 */
export interface ManagedRuleExtras {
  shown?: Pick<RuleIdentity, 'ruleType' | 'ruleValue' | 'scope'>;
  inScope?: ScopeTest;
}

export type JudgeRuleConfig = Extract<RuleConfig, { type: 'llm_judge' }>;

/** An llm_judge rule: evaluated asynchronously, by the processor's judge (judge-rules.ts). */
export interface CompiledJudgeRule {
  identity: RuleIdentity;
  inScope: ScopeTest;
  rule: JudgeRuleConfig;
}

/**
 * The enabled rules of a config, compiled once, evaluated span by span. llm_judge rules are kept
 * apart: `evaluate` runs the synchronous rules, `judgeRulesFor` names the judge rules in scope.
 */
export class RuleEngine {
  private readonly rules: readonly CompiledRule[];
  private readonly judgeRules: readonly CompiledJudgeRule[];

  constructor(rules: readonly RuleConfig[], extras?: ReadonlyMap<RuleConfig, ManagedRuleExtras>) {
    const enabled = rules.filter((rule) => rule.enabled);
    this.rules = enabled.filter((rule) => rule.type !== 'llm_judge').map((rule) => compileRule(rule, extras?.get(rule)));
    this.judgeRules = enabled
      .filter((rule): rule is JudgeRuleConfig => rule.type === 'llm_judge')
      .map((rule) => ({ identity: identityOf(rule, extras?.get(rule)), inScope: inScopeOf(rule, extras?.get(rule)), rule }));
  }

  get size(): number {
    return this.rules.length + this.judgeRules.length;
  }

  /** Whether any llm_judge rule is enabled (no judge work at all otherwise). */
  get hasJudgeRules(): boolean {
    return this.judgeRules.length > 0;
  }

  /** The llm_judge rules in scope for the span, in config order. */
  judgeRulesFor(span: Span): CompiledJudgeRule[] {
    return this.judgeRules.filter((rule) => rule.inScope(span));
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

function identityOf(rule: RuleConfig, extras: ManagedRuleExtras | undefined): RuleIdentity {
  return {
    ruleId: rule.id,
    ruleName: rule.name ?? rule.id,
    ruleType: extras?.shown?.ruleType ?? rule.type,
    ruleValue: extras?.shown?.ruleValue ?? ruleValueText(rule),
    scope: extras?.shown?.scope ?? scopeLabel(rule.scope),
    severity: rule.severity,
  };
}

function inScopeOf(rule: RuleConfig, extras: ManagedRuleExtras | undefined): ScopeTest {
  const configured = scopeTest(rule.scope);
  const extra = extras?.inScope;
  return extra ? (span) => configured(span) && extra(span) : configured;
}

function compileRule(rule: Exclude<RuleConfig, JudgeRuleConfig>, extras: ManagedRuleExtras | undefined): CompiledRule {
  return { identity: identityOf(rule, extras), inScope: inScopeOf(rule, extras), check: checkFor(rule) };
}

function checkFor(rule: Exclude<RuleConfig, JudgeRuleConfig>): SpanCheck {
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
