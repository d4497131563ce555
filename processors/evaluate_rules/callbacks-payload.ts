import { appliedRulesOf } from '../../core/evaluation';
import type { AppliedRule, Finding, SpanEvaluation, Verdict } from '../../core/evaluation';
import type { AttributeValue, Span } from '../../core/span';

/** The JSON body POSTed to a log's callbackUrl when its evaluation completes. */
export interface EvaluationCallback {
  event: 'evaluation.completed';
  /** The log's id (tracehouse.log_id); null for a span that did not come in as a log. */
  id: string | null;
  traceId: string;
  spanId: string;
  project: string | null;
  task: string | null;
  /** As the log API's status answer: the verdict (pass, flagged or error). */
  status: Verdict;
  verdict: Verdict;
  /** Every rule applied, whatever its outcome. */
  appliedRules: AppliedRule[];
  /** The rules that triggered or erred, with severity and why (never the matched text). */
  findings: Finding[];
  /** The log's date (the span's start), ISO 8601. */
  timestamp: string;
}

function text(value: AttributeValue | undefined): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

function isoFromUnixNano(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  return Number.isFinite(ms) && ms >= 0 && ms <= 8.64e15 ? new Date(ms).toISOString() : new Date(0).toISOString();
}

export function evaluationCallback(span: Span, evaluation: SpanEvaluation): EvaluationCallback {
  const attrs = span.attributes;
  return {
    event: 'evaluation.completed',
    id: text(attrs['tracehouse.log_id']),
    traceId: span.traceId,
    spanId: span.spanId,
    project: text(attrs['tracehouse.project']),
    task: text(attrs['tracehouse.task']),
    status: evaluation.verdict,
    verdict: evaluation.verdict,
    appliedRules: appliedRulesOf(evaluation.findings),
    findings: evaluation.findings.filter((f) => f.outcome !== 'passed').map((f) => ({ ...f })),
    timestamp: isoFromUnixNano(span.startTimeUnixNano),
  };
}
