import { attributeAsNumber, isAttributes } from '../../core/span';
import type { AttributeValue, Span } from '../../core/span';
import type { SpanCheck } from './check';
import { erred, PASSED, triggered } from './check';
import type { RuleConfig } from './rule-config';
import { MODEL_KEYS, modelMatcher, spanModels } from './rule-scope';
import { typeName } from './span-text';

type RuleOf<T extends RuleConfig['type']> = Extract<RuleConfig, { type: T }>;

/**
 * AI spans: a GenAI operation (chat, embeddings, execute_tool, invoke_agent, ...) or a log of the
 * logs receiver. Rules that read what every such span has (its duration, its redactions) apply to
 * these only, so that HTTP or database spans of the same trace are not judged.
 */
export function isAiSpan(span: Span): boolean {
  return span.attributes['gen_ai.operation.name'] !== undefined || span.attributes['tracehouse.record_type'] === 'log';
}

/** A number attribute against a threshold; applies when the attribute is present. */
function numberCheck(key: string, label: string, breaks: (n: number) => boolean, relation: string, threshold: number): SpanCheck {
  return (span) => {
    const value = span.attributes[key];
    if (value === undefined || value === null) return undefined;
    const n = attributeAsNumber(value);
    if (n === undefined || !Number.isFinite(n)) return erred(`attribute ${key} is ${typeName(value)}, not a number`);
    return breaks(n) ? triggered(`${label} ${n} ${relation} ${threshold}`) : PASSED;
  };
}

export function confidenceCheck(rule: RuleOf<'confidence_threshold'>): SpanCheck {
  return numberCheck('tracehouse.confidence', 'confidence', (n) => n < rule.value, 'is below', rule.value);
}

export function costCheck(rule: RuleOf<'cost_threshold_usd'>): SpanCheck {
  return numberCheck('tracehouse.cost_usd', 'cost (USD)', (n) => n > rule.value, 'is above', rule.value);
}

export function latencyCheck(rule: RuleOf<'latency_threshold_ms'>): SpanCheck {
  return (span) => {
    if (!isAiSpan(span)) return undefined;
    const nanos = span.endTimeUnixNano - span.startTimeUnixNano;
    if (nanos < 0n) return erred('the span ends before it starts');
    // Whole microseconds are exact as a double far beyond any real duration.
    const ms = Number(nanos / 1000n) / 1000;
    return ms > rule.value ? triggered(`latency ${ms} ms is above ${rule.value} ms`) : PASSED;
  };
}

/**
 * Reads tracehouse.redactions (detector -> count, set by the redact processor earlier in the
 * pipeline). Applies to AI spans and to any span that has redactions; a span without them passes.
 */
export function piiCheck(rule: RuleOf<'pii_detected'>): SpanCheck {
  const only = rule.value === undefined ? undefined : new Set(rule.value);
  return (span) => {
    const redactions = span.attributes['tracehouse.redactions'];
    if (redactions === undefined) return isAiSpan(span) ? PASSED : undefined;
    if (redactions === null || !isAttributes(redactions)) return erred(`attribute tracehouse.redactions is ${typeName(redactions)}, not a kvlist`);
    const found: string[] = [];
    for (const [detector, count] of Object.entries(redactions)) {
      if (only && !only.has(detector)) continue;
      const n = attributeAsNumber(count);
      if (n === undefined) return erred(`tracehouse.redactions.${detector} is ${typeName(count)}, not a count`);
      if (n > 0) found.push(`${detector} ${n}`);
    }
    return found.length === 0 ? PASSED : triggered(`redacted: ${found.join(', ')}`);
  };
}

/** Finish reasons compare case-insensitively (Gemini reports MAX_TOKENS, Anthropic max_tokens). */
export function finishReasonCheck(rule: RuleOf<'finish_reason_in'>): SpanCheck {
  const listed = new Set(rule.value.map((r) => r.toLowerCase()));
  return (span) => {
    const value = span.attributes['gen_ai.response.finish_reasons'];
    if (value === undefined || value === null) return undefined;
    const reasons = stringList(value);
    if (reasons === undefined) return erred(`attribute gen_ai.response.finish_reasons is ${typeName(value)}, not a list of strings`);
    const hits = reasons.filter((r) => listed.has(r.toLowerCase()));
    return hits.length === 0 ? PASSED : triggered(`finish reason ${hits.map((r) => JSON.stringify(r)).join(', ')}`);
  };
}

export function modelCheck(rule: RuleOf<'model_in'>): SpanCheck {
  const matches = modelMatcher(rule.value);
  return (span) => {
    for (const key of MODEL_KEYS) {
      const value = span.attributes[key];
      if (value !== undefined && value !== null && typeof value !== 'string') return erred(`attribute ${key} is ${typeName(value)}, not a string`);
    }
    const models = spanModels(span);
    if (models.length === 0) return undefined;
    const hit = models.find(matches);
    return hit === undefined ? PASSED : triggered(`model ${JSON.stringify(hit)} is listed`);
  };
}

/** A string, or an array of strings (some SDKs send one finish reason as a plain string). */
function stringList(value: AttributeValue): string[] | undefined {
  if (typeof value === 'string') return [value];
  if (!Array.isArray(value)) return undefined;
  return value.every((v): v is string => typeof v === 'string') ? value : undefined;
}
