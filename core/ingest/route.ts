import type { IncomingHttpHeaders } from 'node:http';
import type { Request, Response, Router } from 'express';
import type { Authenticator } from '../auth';
import { handOn, type SpanConsumer } from '../component';
import { classifyDeliveryError } from '../delivery-error';
import { errorMessage } from '../errors';
import type { ConsumeResult } from '../evaluation';
import { hangUpSignal } from '../hang-up';
import { BodyError, prepareBodyErrorAnswer, readBody } from '../http-body';
import type { BodyTimeouts } from '../http-body';
import type { BodyReservation, InflightLimiter } from '../inflight-limiter';
import type { Logger } from '../logger';
import type { Span } from '../span';
import type { ReceiverTelemetry } from '../telemetry';
import { DEFAULT_WORKSPACE } from '../workspaces';
import { stampSpans } from './attributes';
import type { Idempotency, IdempotentOutcome, StoredAnswer } from './idempotency';
import type { SharedState } from '../shared-state/index';
import { SharedStateUnavailable } from '../shared-state/redis';
import { parseJsonBody } from './json-body';
import { asClientError, checkSpanTimes } from './problems';
import type { ErrorStyle, IngestProblem } from './problems';
import type { RateLimits } from './rate-limit';
import { rateLimitHeaders } from './rate-limit';
import { nowNanos } from './time';

/** What a route handler gets: the request, authenticated and parsed. */
export interface IngestRequest {
  /** The JSON body. */
  body: unknown;
  /** The body as received (after decompression), e.g. for signature checks. */
  raw: Buffer;
  headers: IncomingHttpHeaders;
  /** Path parameters, e.g. { trace_id } for /traces/:trace_id/observations. */
  params: Record<string, string>;
  /** The authenticated workspace (DEFAULT_WORKSPACE when the receiver names none). */
  workspace: string;
  /** When the request arrived, in Unix nanoseconds: the time of records that carry none. */
  receivedAtNanos: bigint;
}

export interface IngestAnswer {
  status: number;
  body: unknown;
}

/** What a route handler returns: the spans to store and the answer to give once they are durable. */
export interface IngestPlan {
  spans: Span[];
  /**
   * The success answer, or a function building it from what the pipeline resolved with (e.g. the
   * rule verdicts of the spans, for a log API's `sync: true`).
   */
  answer: IngestAnswer | ((result: ConsumeResult | undefined) => IngestAnswer);
  /** An id from the body that makes the request idempotent (a log id, a requestId). */
  idempotencyKey?: string;
  /**
   * Called once when the request has been answered: true when the answer was a success (the spans
   * are durable, or were already stored under the same idempotency key), false otherwise
   * (refused, storing failed, the client went away). For state a handler reserved, e.g. a
   * webhook signature that must not be accepted twice but may be retried after a failure.
   */
  onSettled?: (accepted: boolean) => void | Promise<void>;
}

export interface IngestRoute {
  /** Express path, e.g. "/api/traces" or "/traces/:trace_id/observations". */
  path: string;
  /** Accepted request media types, lowercase without parameters; default application/json. */
  mediaTypes?: readonly string[];
  /** Media type of every answer; default application/json. */
  answerType?: string;
  /** Renders refusals in this API's error format. */
  errorStyle: ErrorStyle;
  /** Validates (throwing IngestError) and maps the body to spans. */
  handle(request: IngestRequest): IngestPlan | Promise<IngestPlan>;
  /**
   * The answer when a body id (plan.idempotencyKey) is sent again with a different body: replay
   * the first answer (the default, as log APIs do) or refuse, e.g. 409 as JSON:API requires for a
   * client-generated id that already exists.
   */
  onBodyIdConflict?: 'replay' | { status: number };
  /**
   * Other methods on this path belong to another component mounted later on the same listener
   * (GET /api/logs: the read_api extension): they pass on to it, and the listener's fallback
   * answers 405 only when nothing serves them.
   */
  sharedPath?: boolean;
}

/** What every route of one receiver shares. */
export interface IngestContext {
  receiverId: string;
  auth: Authenticator;
  rateLimits: RateLimits;
  idempotency: Idempotency;
  limiter: InflightLimiter;
  maxRequestBodyBytes: number;
  /** How slowly a body may arrive (defaults: core/http-body.ts). */
  bodyTimeouts?: BodyTimeouts;
  next: SpanConsumer;
  telemetry: ReceiverTelemetry;
  logger: Logger;
  /** False once the receiver is shutting down: new requests are refused retryably. */
  accepting: () => boolean;
  /** State shared by every instance, when configured (host.shared). */
  shared?: SharedState;
}

const IDEMPOTENCY_HEADER = 'idempotency-key';
const MAX_IDEMPOTENCY_KEY_LENGTH = 255;
const THROTTLE_RETRY_AFTER_SECONDS = 1;

/**
 * Mounts one JSON ingest route. Every route answers the same way, each in its API's style:
 * 405 other methods, 401/403 auth, 429 rate limit (with X-RateLimit-* on every answer), 415 media
 * type, 413/400 body, 400 JSON syntax, 422 validation, and success only after `consume` resolved.
 * A repeated Idempotency-Key (or body id) gets the first answer again and stores nothing.
 */
export function mountIngestRoute(router: Router, route: IngestRoute, context: IngestContext, fallback?: Router): void {
  const { auth, rateLimits, limiter, telemetry, logger } = context;
  const mediaTypes = route.mediaTypes ?? ['application/json'];
  const answerType = route.answerType ?? 'application/json';

  const send = (res: Response, status: number, contentType: string, body: string, outcome: string) => {
    telemetry.request(outcome);
    // A Buffer keeps Express from appending "; charset=utf-8": JSON:API forbids media type parameters.
    res.status(status).type(contentType).send(Buffer.from(body, 'utf8'));
  };
  const refuse = (res: Response, problem: IngestProblem, outcome: string) => {
    const styled = route.errorStyle(problem);
    send(res, problem.status, styled.contentType, JSON.stringify(styled.body), outcome);
  };
  /** Refuses before the body is read: the body is discarded and the connection closed after. */
  const refuseUnread = (req: Request, res: Response, problem: IngestProblem, outcome: string) => {
    res.set('Connection', 'close');
    req.resume();
    refuse(res, problem, outcome);
  };

  const refuseMethod = (req: Request, res: Response) => {
    res.set('Allow', 'POST');
    refuseUnread(req, res, { status: 405, code: 'RCV_METHOD_NOT_ALLOWED', message: `method ${req.method} is not allowed; use POST` }, 'method_not_allowed');
  };
  const passOtherMethods = route.sharedPath === true && fallback !== undefined;
  if (passOtherMethods) fallback.all(route.path, refuseMethod);

  router.all(route.path, (req, res, next) => {
    if (req.method !== 'POST') {
      if (passOtherMethods) return next();
      return refuseMethod(req, res);
    }
    const who = auth.authenticate(req.headers);
    if (who.outcome !== 'ok') {
      const problem: IngestProblem =
        who.outcome === 'forbidden'
          ? { status: 403, code: 'RCV_FORBIDDEN', message: `this API key is not allowed on ${context.receiverId}` }
          : who.outcome === 'missing'
            ? { status: 401, code: 'RCV_UNAUTHENTICATED', message: 'missing API key: send Authorization: Bearer <key> or X-API-Key' }
            : { status: 401, code: 'RCV_UNAUTHENTICATED', message: 'invalid API key' };
      if (problem.status === 401) res.set('WWW-Authenticate', 'Bearer');
      return refuseUnread(req, res, problem, who.outcome === 'forbidden' ? 'permission_denied' : 'unauthenticated');
    }
    if (!who.roles.includes('ingest')) {
      return refuseUnread(req, res, { status: 403, code: 'RCV_FORBIDDEN', message: 'this API key has no ingest role' }, 'permission_denied');
    }
    void admit(req, res, who.principal, who.workspace ?? DEFAULT_WORKSPACE).catch((err: unknown) => {
      logger.error({ err: errorMessage(err), route: route.path }, 'unexpected error admitting an ingest request');
      if (!res.headersSent) refuse(res, { status: 500, code: 'RCV_INTERNAL', message: 'internal error handling the request' }, 'internal_error');
    });
  });

  /** Rate limit (possibly shared by every instance), then the checks that need no body. */
  async function admit(req: Request, res: Response, principal: string, workspace: string): Promise<void> {
    const decision = await rateLimits.take(principal, route.path);
    if (decision) res.set(rateLimitHeaders(decision));
    if (decision?.unavailable) {
      return refuseUnread(req, res, { status: 503, code: 'RCV_SHARED_STATE_UNAVAILABLE', message: 'the shared rate limit cannot be checked right now; retry later' }, 'shared_state_unavailable');
    }
    if (decision && !decision.allowed) {
      telemetry.refused(0, 'rate_limited');
      return refuseUnread(req, res, { status: 429, code: 'RCV_RATE_LIMITED', message: `Too many requests: at most ${decision.limit} per window on ${route.path}; retry after ${decision.retryAfterSeconds} s` }, 'rate_limited');
    }
    if (!context.accepting()) {
      res.set('Retry-After', String(THROTTLE_RETRY_AFTER_SECONDS));
      return refuseUnread(req, res, { status: 503, code: 'RCV_SHUTTING_DOWN', message: 'receiver is shutting down; retry later' }, 'shutting_down');
    }
    const mime = req.headers['content-type']?.split(';')[0].trim().toLowerCase();
    if (mime === undefined || !mediaTypes.includes(mime)) {
      return refuseUnread(req, res, { status: 415, code: 'RCV_UNSUPPORTED_MEDIA_TYPE', message: `unsupported Content-Type "${req.headers['content-type'] ?? ''}": use ${mediaTypes.join(' or ')}` }, 'unsupported_media_type');
    }
    const declared = Number(req.headers['content-length']);
    const known = Number.isFinite(declared) && declared >= 0;
    if (known && declared > context.maxRequestBodyBytes) {
      return refuseUnread(req, res, { status: 413, code: 'RCV_TOO_LARGE', message: `request body exceeds max_request_body_bytes (${context.maxRequestBodyBytes} bytes)` }, 'too_large');
    }
    // Admitted if it could fit now; bytes are reserved as they arrive (core/inflight-limiter.ts).
    const reservation = limiter.admitBody(known ? declared : 0);
    if (!reservation) {
      telemetry.refused(0, 'inflight_limit');
      res.set('Retry-After', String(THROTTLE_RETRY_AFTER_SECONDS));
      return refuseUnread(req, res, { status: 429, code: 'RCV_OVERLOADED', message: `receiver is at max_inflight_bytes (${limiter.maxBytes}); retry later` }, 'inflight_limit');
    }
    await handle(req, res, workspace, reservation)
      .catch((err: unknown) => {
        logger.error({ err: errorMessage(err), route: route.path }, 'unexpected error handling an ingest request');
        if (!res.headersSent) refuse(res, { status: 500, code: 'RCV_INTERNAL', message: 'internal error handling the request' }, 'internal_error');
      })
      .finally(reservation.release);
  }

  async function handle(req: Request, res: Response, workspace: string, reservation: BodyReservation): Promise<void> {
    let raw: Buffer;
    let body: unknown;
    try {
      raw = await readBody(req, { maxBytes: context.maxRequestBodyBytes, reservation, ...context.bodyTimeouts });
    } catch (err) {
      if (err instanceof BodyError) {
        const outcome = prepareBodyErrorAnswer(res, err, telemetry);
        return refuse(res, { status: err.status, code: err.code, message: err.message }, outcome);
      }
      throw err;
    }
    const parsed = parseJsonBody(raw);
    if (!parsed.ok) return refuse(res, { status: 400, code: parsed.code, message: parsed.message }, 'bad_json');
    body = parsed.value;
    let plan: IngestPlan;
    try {
      plan = await route.handle({ body, raw, headers: req.headers, params: paramsOf(req), workspace, receivedAtNanos: nowNanos() });
      checkSpanTimes(plan.spans);
    } catch (thrown) {
      const err = asClientError(thrown);
      if (err !== undefined) {
        if (err.retryAfterSeconds !== undefined) res.set('Retry-After', String(err.retryAfterSeconds));
        if (err.status >= 500) return refuse(res, err.problem, 'server_error');
        telemetry.refused(0, 'invalid');
        return refuse(res, err.problem, err.status === 422 ? 'invalid' : `client_error_${err.status}`);
      }
      throw thrown;
    }
    const settle = settlerOf(res, plan.onSettled);
    const headerKey = firstHeader(req.headers[IDEMPOTENCY_HEADER]);
    if (headerKey !== undefined && headerKey.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
      await settle(false);
      return refuse(res, { status: 400, code: 'RCV_BAD_IDEMPOTENCY_KEY', message: `Idempotency-Key is longer than ${MAX_IDEMPOTENCY_KEY_LENGTH} characters` }, 'bad_idempotency_key');
    }
    // Returned, not awaited: this frame holds the body and the plan, respond() neither.
    return respond(res, workspace, raw, headerKey, plan.idempotencyKey, deliveryOf(res, workspace, plan), settle);
  }

  /** The plan's delivery, started at the first call; the plan is held only until then. */
  function deliveryOf(res: Response, workspace: string, plan: IngestPlan): () => Promise<StoredAnswer> {
    let held: IngestPlan | undefined = plan;
    let started: Promise<StoredAnswer> | undefined;
    return () => {
      if (started === undefined) {
        started = deliver(res, workspace, held as IngestPlan);
        held = undefined;
      }
      return started;
    };
  }

  async function respond(
    res: Response,
    workspace: string,
    raw: Buffer,
    headerKey: string | undefined,
    bodyKey: string | undefined,
    delivery: () => Promise<StoredAnswer>,
    settle: Settle,
  ): Promise<void> {
    const key = headerKey ?? bodyKey;
    if (key === undefined) {
      const stored = await delivery();
      await settle(isSuccess(stored.status));
      return answer(res, stored, 'fresh');
    }
    const scoped = `${workspace}\u0000${route.path}\u0000${headerKey !== undefined ? 'header' : 'body'}\u0000${key}`;
    let outcome: IdempotentOutcome;
    try {
      outcome = await context.idempotency.run(scoped, raw, delivery);
    } catch (err) {
      if (!(err instanceof SharedStateUnavailable)) throw err;
      await settle(false);
      res.set('Retry-After', String(THROTTLE_RETRY_AFTER_SECONDS));
      return refuse(res, { status: 503, code: 'RCV_SHARED_STATE_UNAVAILABLE', message: 'the shared idempotency store cannot be reached right now; retry later' }, 'shared_state_unavailable');
    }
    if (outcome.kind === 'mismatch' && headerKey !== undefined) {
      await settle(false);
      return refuse(res, { status: 422, code: 'RCV_IDEMPOTENCY_MISMATCH', message: 'Idempotency-Key was already used with a different request body' }, 'idempotency_mismatch');
    }
    const conflict = route.onBodyIdConflict;
    // An answer too large to keep (idempotency.max_answer_bytes) cannot be replayed: a conflict.
    if (outcome.kind === 'mismatch' && ((conflict !== undefined && conflict !== 'replay') || outcome.answer.digestOnly)) {
      await settle(false);
      const status = conflict !== undefined && conflict !== 'replay' ? conflict.status : 409;
      return refuse(res, { status, code: 'RCV_ID_CONFLICT', message: `a resource with this id was already created from a different document` }, 'id_conflict');
    }
    await settle(isSuccess(outcome.answer.status));
    answer(res, outcome.answer, outcome.kind === 'fresh' ? 'fresh' : 'replayed');
  }

  function answer(res: Response, stored: StoredAnswer, kind: 'fresh' | 'replayed'): void {
    if (kind === 'replayed') {
      res.set('Idempotent-Replayed', 'true');
      return send(res, stored.status, stored.contentType, stored.body, 'replayed');
    }
    const outcome = stored.status >= 200 && stored.status < 300 ? 'success' : stored.status === 400 ? 'downstream_rejected' : stored.status === 429 ? 'backpressure' : 'downstream_unavailable';
    send(res, stored.status, stored.contentType, stored.body, outcome);
  }

  /**
   * Stores the plan's spans and builds the answer (success, or the refusal the failure calls for).
   * Not async itself: only a count and the answer wait for the pipeline, not the spans.
   */
  function deliver(res: Response, workspace: string, plan: IngestPlan): Promise<StoredAnswer> {
    // Receivers map only their APIs' documented fields into tracehouse.*; the stamp is the daemon's.
    const { spans } = stampSpans(plan.spans, { 'tracehouse.workspace': workspace, 'tracehouse.source': context.receiverId }, 'receiver');
    const stored = spans.length > 0 ? handOn(context.next, spans, hangUpSignal(res)) : undefined;
    return settleDelivery(res, stored, spans.length, plan.answer);
  }

  async function settleDelivery(res: Response, stored: Promise<ConsumeResult | void> | undefined, count: number, planned: IngestPlan['answer']): Promise<StoredAnswer> {
    let result: ConsumeResult | undefined;
    if (stored !== undefined) {
      try {
        result = (await stored) ?? undefined;
      } catch (err) {
        const failure = classifyDeliveryError(err);
        telemetry.refused(count, failure.reason);
        if (failure.retryAfterSeconds !== undefined) res.set('Retry-After', String(failure.retryAfterSeconds));
        if (failure.status === 503) logger.warn({ err: failure.message, spans: count, route: route.path }, 'downstream failed; asked the client to retry');
        const code = failure.status === 400 ? 'RCV_DOWNSTREAM_REJECTED' : failure.status === 429 ? 'RCV_BACKPRESSURE' : 'RCV_DOWNSTREAM_UNAVAILABLE';
        const styled = route.errorStyle({ status: failure.status, code, message: failure.message });
        return { status: failure.status, contentType: styled.contentType, body: JSON.stringify(styled.body), fingerprint: '' };
      }
      telemetry.accepted(count);
    }
    const answer = typeof planned === 'function' ? planned(result) : planned;
    return { status: answer.status, contentType: answerType, body: JSON.stringify(answer.body), fingerprint: '' };
  }
}

/** Settles a plan once: resolves when its onSettled did (a released reservation is gone from the shared store). */
type Settle = (accepted: boolean) => Promise<void>;

const isSuccess = (status: number) => status >= 200 && status < 300;

/**
 * The plan's onSettled, called at most once: by the route before it sends the answer (so a failed
 * delivery's reservation is released, everywhere, before the client can retry), or as not accepted
 * when the client went away first.
 */
function settlerOf(res: Response, onSettled: IngestPlan['onSettled']): Settle {
  if (!onSettled) return () => Promise.resolve();
  let settled: Promise<void> | undefined;
  const settle: Settle = (accepted) => {
    settled ??= Promise.resolve()
      .then(() => onSettled(accepted))
      .catch(() => undefined);
    return settled;
  };
  res.once('close', () => void settle(false));
  return settle;
}

function paramsOf(req: Request): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.params ?? {})) if (typeof v === 'string') out[k] = v;
  return out;
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}
