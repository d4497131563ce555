import type { Detected } from './findings';

/**
 * What agent-run detection remembers of one trace: bounded counters and span ids, never spans or
 * payload text (patterns are 53-bit hashes, signals.ts).
 */
export class TraceState {
  /** Spans already counted, so that a replayed span is not counted again. */
  readonly seen = new Set<string>();
  /** How often each tool call or model input pattern occurred. */
  readonly patterns = new Map<number, number>();
  toolCalls = 0;
  toolFailures = 0;
  rateFired = false;
  /**
   * The findings that depend on the trace's other spans, by the span that completed them: a
   * replay of that span gets them again, so its stored row keeps its verdict.
   */
  readonly completed = new Map<string, Detected[]>();

  /**
   * Entries held, for the memory budget. Patterns and completing spans are at most one per
   * counted span, so a trace at its span limit weighs at most 1 + 3 × the limit.
   */
  weight(): number {
    return 1 + this.seen.size + this.patterns.size + this.completed.size;
  }
}
