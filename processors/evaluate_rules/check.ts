import type { FindingOutcome } from '../../core/evaluation';
import type { Span } from '../../core/span';
import type { SpanTexts } from './span-text';

/** One rule's outcome on one span; `detail` says why, never quoting the span's text. */
export interface CheckResult {
  outcome: FindingOutcome;
  detail?: string;
}

/** Evaluates one rule on one span; undefined when the rule does not apply to the span. */
export type SpanCheck = (span: Span, texts: SpanTexts) => CheckResult | undefined;

export const PASSED: CheckResult = Object.freeze({ outcome: 'passed' });

export function triggered(detail: string): CheckResult {
  return { outcome: 'triggered', detail };
}

export function erred(detail: string): CheckResult {
  return { outcome: 'error', detail };
}
