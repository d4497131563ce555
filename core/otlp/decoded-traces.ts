/**
 * What both OTLP decoders return, and the per-span validation behind OTLP partial success: a bad
 * span is rejected on its own, the rest of the request is still accepted.
 */
import type { Span } from '../span';

export interface DecodedTraces {
  spans: Span[];
  /** Spans dropped by validation; reported back to the client as `rejected_spans`. */
  rejected: number;
  /** One line per kind of problem, with where it first occurred and how often. */
  rejectReasons: string[];
}

export const ZERO_TRACE_ID = '0'.repeat(32);
export const ZERO_SPAN_ID = '0'.repeat(16);

export const BAD_TRACE_ID = 'trace_id must be 16 bytes and not all zero';
export const BAD_SPAN_ID = 'span_id must be 8 bytes and not all zero';
export const BAD_PARENT_SPAN_ID = 'parent_span_id must be empty or 8 bytes';
export const END_BEFORE_START = 'end_time_unix_nano must not be before start_time_unix_nano';

/**
 * Checks the ids (already lowercase hex, or null when they were not hex at all) and times of one
 * span. Returns the problem, or undefined when the span is acceptable.
 */
export function spanProblem(
  traceId: string | null,
  spanId: string | null,
  parentSpanId: string | null,
  start: bigint,
  end: bigint,
): string | undefined {
  if (traceId === null || traceId.length !== 32 || traceId === ZERO_TRACE_ID) return BAD_TRACE_ID;
  if (spanId === null || spanId.length !== 16 || spanId === ZERO_SPAN_ID) return BAD_SPAN_ID;
  if (parentSpanId === null || (parentSpanId.length !== 0 && parentSpanId.length !== 16)) {
    return BAD_PARENT_SPAN_ID;
  }
  if (end < start) return END_BEFORE_START;
  return undefined;
}

interface ProblemTally {
  first: string;
  count: number;
}

/**
 * Counts rejected spans. Reasons are kept once per problem so that a batch of thousands of bad
 * spans still yields a short, readable error message.
 */
export class RejectionLog {
  rejected = 0;
  private readonly problems = new Map<string, ProblemTally>();

  reject(resourceIndex: number, scopeIndex: number, spanIndex: number, problem: string): void {
    this.rejected++;
    const tally = this.problems.get(problem);
    if (tally) {
      tally.count++;
      return;
    }
    const where = `span ${spanIndex} of scope ${scopeIndex} of resource ${resourceIndex}`;
    this.problems.set(problem, { first: where, count: 1 });
  }

  result(spans: Span[]): DecodedTraces {
    const rejectReasons: string[] = [];
    for (const [problem, tally] of this.problems) {
      const more = tally.count > 1 ? ` (and ${tally.count - 1} more spans)` : '';
      rejectReasons.push(`${tally.first}: ${problem}${more}`);
    }
    return { spans, rejected: this.rejected, rejectReasons };
  }
}
