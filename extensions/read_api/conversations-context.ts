/**
 * Context failures of a conversation's calls, in time order: completions cut at their token limit
 * (finish reason length), inputs near or over the model's context window, calls the provider
 * refused for their length, and context lost between turns (a turn sending fewer messages than
 * the turn before it, so earlier history was dropped).
 */
import { builtInContextWindows } from '../../core/agent-runs/context-windows';
import type { StoredSpanRow } from './agent-stored-spans';
import { isoOfNanos } from './agent-stored-spans';

/** Input tokens at or above this fraction of the window are near it (evaluate_rules' default). */
export const NEAR_CONTEXT_FRACTION = 0.9;
const TRUNCATED = new Set(['length', 'max_tokens', 'max_output_tokens']);
const EXCEEDED = /context_length_exceeded|maximum context length|context window|prompt is too long/i;
/** Message lists longer than this are not parsed to compare turns. */
const MAX_MESSAGES_TEXT = 1024 * 1024;

export type ContextFailureType = 'truncated' | 'near_context_limit' | 'over_context_limit' | 'context_exceeded' | 'context_lost';

export interface ContextFailure {
  type: ContextFailureType;
  span_id: string;
  trace_id: string;
  task_id: string | null;
  model: string | null;
  at: string;
  input_tokens: number;
  context_window: number | null;
  detail: string;
}

function reasonsOf(text: string | undefined): string[] {
  if (!text) return [];
  try {
    const parsed = JSON.parse(text) as unknown;
    if (Array.isArray(parsed)) return parsed.map(String);
  } catch {
    // A plain or comma-separated value.
  }
  return text.split(',').map((r) => r.trim());
}

function messageCount(row: StoredSpanRow): number | undefined {
  const text = row.SpanAttributes['gen_ai.input.messages'];
  // A list the gateway shortened to fit its bound says nothing about what the client sent.
  if (text === undefined || text.length > MAX_MESSAGES_TEXT || row.SpanAttributes['tracehouse.proxy.input_truncated'] === 'true') return undefined;
  try {
    const parsed = JSON.parse(text) as unknown;
    return Array.isArray(parsed) ? parsed.length : undefined;
  } catch {
    return undefined;
  }
}

export function contextFailures(calls: readonly StoredSpanRow[]): ContextFailure[] {
  const windows = builtInContextWindows();
  const out: ContextFailure[] = [];
  let previous: { count: number; spanId: string } | undefined;
  for (const row of calls) {
    if (row.GenAIOperation === 'execute_tool' || row.GenAIOperation === 'embeddings') continue;
    const model = row.GenAIResponseModel || row.GenAIRequestModel || null;
    const input = Number(row.InputTokens);
    const window = model ? windows.lookup(model) : undefined;
    const failure = (type: ContextFailureType, detail: string) =>
      out.push({ type, span_id: row.SpanId, trace_id: row.TraceId, task_id: row.SpanAttributes['tracehouse.task'] ?? null, model, at: isoOfNanos(row.start_ns), input_tokens: input, context_window: window?.tokens ?? null, detail });
    const reasons = reasonsOf(row.SpanAttributes['gen_ai.response.finish_reasons']).filter((r) => TRUNCATED.has(r.toLowerCase()));
    if (reasons.length > 0) failure('truncated', `the completion stopped at its token limit (finish reason ${reasons[0]})`);
    if (window && input > 0) {
      const fraction = input / window.tokens;
      if (fraction >= 1) failure('over_context_limit', `${input} input tokens exceed the ${window.tokens}-token context window of ${window.id}`);
      else if (fraction >= NEAR_CONTEXT_FRACTION) failure('near_context_limit', `${input} input tokens, ${Math.round(fraction * 100)}% of the ${window.tokens}-token context window of ${window.id}`);
    }
    const error = `${row.SpanAttributes['tracehouse.proxy.error_type'] ?? ''} ${row.StatusCode === 'Error' ? row.StatusMessage : ''}`;
    if (EXCEEDED.test(error)) failure('context_exceeded', 'the provider refused the input as longer than the context window');
    const count = messageCount(row);
    if (count !== undefined) {
      if (previous && count < previous.count) failure('context_lost', `this turn sent ${count} message(s), the turn before it ${previous.count}: earlier history was dropped`);
      previous = { count, spanId: row.SpanId };
    }
  }
  return out;
}
