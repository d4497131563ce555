/** Calls and detections of a stored trace, as the task and conversation routes answer them. */
import type { Finding } from '../../core/evaluation';
import { isoOfNanos } from './agent-stored-spans';
import type { StoredSpanRow } from './agent-stored-spans';

function finishReasons(text: string | undefined): string[] {
  if (text === undefined || text === '') return [];
  if (text.startsWith('[')) {
    try {
      const parsed = JSON.parse(text) as unknown;
      if (Array.isArray(parsed)) return parsed.filter((r): r is string => typeof r === 'string');
    } catch {
      // Not JSON: a comma-separated list, as some SDKs send it.
    }
  }
  return text.split(',').map((r) => r.trim()).filter((r) => r !== '');
}

const numberOr = (text: string | undefined): number | null => (text === undefined || text === '' || !Number.isFinite(Number(text)) ? null : Number(text));

export function callOfRow(row: StoredSpanRow): Record<string, unknown> {
  const a = row.SpanAttributes;
  const tool = row.GenAIOperation === 'execute_tool';
  const input = Number(row.InputTokens);
  const output = Number(row.OutputTokens);
  return {
    span_id: row.SpanId,
    parent_span_id: row.ParentSpanId === '' ? null : row.ParentSpanId,
    type: tool ? 'tool' : 'llm',
    operation: row.GenAIOperation,
    name: row.SpanName,
    ...(tool ? { tool_name: a['gen_ai.tool.name'] ?? row.SpanName.replace(/^execute_tool /, '') } : {}),
    model: row.GenAIResponseModel || row.GenAIRequestModel || null,
    provider: row.GenAIProvider || null,
    status: row.StatusCode === 'Error' ? 'error' : 'ok',
    error: row.StatusCode === 'Error' ? row.StatusMessage || 'error' : null,
    started_at: isoOfNanos(row.start_ns),
    latency_ms: Number(BigInt(row.Duration) / 1000n) / 1000,
    ttft_ms: numberOr(a['tracehouse.proxy.ttft_ms']),
    input_tokens: input,
    output_tokens: output,
    total_tokens: input + output,
    cost_usd: row.CostUsd,
    finish_reasons: finishReasons(a['gen_ai.response.finish_reasons']),
    conversation_id: a['gen_ai.conversation.id'] ?? null,
    user_id: a['enduser.id'] ?? null,
  };
}

/** A finding as the agent routes answer it. */
export function detectionAnswer(finding: Finding, spanId: string, atNanos: string | bigint): Record<string, unknown> {
  return {
    type: finding.ruleType,
    rule_id: finding.ruleId,
    name: finding.ruleName,
    severity: finding.severity,
    detail: finding.detail ?? null,
    span_id: spanId,
    detected_at: isoOfNanos(atNanos),
  };
}

/** The detection a stored agent_finding record holds, undefined when its finding is unreadable. */
export function detectionOfRecord(row: StoredSpanRow): Record<string, unknown> | undefined {
  try {
    const finding = JSON.parse(row.SpanAttributes['tracehouse.finding'] ?? '') as Finding;
    return typeof finding?.ruleType === 'string' ? detectionAnswer(finding, row.ParentSpanId, row.start_ns) : undefined;
  } catch {
    return undefined;
  }
}
