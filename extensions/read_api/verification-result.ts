/** A verification run's result, as stored (control-plane kind `verification`) and answered. */
import { verdictOf } from '../../core/evaluation';
import type { Finding, StoredSpansEvaluation } from '../../core/evaluation';
import type { Span } from '../../core/span';
import { detectionAnswer } from './agent-task-answers';

function findingAnswer(spanId: string, spanName: string, f: Finding): Record<string, unknown> {
  return {
    span_id: spanId,
    span_name: spanName,
    rule_id: f.ruleId,
    rule_name: f.ruleName,
    rule_type: f.ruleType,
    rule_value: f.ruleValue,
    scope: f.scope,
    severity: f.severity,
    outcome: f.outcome,
    detail: f.detail ?? null,
    confidence: f.confidence ?? null,
  };
}

export function verificationSpec(traceId: string, spans: readonly Span[], truncated: boolean, result: StoredSpansEvaluation, atMs: number): Record<string, unknown> {
  const names = new Map(spans.map((s) => [s.spanId, s.name]));
  const findings = result.spans.flatMap(({ spanId, evaluation }) => evaluation.findings.map((f) => findingAnswer(spanId, names.get(spanId) ?? '', f)));
  const detectionFindings = result.detections.map((r) => JSON.parse(String(r.attributes['tracehouse.finding'])) as Finding);
  const all = [...result.spans.flatMap((s) => s.evaluation.findings), ...detectionFindings];
  const count = (outcome: Finding['outcome']) => all.filter((f) => f.outcome === outcome).length;
  return {
    trace_id: traceId,
    verdict: verdictOf(all),
    verified_at: new Date(atMs).toISOString(),
    spans_evaluated: spans.length,
    spans_truncated: truncated,
    rules_applied: [...new Set(findings.map((f) => String(f.rule_id)))].sort(),
    summary: { passed: count('passed'), triggered: count('triggered'), errors: count('error'), detections: detectionFindings.length },
    findings,
    detections: result.detections.map((r, i) => detectionAnswer(detectionFindings[i], r.parentSpanId, r.startTimeUnixNano)),
  };
}
