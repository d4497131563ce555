/** The canonical JSON:API resource objects the routes answer with. */
import { observationLink, traceLink } from './paths';
import type { ObservationAttributes, TraceAttributes } from './schema';
import type { TraceRef } from './trace-span';

export interface TraceResourceObject {
  type: 'trace';
  id: string;
  attributes: TraceAttributes & { ingested_at: string };
  relationships: { observations: { data: { type: 'observation'; id: string }[] } };
  links: { self: string };
  meta: { otlp_trace_id: string; otlp_span_id: string };
}

export interface ObservationResourceObject {
  type: 'observation';
  id: string;
  attributes: ObservationAttributes & { ingested_at: string };
  relationships: { trace: { data: { type: 'trace'; id: string } } };
  links: { self: string };
  meta: { otlp_trace_id: string; otlp_span_id: string };
}

/** The trace as stored, with identifiers of its observations (the full ones go to `included`). */
export function traceResourceObject(trace: TraceRef, attrs: TraceAttributes, ingestedAt: string, observationIds: readonly string[]): TraceResourceObject {
  return {
    type: 'trace',
    id: trace.resourceId,
    attributes: { ...attrs, ingested_at: ingestedAt },
    relationships: { observations: { data: observationIds.map((id) => ({ type: 'observation', id })) } },
    links: { self: traceLink(trace.resourceId) },
    meta: { otlp_trace_id: trace.traceId, otlp_span_id: trace.rootSpanId },
  };
}

export function observationResourceObject(trace: TraceRef, id: string, spanId: string, attrs: ObservationAttributes, ingestedAt: string): ObservationResourceObject {
  return {
    type: 'observation',
    id,
    attributes: { ...attrs, ingested_at: ingestedAt },
    relationships: { trace: { data: { type: 'trace', id: trace.resourceId } } },
    links: { self: observationLink(trace.resourceId, id) },
    meta: { otlp_trace_id: trace.traceId, otlp_span_id: spanId },
  };
}
