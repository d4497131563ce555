/**
 * What rule evaluation says about a span, shared by the processor that evaluates rules and the
 * receivers that answer with it (a log API's `sync: true`).
 */
import type { Span } from './span';

export type Verdict = 'pass' | 'flagged' | 'error';
export type FindingOutcome = 'passed' | 'triggered' | 'error';
export type Severity = 'low' | 'medium' | 'high' | 'critical';

/** One rule applied to one span, as a log-evaluation API's `appliedRules` reports it. */
export interface Finding {
  ruleId: string;
  ruleName: string;
  ruleType: string;
  /** The rule's parameter as text (keyword, pattern, threshold, ...). */
  ruleValue: string;
  /** Where the rule applies: global, or the workspace/project/task/model it is scoped to. */
  scope: string;
  severity: Severity;
  outcome: FindingOutcome;
  /** Why it triggered or erred (never the matched text). */
  detail?: string;
  /** How sure the check is, 0..1, when it says (an LLM judge). */
  confidence?: number;
}

/** One rule applied to a span, as a log-evaluation API's `appliedRules` lists it (answers, callbacks). */
export interface AppliedRule {
  ruleId: string;
  ruleName: string;
  ruleType: string;
  ruleValue: string;
  scope: string;
  outcome: FindingOutcome;
}

export function appliedRulesOf(findings: readonly Finding[]): AppliedRule[] {
  return findings.map((f) => ({ ruleId: f.ruleId, ruleName: f.ruleName, ruleType: f.ruleType, ruleValue: f.ruleValue, scope: f.scope, outcome: f.outcome }));
}

export interface SpanEvaluation {
  verdict: Verdict;
  findings: readonly Finding[];
}

/** What a pipeline learned about the spans of a batch, for receivers that answer with it. */
export interface ConsumeResult {
  /** Evaluations by span, keyed by spanKey(traceId, spanId). */
  readonly evaluations?: ReadonlyMap<string, SpanEvaluation>;
}

export function spanKey(traceId: string, spanId: string): string {
  return `${traceId}:${spanId}`;
}

const VERDICT_RANK: Record<Verdict, number> = { pass: 0, error: 1, flagged: 2 };

/** The verdict of several findings: flagged when one triggered, else error when one erred, else pass. */
export function verdictOf(findings: readonly Finding[]): Verdict {
  if (findings.some((f) => f.outcome === 'triggered')) return 'flagged';
  return findings.some((f) => f.outcome === 'error') ? 'error' : 'pass';
}

/**
 * Merges what several pipelines said about one batch (a receiver fanning out to two pipelines):
 * per span, the findings of both, and the graver verdict.
 */
export function mergeConsumeResults(results: readonly (ConsumeResult | void)[]): ConsumeResult | undefined {
  const withEvaluations = results.filter((r): r is ConsumeResult => r !== undefined && r.evaluations !== undefined);
  if (withEvaluations.length === 0) return undefined;
  if (withEvaluations.length === 1) return withEvaluations[0];
  const merged = new Map<string, SpanEvaluation>();
  for (const result of withEvaluations) {
    for (const [key, evaluation] of result.evaluations ?? []) {
      const seen = merged.get(key);
      merged.set(
        key,
        seen
          ? {
              verdict: VERDICT_RANK[evaluation.verdict] > VERDICT_RANK[seen.verdict] ? evaluation.verdict : seen.verdict,
              findings: [...seen.findings, ...evaluation.findings],
            }
          : evaluation,
      );
    }
  }
  return { evaluations: merged };
}

/**
 * Evaluates one rule, given in the log-evaluation API's shape, against an output without storing
 * anything (`POST /api/rules/evaluate`). Offered through the host by the rule engine's owner.
 */
export interface RuleEvaluator {
  evaluate(rule: Record<string, unknown>, output: string, options: { confidence?: number; workspace: string; signal?: AbortSignal }): Promise<Finding[]>;
  /**
   * Re-evaluates stored spans of one workspace (a trace read back from the store) against the
   * workspace's current rules (pipelines.yaml and HTTP-managed, llm_judge included, each in its
   * scope) when `rules` is true, and runs the agent-run detections over them with the processor's
   * settings. Nothing is stored or passed on: the caller decides what to keep.
   */
  evaluateSpans(spans: readonly Span[], options: { workspace: string; rules: boolean; signal?: AbortSignal }): Promise<StoredSpansEvaluation>;
}

/** What evaluateSpans found. */
export interface StoredSpansEvaluation {
  /** The rule findings of each span some rule applied to, in the order of the spans given. */
  spans: { spanId: string; evaluation: SpanEvaluation }[];
  /**
   * One trace-level record per agent-run finding (loop, tool failure, context), as the pipeline
   * writes them (`tracehouse.record_type` agent_finding, the finding as JSON in
   * `tracehouse.finding`, the completing span as parent, a deterministic span id).
   */
  detections: Span[];
}
