import type { Finding } from '../../../core/evaluation';
import { makeSpan } from '../../../core/span';
import type { Attributes, Span } from '../../../core/span';
import { ruleConfigSchema } from '../../../processors/evaluate_rules/rule-config';
import { RuleEngine } from '../../../processors/evaluate_rules/rule-engine';

/** A rule engine from raw (unparsed) rule configs, as they would be written in YAML. */
export function engineFor(...rules: unknown[]): RuleEngine {
  return new RuleEngine(rules.map((rule) => ruleConfigSchema.parse(rule)));
}

let nextSpanId = 1;

export const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

/** A chat span (an AI span) with the given attributes. */
export function chatSpan(attributes: Attributes = {}, fields: Partial<Span> = {}): Span {
  return makeSpan({
    traceId: TRACE_ID,
    spanId: (nextSpanId++).toString(16).padStart(16, '0'),
    name: 'chat gpt-4o',
    kind: 'client',
    startTimeUnixNano: 1_700_000_000_000_000_000n,
    endTimeUnixNano: 1_700_000_000_250_000_000n,
    attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o', ...attributes },
    ...fields,
  });
}

/** A plain (non-AI) span, e.g. an HTTP server span of the same trace. */
export function httpSpan(attributes: Attributes = {}): Span {
  return makeSpan({
    traceId: TRACE_ID,
    spanId: (nextSpanId++).toString(16).padStart(16, '0'),
    name: 'GET /orders',
    kind: 'server',
    startTimeUnixNano: 1_700_000_000_000_000_000n,
    endTimeUnixNano: 1_700_000_009_000_000_000n,
    attributes,
  });
}

export function messages(role: string, ...texts: string[]): string {
  return JSON.stringify([{ role, parts: texts.map((content) => ({ type: 'text', content })) }]);
}

/** A chat span whose output is one assistant message with this text. */
export function outputSpan(text: string, attributes: Attributes = {}): Span {
  return chatSpan({ 'gen_ai.output.messages': messages('assistant', text), ...attributes });
}

/** [outcome, detail] of each finding, the shape most assertions compare. */
export function outcomes(findings: readonly Finding[]): [string, string | undefined][] {
  return findings.map((f) => [f.outcome, f.detail]);
}

/** The single finding of one rule on one span (throws when there is not exactly one). */
export function only(findings: readonly Finding[]): Finding {
  if (findings.length !== 1) throw new Error(`expected one finding, got ${JSON.stringify(findings)}`);
  return findings[0];
}
