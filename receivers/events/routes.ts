import { z } from 'zod';
import { flattenJson } from '../../core/ingest/attributes';
import { spanIdFor, traceIdFor } from '../../core/ingest/ids';
import { parseBody, plainErrorStyle } from '../../core/ingest/problems';
import type { RecordTimes } from '../../core/ingest/record-times';
import type { IngestPlan, IngestRequest, IngestRoute } from '../../core/ingest/route';
import { isIsoTimestamp, isoToNanos } from '../../core/ingest/time';
import { makeSpan } from '../../core/span';
import type { Attributes } from '../../core/span';

export const RUNTIME_PATH = '/v1/ingest/runtime';
export const CHANGE_PATH = '/v1/ingest/change';

const id = z.string().trim().min(1, 'must not be empty').max(256, 'must be at most 256 characters');
const timestamp = z.string().refine(isIsoTimestamp, 'must be an ISO 8601 timestamp with a time zone, e.g. 2026-01-31T12:00:00Z');
/** Optional correlation to a trace the event belongs to. */
const traceLink = { trace_id: id.optional() };

const runtimeSchema = z.looseObject({ route_id: id, event_id: id, timestamp, ...traceLink });
const changeSchema = z.looseObject({ provider: id, change_id: id, classification: id, timestamp: timestamp.optional(), ...traceLink });

/** POST /v1/ingest/runtime and /v1/ingest/change: runtime and change events as zero-duration records. */
export function eventRoutes(times: RecordTimes): IngestRoute[] {
  return [
    {
      path: RUNTIME_PATH,
      errorStyle: plainErrorStyle,
      handle: (request) => {
        const body = parseBody(runtimeSchema, request.body);
        return eventPlan(request, 'runtime_event', body.event_id, body.timestamp, body.trace_id, body, {
          'tracehouse.route_id': body.route_id,
          'tracehouse.event_id': body.event_id,
        });
      },
    },
    {
      path: CHANGE_PATH,
      errorStyle: plainErrorStyle,
      handle: async (request) => {
        const body = parseBody(changeSchema, request.body);
        // A change without a timestamp keeps its first receive time when sent again.
        const first = body.timestamp === undefined ? await times.stamp(request, 'change_event', body.change_id) : request;
        return eventPlan(first, 'change_event', body.change_id, body.timestamp, body.trace_id, body, {
          'tracehouse.change.provider': body.provider,
          'tracehouse.change.id': body.change_id,
          'tracehouse.change.classification': body.classification,
        });
      },
    },
  ];
}

const KNOWN_FIELDS = new Set(['route_id', 'event_id', 'timestamp', 'provider', 'change_id', 'classification', 'trace_id']);

function eventPlan(
  request: IngestRequest,
  recordType: 'runtime_event' | 'change_event',
  eventId: string,
  time: string | undefined,
  traceRef: string | undefined,
  body: Record<string, unknown>,
  identity: Attributes,
): IngestPlan {
  const traceId = traceIdFor(request.workspace, traceRef ?? `${recordType}:${eventId}`);
  const at = time !== undefined ? (isoToNanos(time) ?? request.receivedAtNanos) : request.receivedAtNanos;
  const attributes: Attributes = { 'tracehouse.record_type': recordType, ...identity };
  for (const [key, value] of Object.entries(body)) {
    if (!KNOWN_FIELDS.has(key)) flattenJson(attributes, `event.${key}`, value);
  }
  const span = makeSpan({
    traceId,
    spanId: spanIdFor(request.workspace, traceId, `${recordType}:${eventId}`),
    name: recordType,
    startTimeUnixNano: at,
    endTimeUnixNano: at,
    attributes,
  });
  return {
    spans: [span],
    answer: { status: 202, body: { id: eventId, status: 'accepted', trace_id: traceId } },
    // The event's own id makes a resend idempotent, as the contract's deterministic ids intend.
    idempotencyKey: `${recordType}:${eventId}`,
  };
}
