/**
 * Agent-run detection across the spans of a trace: execution loops (the same tool with the same
 * arguments, or the same model input, again and again), tool failures (one failed call, and a
 * trace whose calls mostly fail), and context failures (a truncated completion, an input close to
 * the model's context window).
 *
 * Spans arrive in any order and in any number of batches; what a trace needs is kept per workspace
 * and trace in a bounded LRU cache and forgotten after a quiet window: two tenants that happen to
 * use the same trace id never share counts. A replayed span is recognized by its id
 * and never counted twice; it gets the findings it got the first time, so its re-stored row keeps
 * its verdict, and the records of those findings have the same ids as before.
 */
import { LRUCache } from 'lru-cache';
import { spanKey } from '../evaluation';
import type { Finding } from '../evaluation';
import type { Span } from '../span';
import type { AgentRunsConfig } from './config';
import { builtInContextWindows } from './context-windows';
import type { ContextWindows } from './context-windows';
import { detected, findingRecord } from './findings';
import type { Detected } from './findings';
import { patternId, spanSignal, workspaceOf } from './signals';
import type { ModelCallSignal, Pattern, SpanSignal, ToolCallSignal } from './signals';
import { TraceState } from './trace-state';

export { AGENT_DETECTIONS, agentRunsConfigSchema } from './config';
export type { AgentDetection, AgentRunsConfig } from './config';

/** Key of a span's findings in AgentRunInspection.findings: its workspace, trace and span. */
export function agentRunSpanKey(span: Span): string {
  return `${workspaceOf(span)}\u0000${spanKey(span.traceId, span.spanId)}`;
}

export interface AgentRunInspection {
  /** Findings by the span that completed them, keyed by agentRunSpanKey(span). */
  findings: Map<string, Finding[]>;
  /** One trace-level record (a new span) per finding, to be passed on with the batch. */
  records: Span[];
}

/** What the detector had to leave out, for the processor's telemetry. */
export interface AgentRunStats {
  /** Spans not counted because their trace reached max_spans_per_trace. */
  spansUntracked: number;
  /** Traces forgotten early because max_traces or max_tracked_spans was reached. */
  tracesEvicted: number;
}

export class AgentRunDetector {
  readonly stats: AgentRunStats = { spansUntracked: 0, tracesEvicted: 0 };
  private readonly traces: LRUCache<string, TraceState>;
  private readonly windows: ContextWindows = builtInContextWindows();

  /** `now` (milliseconds, like Date.now) is the clock of the trace window; tests pass their own. */
  constructor(
    private readonly config: AgentRunsConfig,
    now?: () => number,
  ) {
    this.traces = new LRUCache<string, TraceState>({
      max: config.max_traces,
      maxSize: config.max_tracked_spans,
      sizeCalculation: (state) => state.weight(),
      ttl: config.trace_window_seconds * 1000,
      // Read the clock on every check: a cached reading would need a timer per cache.
      ttlResolution: 0,
      ...(now ? { perf: { now } } : {}),
      dispose: (_state, _traceId, reason) => {
        if (reason === 'evict') this.stats.tracesEvicted++;
      },
    });
  }

  /** Traces whose state is currently kept (expired ones are dropped first). */
  get tracesTracked(): number {
    this.traces.purgeStale();
    return this.traces.size;
  }

  inspect(batch: readonly Span[]): AgentRunInspection {
    const findings = new Map<string, Finding[]>();
    const records: Span[] = [];
    if (!this.config.enabled) return { findings, records };
    // States this batch changed: written back once at the end, so their weight is re-measured.
    const touched = new Map<string, TraceState>();
    for (const span of batch) {
      const signal = spanSignal(span);
      if (signal === undefined) continue;
      const key = agentRunSpanKey(span);
      // The same span twice in one batch is one span.
      if (findings.has(key)) continue;
      const found = [...this.standalone(span, signal), ...this.acrossTrace(span, signal, touched)];
      if (found.length === 0) continue;
      findings.set(key, found.map((d) => d.finding));
      for (const d of found) records.push(findingRecord(span, d));
    }
    for (const [runKey, state] of touched) {
      // lru-cache measures an entry's size when it is set, and not when the same value is set again.
      this.traces.delete(runKey);
      this.traces.set(runKey, state);
    }
    return { findings, records };
  }

  /** Findings a span earns on its own: a failed tool call, a truncated or nearly full context. */
  private standalone(span: Span, signal: SpanSignal): Detected[] {
    const { detections } = this.config;
    const out: Detected[] = [];
    if (signal.kind === 'tool') {
      if (signal.failure && detections.tool_failure.enabled) {
        out.push(detected(this.config, 'tool_failure', `tool ${JSON.stringify(signal.name)} failed (${signal.failure})`, span.spanId));
      }
      return out;
    }
    if (signal.truncated && detections.context_truncated.enabled) {
      out.push(detected(this.config, 'context_truncated', 'the completion stopped at its token limit (finish reason length)', span.spanId));
    }
    const near = detections.context_window.enabled ? this.nearContextLimit(signal) : undefined;
    if (near) out.push(detected(this.config, 'context_window', near, span.spanId));
    return out;
  }

  private nearContextLimit(signal: ModelCallSignal): string | undefined {
    if (signal.inputTokens === undefined || signal.model === undefined) return undefined;
    const window = this.windows.lookup(signal.model);
    if (window === undefined) return undefined;
    const fraction = signal.inputTokens / window.tokens;
    if (fraction < this.config.context_fraction) return undefined;
    return `${signal.inputTokens} input tokens, ${Math.round(fraction * 100)}% of the ${window.tokens}-token context window of ${window.id}`;
  }

  /** Findings that depend on the trace's other spans: loops and the failure rate. */
  private acrossTrace(span: Span, signal: SpanSignal, touched: Map<string, TraceState>): Detected[] {
    const { detections } = this.config;
    const loops = detections.execution_loop.enabled && signal.pattern !== undefined;
    const rate = signal.kind === 'tool' && detections.tool_failure_rate.enabled;
    if (!loops && !rate) return [];
    const state = this.stateOf(`${workspaceOf(span)}\u0000${span.traceId}`, touched);
    if (state.seen.has(span.spanId)) return state.completed.get(span.spanId) ?? [];
    if (state.seen.size >= this.config.max_spans_per_trace) {
      this.stats.spansUntracked++;
      return [];
    }
    state.seen.add(span.spanId);
    const out: Detected[] = [];
    if (loops) {
      const loop = this.countPattern(state, signal);
      if (loop) out.push(loop);
    }
    if (rate) {
      const failing = this.countToolCall(state, signal as ToolCallSignal);
      if (failing) out.push(failing);
    }
    if (out.length > 0) state.completed.set(span.spanId, out);
    return out;
  }

  private countPattern(state: TraceState, signal: SpanSignal): Detected | undefined {
    const pattern = signal.pattern as Pattern;
    const count = (state.patterns.get(pattern.key) ?? 0) + 1;
    state.patterns.set(pattern.key, count);
    // Counts grow by one per new span, so this fires exactly once per pattern and trace.
    if (count !== this.config.loop_threshold) return undefined;
    const detail =
      signal.kind === 'tool'
        ? `tool ${JSON.stringify(signal.name)} called ${count} times with the same arguments`
        : `the same model input sent ${count} times`;
    return detected(this.config, 'execution_loop', detail, patternId(pattern));
  }

  private countToolCall(state: TraceState, signal: ToolCallSignal): Detected | undefined {
    state.toolCalls++;
    if (signal.failure) state.toolFailures++;
    if (state.rateFired || state.toolCalls < this.config.min_tool_calls) return undefined;
    const rate = state.toolFailures / state.toolCalls;
    if (rate < this.config.tool_failure_rate) return undefined;
    state.rateFired = true;
    return detected(this.config, 'tool_failure_rate', `${state.toolFailures} of ${state.toolCalls} tool calls failed (${Math.round(rate * 100)}%)`, '');
  }

  /** The state of one run: `runKey` is the workspace and the trace id. */
  private stateOf(runKey: string, touched: Map<string, TraceState>): TraceState {
    let state = touched.get(runKey) ?? this.traces.get(runKey);
    if (state === undefined) state = new TraceState();
    touched.set(runKey, state);
    return state;
  }
}
