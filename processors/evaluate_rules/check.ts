import type { CheckResult } from '../../core/rules/check';
import type { Span } from '../../core/span';
import type { SpanTexts } from './span-text';

export { erred, PASSED, triggered } from '../../core/rules/check';
export type { CheckResult } from '../../core/rules/check';

/** Evaluates one rule on one span; undefined when the rule does not apply to the span. */
export type SpanCheck = (span: Span, texts: SpanTexts) => CheckResult | undefined;
