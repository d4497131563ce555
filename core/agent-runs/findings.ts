/**
 * The findings of agent-run detection and the trace-level record each one also becomes: a
 * zero-duration span under the span that completed the pattern.
 */
import type { Finding } from '../evaluation';
import { spanIdFor } from '../ingest/ids';
import { makeSpan } from '../span';
import type { Attributes, InstrumentationScope, Span } from '../span';
import type { AgentDetection, AgentRunsConfig } from './config';
import { FINDING_RECORD_TYPE } from './signals';

export interface Detected {
  detection: AgentDetection;
  finding: Finding;
  /**
   * What makes the record unique within its trace (a pattern hash, a span id, or '' for a
   * once-per-trace finding), so that a replay or a re-detection rewrites the same record.
   */
  recordKey: string;
}

const RULE_NAMES: Record<AgentDetection, string> = {
  execution_loop: 'Agent execution loop',
  tool_failure: 'Agent tool failure',
  tool_failure_rate: 'Agent tool failure rate',
  context_truncated: 'Agent completion truncated',
  context_window: 'Agent context window nearly full',
};

function ruleValue(config: AgentRunsConfig, detection: AgentDetection): string {
  switch (detection) {
    case 'execution_loop':
      return String(config.loop_threshold);
    case 'tool_failure':
      return 'error';
    case 'tool_failure_rate':
      return String(config.tool_failure_rate);
    case 'context_truncated':
      return 'length';
    case 'context_window':
      return String(config.context_fraction);
  }
}

export function detected(config: AgentRunsConfig, detection: AgentDetection, detail: string, recordKey: string): Detected {
  return {
    detection,
    recordKey,
    finding: {
      ruleId: `agent.${detection}`,
      ruleName: RULE_NAMES[detection],
      ruleType: detection,
      ruleValue: ruleValue(config, detection),
      scope: 'trace',
      severity: config.detections[detection].severity,
      outcome: 'triggered',
      detail,
    },
  };
}

// Copied onto the record so that it is stored, grouped and alerted on with its trace's context.
const CONTEXT_KEYS = ['tracehouse.workspace', 'tracehouse.project', 'tracehouse.environment', 'tracehouse.task'] as const;

const RECORD_SCOPE: InstrumentationScope = Object.freeze({
  name: 'tracehouse.evaluate_rules',
  version: '',
  attributes: Object.freeze({}) as Attributes,
  droppedAttributesCount: 0,
});

function workspaceOf(span: Span): string {
  const own = span.attributes['tracehouse.workspace'];
  if (typeof own === 'string') return own;
  const resource = span.resource.attributes['tracehouse.workspace'];
  return typeof resource === 'string' ? resource : '';
}

/**
 * The trace-level record of a finding. Everything in it follows from the completing span and
 * the finding (no clock, no random id), so a replayed batch produces the very same row.
 */
export function findingRecord(completing: Span, found: Detected): Span {
  const { traceId } = completing;
  const attributes: Attributes = {};
  for (const key of CONTEXT_KEYS) {
    const value = completing.attributes[key];
    if (value !== undefined) attributes[key] = value;
  }
  attributes['tracehouse.record_type'] = FINDING_RECORD_TYPE;
  attributes['tracehouse.finding'] = JSON.stringify(found.finding);
  attributes['tracehouse.finding.rule_id'] = found.finding.ruleId;
  attributes['tracehouse.finding.severity'] = found.finding.severity;
  attributes['tracehouse.verdict'] = 'flagged';
  const at = completing.endTimeUnixNano > 0n ? completing.endTimeUnixNano : completing.startTimeUnixNano;
  return makeSpan({
    traceId,
    spanId: spanIdFor(workspaceOf(completing), traceId, `${FINDING_RECORD_TYPE}\u0000${found.finding.ruleId}\u0000${found.recordKey}`),
    parentSpanId: completing.spanId,
    name: `${FINDING_RECORD_TYPE} ${found.detection}`,
    kind: 'internal',
    startTimeUnixNano: at,
    endTimeUnixNano: at,
    attributes,
    resource: completing.resource,
    scope: RECORD_SCOPE,
  });
}
