import { rootSpanIdFor, traceIdFor } from '../../core/ingest/ids';
import { makeSpan } from '../../core/span';
import type { Attributes, Span } from '../../core/span';
import { addSharedAttributes, spanStatusOf } from './common-attributes';
import { rfc3339Nanos } from './rfc3339';
import type { TraceAttributes } from './schema';

/** A trace as both APIs name it: the JSON:API id the client uses and the OTLP ids it maps to. */
export interface TraceRef {
  workspace: string;
  /** The JSON:API id (the client's, or one generated for it). */
  resourceId: string;
  traceId: string;
  /** The trace's root span, parent of every observation. */
  rootSpanId: string;
}

/** Derived, not stored: observations sent later by trace id find the same root without a lookup. */
export function traceRefFor(workspace: string, resourceId: string): TraceRef {
  const traceId = traceIdFor(workspace, resourceId);
  return { workspace, resourceId, traceId, rootSpanId: rootSpanIdFor(workspace, traceId) };
}

/** Start and end of the observations sent with the trace, to time a trace that gives no times. */
export interface ObservedWindow {
  start: bigint;
  end: bigint;
}

/**
 * The trace as its root span. Without started_at/ended_at it spans its observations when it came
 * with some, else it is a zero-duration span at the receive time (or at whichever time it gave).
 */
export function traceSpan(ref: TraceRef, attrs: TraceAttributes, receivedAtNanos: bigint, observed?: ObservedWindow): Span {
  const started = attrs.started_at ? rfc3339Nanos(attrs.started_at) : undefined;
  const ended = attrs.ended_at ? rfc3339Nanos(attrs.ended_at) : undefined;
  const start = started ?? observed?.start ?? ended ?? receivedAtNanos;
  let end = ended ?? observed?.end ?? start;
  if (end < start) end = start;
  return makeSpan({
    traceId: ref.traceId,
    spanId: ref.rootSpanId,
    name: attrs.name ?? 'trace',
    kind: 'internal',
    startTimeUnixNano: start,
    endTimeUnixNano: end,
    status: spanStatusOf(attrs.status, attrs.error),
    attributes: traceAttributes(ref, attrs),
  });
}

/** What every span of a trace sent in one document carries about the trace. */
export function traceContextAttributes(attrs: TraceAttributes): Attributes {
  const out: Attributes = { 'tracehouse.environment': attrs.environment };
  if (attrs.project) out['tracehouse.project'] = attrs.project;
  return out;
}

function traceAttributes(ref: TraceRef, attrs: TraceAttributes): Attributes {
  const out: Attributes = { 'jsonapi.type': 'trace', 'jsonapi.id': ref.resourceId, ...traceContextAttributes(attrs) };
  const client = attrs.client;
  if (client?.sdk) out['client.sdk'] = client.sdk;
  if (client?.version) out['client.version'] = client.version;
  if (client?.user_agent) out['client.user_agent'] = client.user_agent;
  addSharedAttributes(out, attrs);
  return out;
}
