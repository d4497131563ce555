import { z } from 'zod';
import { flattenJson } from '../../core/ingest/attributes';
import { randomSpanId, spanIdFor } from '../../core/ingest/ids';
import type { FieldProblem } from '../../core/ingest/problems';
import { plainErrorStyle } from '../../core/ingest/problems';
import type { RecordTimes } from '../../core/ingest/record-times';
import type { IngestPlan, IngestRequest, IngestRoute } from '../../core/ingest/route';
import { isoToNanos } from '../../core/ingest/time';
import { makeSpan } from '../../core/span';
import type { Attributes } from '../../core/span';
import { keepUnknownFields, linkTrace } from './trace-link';
import { check, idText, isoTimestamp, isRecord, jsonObject, present, refuseInvalid } from './validation';

export const FEEDBACK_PATH = '/api/ingest/feedback';

export const MAX_COMMENT_CHARS = 10_000;

/** Every spelling of a rating, as clients send it, to the two values stored. */
const RATINGS: Record<string, 'up' | 'down'> = {
  up: 'up',
  down: 'down',
  thumbs_up: 'up',
  thumbs_down: 'down',
  positive: 'up',
  negative: 'down',
};

const ratingSchema = z
  .string()
  .transform((r) => r.trim().toLowerCase())
  .refine((r) => r in RATINGS, `must be one of ${Object.keys(RATINGS).join(', ')}`);

const feedbackSchema = z.looseObject({
  traceId: idText,
  rating: ratingSchema.nullish(),
  thumbsUp: z.boolean().nullish(),
  score: z.number().nullish(),
  comment: z.string().max(MAX_COMMENT_CHARS, `must be at most ${MAX_COMMENT_CHARS} characters`).nullish(),
  userId: idText.nullish(),
  feedbackId: idText.nullish(),
  timestamp: isoTimestamp.nullish(),
  metadata: jsonObject.nullish(),
});

type Feedback = z.output<typeof feedbackSchema>;

const KNOWN_FIELDS = new Set(Object.keys(feedbackSchema.shape));

/** POST /api/ingest/feedback: a human rating as a zero-duration record in the trace it rates. */
export function feedbackRoute(times: RecordTimes): IngestRoute {
  return {
    path: FEEDBACK_PATH,
    errorStyle: plainErrorStyle,
    handle: async (request) => {
      const feedback = validate(request.body);
      // Feedback with an id and no timestamp keeps its first receive time when sent again.
      const id = feedback.feedbackId != null && feedback.timestamp == null ? `${feedback.traceId}\u0000${feedback.feedbackId}` : undefined;
      return feedbackPlan(await times.stamp(request, 'aitracer.feedback', id), feedback);
    },
  };
}

function validate(body: unknown): Feedback {
  const { data, problems } = check(feedbackSchema, body);
  if (isRecord(body)) problems.push(...ratingProblems(body));
  refuseInvalid(problems);
  return data as Feedback;
}

function ratingProblems(body: Record<string, unknown>): FieldProblem[] {
  if (!present(body, 'rating') && !present(body, 'thumbsUp') && !present(body, 'score')) {
    return [{ path: ['rating'], message: 'give a rating (up or down), thumbsUp or a score', code: 'required' }];
  }
  const rating = typeof body.rating === 'string' ? RATINGS[body.rating.trim().toLowerCase()] : undefined;
  if (rating !== undefined && typeof body.thumbsUp === 'boolean' && (rating === 'up') !== body.thumbsUp) {
    return [{ path: ['thumbsUp'], message: `contradicts rating "${String(body.rating)}"`, code: 'invalid' }];
  }
  return [];
}

function feedbackPlan(request: IngestRequest, feedback: Feedback): IngestPlan {
  const { workspace } = request;
  const { traceId, rootSpanId } = linkTrace(workspace, feedback.traceId);
  const at = feedback.timestamp != null ? (isoToNanos(feedback.timestamp) ?? request.receivedAtNanos) : request.receivedAtNanos;
  const rating = feedback.rating != null ? RATINGS[feedback.rating] : feedback.thumbsUp != null ? (feedback.thumbsUp ? 'up' : 'down') : undefined;

  const attributes: Attributes = {};
  keepUnknownFields(attributes, feedback, KNOWN_FIELDS);
  if (feedback.metadata) flattenJson(attributes, 'aitracer.metadata', feedback.metadata, 3);
  attributes['tracehouse.record_type'] = 'feedback';
  if (rating !== undefined) attributes['tracehouse.feedback.rating'] = rating;
  // A double even when whole, so that every score of one trace has the same type.
  if (feedback.score != null) attributes['tracehouse.feedback.score'] = feedback.score;
  if (feedback.comment != null) attributes['tracehouse.feedback.comment'] = feedback.comment;
  if (feedback.userId != null) attributes['enduser.id'] = feedback.userId;
  attributes['aitracer.trace_id'] = feedback.traceId;
  if (feedback.feedbackId != null) attributes['aitracer.feedback_id'] = feedback.feedbackId;

  const spanId = feedback.feedbackId != null ? spanIdFor(workspace, traceId, `feedback:${feedback.feedbackId}`) : randomSpanId();
  const span = makeSpan({ traceId, spanId, parentSpanId: rootSpanId, name: 'feedback', startTimeUnixNano: at, endTimeUnixNano: at, attributes });
  return {
    spans: [span],
    answer: { status: 202, body: { ok: true, id: spanId, traceId: feedback.traceId } },
    idempotencyKey: feedback.feedbackId != null ? `${feedback.traceId}\u0000${feedback.feedbackId}` : undefined,
  };
}
