import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { IngestError } from '../../core/ingest/problems';
import type { RecordTimes } from '../../core/ingest/record-times';
import type { IngestPlan, IngestRequest, IngestRoute } from '../../core/ingest/route';
import type { Attributes, Span } from '../../core/span';
import { jsonapiErrorStyle } from './error-style';
import { observationSpan } from './observation-span';
import { CREATE_TRACE_PATH, JSONAPI_MEDIA_TYPE, OBSERVATIONS_PATH, TRACES_PATH } from './paths';
import { observationResourceObject, traceResourceObject } from './resources';
import type { ObservationResourceObject } from './resources';
import { nanosToRfc3339 } from './rfc3339';
import {
  createTraceDocumentSchema,
  observationListDocumentSchema,
  oneObservationDocumentSchema,
  traceWithObservationsDocumentSchema,
} from './schema';
import type { ObservationResource } from './schema';
import { traceContextAttributes, traceRefFor, traceSpan } from './trace-span';
import type { TraceRef } from './trace-span';
import { parseDocument } from './validate';

const MAX_TRACE_ID_LENGTH = 256;

// A client-generated id sent again with another document is a conflict (JSON:API: 409); the same
// document again is a retry and gets the first answer.
const common = { mediaTypes: [JSONAPI_MEDIA_TYPE], answerType: JSONAPI_MEDIA_TYPE, errorStyle: jsonapiErrorStyle, onBodyIdConflict: { status: 409 } } as const;

/** The three Brixo tracing ingest routes. */
export function jsonapiRoutes(times: RecordTimes): IngestRoute[] {
  // A trace with a client id and no times of its own keeps its first receive time when sent again.
  const firstReceive = (request: IngestRequest, id: string | undefined, attrs: { started_at?: unknown; ended_at?: unknown }, observations = 0) =>
    attrs.started_at || attrs.ended_at || observations > 0 ? request : times.stamp(request, 'jsonapi.trace', id);
  return [
    {
      path: CREATE_TRACE_PATH,
      ...common,
      handle: async (request) => {
        const { data } = parseDocument(createTraceDocumentSchema, request.body);
        return createTrace(await firstReceive(request, data.id, data.attributes), data);
      },
    },
    {
      path: TRACES_PATH,
      ...common,
      handle: async (request) => {
        const { data } = parseDocument(traceWithObservationsDocumentSchema, request.body);
        return createTraceWithObservations(await firstReceive(request, data.id, data.attributes, data.relationships.observations.data.length), data);
      },
    },
    { path: OBSERVATIONS_PATH, ...common, handle: createObservations },
  ];
}

/** POST /instrumentation/tracing/v1/: the trace alone, as its root span. */
function createTrace(request: IngestRequest, data: CreateTraceData): IngestPlan {
  const trace = traceRefFor(request.workspace, data.id ?? randomUUID());
  const ingestedAt = nanosToRfc3339(request.receivedAtNanos);
  return {
    spans: [traceSpan(trace, data.attributes, request.receivedAtNanos)],
    answer: { status: 201, body: { data: traceResourceObject(trace, data.attributes, ingestedAt, []) } },
    idempotencyKey: resourceKey('trace', data.id),
  };
}

/** POST /instrumentation/tracing/v1/traces: the root span and its observations' spans in one batch. */
function createTraceWithObservations(request: IngestRequest, data: TraceWithObservationsData): IngestPlan {
  const trace = traceRefFor(request.workspace, data.id ?? randomUUID());
  const ingestedAt = nanosToRfc3339(request.receivedAtNanos);
  // The trace's project and environment go on every span sent with it, so rows filter by them.
  const observations = planObservations(trace, data.relationships.observations.data, traceContextAttributes(data.attributes), ingestedAt);
  const root = traceSpan(trace, data.attributes, request.receivedAtNanos, windowOf(observations.map((o) => o.span)));
  return {
    spans: [root, ...observations.map((o) => o.span)],
    answer: {
      status: 201,
      body: {
        data: traceResourceObject(trace, data.attributes, ingestedAt, observations.map((o) => o.resource.id)),
        included: observations.map((o) => o.resource),
      },
    },
    idempotencyKey: resourceKey('trace', data.id),
  };
}

/**
 * POST .../traces/:trace_id/observations. Storage is write-only from here, so whether the trace
 * exists cannot be checked: the observations attach to the trace id and root span id derived
 * from :trace_id, which is where a trace created with that id is (or will be).
 */
function createObservations(request: IngestRequest): IngestPlan {
  const traceId = request.params.trace_id ?? '';
  if (traceId.length > MAX_TRACE_ID_LENGTH) {
    throw new IngestError(400, 'RCV_INVALID_TRACE_ID', `trace id in the path must be at most ${MAX_TRACE_ID_LENGTH} characters`);
  }
  const trace = traceRefFor(request.workspace, traceId);
  const ingestedAt = nanosToRfc3339(request.receivedAtNanos);
  const body = request.body as { data?: unknown } | null;
  const many = typeof body === 'object' && body !== null && Array.isArray(body.data);
  const resources = many ? parseDocument(observationListDocumentSchema, request.body).data : [parseDocument(oneObservationDocumentSchema, request.body).data];
  const observations = planObservations(trace, resources, {}, ingestedAt);
  const given = resources.map((r) => r.id);
  return {
    spans: observations.map((o) => o.span),
    answer: { status: 201, body: { data: many ? observations.map((o) => o.resource) : observations[0].resource } },
    idempotencyKey: given.every((id) => id !== undefined) ? resourceKey('observations', `${traceId}\u0000${given.join('\u0000')}`) : undefined,
  };
}

type CreateTraceData = z.output<typeof createTraceDocumentSchema>['data'];
type TraceWithObservationsData = z.output<typeof traceWithObservationsDocumentSchema>['data'];

interface PlannedObservation {
  span: Span;
  resource: ObservationResourceObject;
}

function planObservations(trace: TraceRef, resources: readonly ObservationResource[], context: Attributes, ingestedAt: string): PlannedObservation[] {
  return resources.map((resource) => {
    const id = resource.id ?? randomUUID();
    const span = observationSpan(trace, id, resource.attributes, context);
    return { span, resource: observationResourceObject(trace, id, span.spanId, resource.attributes, ingestedAt) };
  });
}

function windowOf(spans: readonly Span[]): { start: bigint; end: bigint } | undefined {
  if (spans.length === 0) return undefined;
  let start = spans[0].startTimeUnixNano;
  let end = spans[0].endTimeUnixNano;
  for (const span of spans) {
    if (span.startTimeUnixNano < start) start = span.startTimeUnixNano;
    if (span.endTimeUnixNano > end) end = span.endTimeUnixNano;
  }
  return { start, end };
}

/** A client-generated id makes a resend idempotent: the first answer is replayed, nothing is stored twice. */
function resourceKey(kind: string, id: string | undefined): string | undefined {
  return id === undefined ? undefined : `${kind}:${id}`;
}
