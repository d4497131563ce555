import { z } from 'zod';

/** The detections, named as the `ruleType` of their findings (rule id `agent.<type>`). */
export const AGENT_DETECTIONS = ['execution_loop', 'tool_failure', 'tool_failure_rate', 'context_truncated', 'context_window'] as const;
export type AgentDetection = (typeof AGENT_DETECTIONS)[number];

const severitySchema = z.enum(['low', 'medium', 'high', 'critical']);

const detectionSchema = (severity: z.output<typeof severitySchema>) =>
  z
    .strictObject({
      enabled: z.boolean().default(true),
      severity: severitySchema.default(severity),
    })
    .prefault({});

export const agentRunsConfigSchema = z
  .strictObject({
    /** Switches every detection off at once (no state is kept then). */
    enabled: z.boolean().default(true),
    /** Traces whose state is kept; the least recently active one is forgotten past this. */
    max_traces: z.int().positive().default(10_000),
    /** A trace's state is forgotten this long after its last span arrived. */
    trace_window_seconds: z.number().positive().default(3600),
    /**
     * Spans remembered per trace (to ignore replays). Past it, further spans of the trace are
     * not counted, so a replay can never be counted twice.
     */
    max_spans_per_trace: z.int().positive().default(1000),
    /**
     * Span ids, patterns and findings remembered across all traces: the memory bound of the
     * whole state (about 100 bytes each). The least recently active traces are forgotten past it.
     */
    max_tracked_spans: z.int().positive().default(250_000),
    /** The same tool with the same arguments, or the same model input, this many times is a loop. */
    loop_threshold: z.int().min(2).default(3),
    /** Tool calls a trace needs before its failure rate is judged. */
    min_tool_calls: z.int().positive().default(3),
    /** Failed / all tool calls of a trace at or above which the trace is flagged. */
    tool_failure_rate: z.number().gt(0).max(1).default(0.5),
    /** Input tokens at or above this fraction of the model's context window are flagged. */
    context_fraction: z.number().gt(0).max(1).default(0.9),
    detections: z
      .strictObject({
        execution_loop: detectionSchema('high'),
        tool_failure: detectionSchema('medium'),
        tool_failure_rate: detectionSchema('high'),
        context_truncated: detectionSchema('medium'),
        context_window: detectionSchema('medium'),
      })
      .prefault({}),
  })
  // One trace's state must fit in the whole budget, or the trace would never be tracked.
  .refine((c) => c.max_tracked_spans >= 3 * c.max_spans_per_trace + 1, {
    message: 'max_tracked_spans must be at least 3 × max_spans_per_trace + 1 (one trace at its limit must fit)',
    path: ['max_tracked_spans'],
  })
  .prefault({});

export type AgentRunsConfig = z.output<typeof agentRunsConfigSchema>;
