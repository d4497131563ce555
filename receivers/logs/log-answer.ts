import { appliedRulesOf } from '../../core/evaluation';
import type { AppliedRule, SpanEvaluation, Verdict } from '../../core/evaluation';

/** One rule's outcome in a sync answer, as the log API's `verdict.rules` lists it. */
export interface RuleOutcome {
  name: string;
  triggered: boolean;
}

/** What evaluating a log decided; `appliedRules` only when a rule applied (the API's pass shape has none). */
export interface LogVerdict {
  pass: boolean;
  rules: RuleOutcome[];
  appliedRules?: AppliedRule[];
}

export type LogAnswer =
  | { ok: true; id: string; status: 'pending' }
  | { ok: true; id: string; status: Verdict; verdict: LogVerdict };

/** The 200 body of an async log: evaluation happens, but the client does not wait for it. */
export function pendingAnswer(id: string): LogAnswer {
  return { ok: true, id, status: 'pending' };
}

/**
 * The 200 body of a sync log: its evaluation by the pipeline, or "pass" with no rules when none
 * applied (or no evaluate_rules processor runs in the pipeline).
 */
export function syncAnswer(id: string, evaluation: SpanEvaluation | undefined): LogAnswer {
  const findings = evaluation?.findings ?? [];
  if (findings.length === 0) return { ok: true, id, status: 'pass', verdict: { pass: true, rules: [] } };
  const status: Verdict = evaluation?.verdict ?? 'pass';
  return {
    ok: true,
    id,
    status,
    verdict: {
      pass: status === 'pass',
      rules: findings.map((f) => ({ name: f.ruleName, triggered: f.outcome === 'triggered' })),
      appliedRules: appliedRulesOf(findings),
    },
  };
}
