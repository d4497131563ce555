import { flattenJson } from '../../core/ingest/attributes';
import { rootSpanIdFor, traceIdFor } from '../../core/ingest/ids';
import type { Attributes } from '../../core/span';

/**
 * Where the records of one AITracer trace live: /api/traces stores its LLM span as the root, with
 * an id derived from the trace, so a tool call or feedback naming the same trace id (sent before or
 * after it) is parented to it without a lookup.
 */
export interface TraceLink {
  traceId: string;
  rootSpanId: string;
}

/** The trace a client's id (a requestId such as "req_finance_001", or 32 hex) stands for. */
export function linkTrace(workspace: string, clientTraceId: string): TraceLink {
  return rootOf(workspace, traceIdFor(workspace, clientTraceId));
}

/** The root span id of an OTLP trace id, as /api/traces assigns it. */
export function rootOf(workspace: string, traceId: string): TraceLink {
  return { traceId, rootSpanId: rootSpanIdFor(workspace, traceId) };
}

/**
 * Keeps the fields of a body the route does not map as `aitracer.<field>` attributes, so that
 * new client fields are stored rather than refused.
 */
export function keepUnknownFields(out: Attributes, body: Record<string, unknown>, known: ReadonlySet<string>, prefix = 'aitracer'): void {
  for (const [key, value] of Object.entries(body)) {
    if (!known.has(key)) flattenJson(out, `${prefix}.${key}`, value, 2);
  }
}
