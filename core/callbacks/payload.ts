/** The JSON bodies POSTed to a log's callbackUrl. */
import { appliedRulesOf } from '../evaluation';
import type { AppliedRule, Finding, SpanEvaluation, Verdict } from '../evaluation';
import type { AttributeValue, Span } from '../span';

/** When a log's evaluation completes. */
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

export type HumanDecision = 'approved' | 'rejected';

/** When a reviewer approves or rejects a log (PATCH /api/logs/:id/decision, PATCH /api/logs/bulk). */
export interface DecisionCallback {
  event: 'decision.recorded';
  id: string;
  traceId: string;
  spanId: string;
  project: string | null;
  task: string | null;
  /** The log's verdict, as the status answer gives it. */
  status: string;
  verdict: string;
  humanDecision: HumanDecision;
  /** Who decided: the key's non-secret name ("key:<12 hex>"). */
  decidedBy: string;
  /** ISO 8601. */
  decidedAt: string;
  /** The log's date, ISO 8601. */
  timestamp: string;
}

/** Where a callback goes and what it is about, for queueing and logging (never the URL). */
export interface CallbackDelivery {
  url: string;
  payload: { id: string | null; traceId: string; spanId: string };
}

function text(value: AttributeValue | undefined): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

export function isoFromUnixNano(ns: bigint): string {
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
