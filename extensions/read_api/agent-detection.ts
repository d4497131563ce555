/**
 * Agent-run detection (loops, tool failures, context) over a stored trace: with the settings of
 * the evaluate_rules processor when one runs (its RuleEvaluator capability), else with the
 * detections' defaults (core/agent-runs).
 */
import { AgentRunDetector, agentRunsConfigSchema } from '../../core/agent-runs/detector';
import type { Host } from '../../core/component';
import { withSpanAttributes } from '../../core/span';
import type { Span } from '../../core/span';

export async function detectAgentRuns(host: Host, spans: readonly Span[], workspace: string, signal?: AbortSignal): Promise<Span[]> {
  const evaluator = host.capability('ruleEvaluator');
  if (evaluator) return (await evaluator.evaluateSpans(spans, { workspace, rules: false, signal })).detections;
  const stamped = spans.map((span) => withSpanAttributes(span, { 'tracehouse.workspace': workspace }));
  return new AgentRunDetector(agentRunsConfigSchema.parse({})).inspect(stamped).records;
}
