/**
 * JSON resource APIs (the control plane, the read APIs): routes by method and path, each needing
 * a role. Every route answers the same way, in its API's error style: 405 with Allow for other
 * methods, 401/403 (missing key, unknown key, role missing), 429 with X-RateLimit-*, 415 for a
 * body that is not JSON, 413/400/408 for bodies too large, broken or slow, 422 for invalid fields
 * (IngestError), 500 for a bug. Handlers get the parsed body and the caller's workspace and answer
 * with a status, a JSON body and headers.
 */
import type { Request, Response, Router } from 'express';
import type { Authenticator, Role } from './auth';
import { errorMessage } from './errors';
import { BodyError, prepareBodyErrorAnswer, readBody } from './http-body';
import type { BodyTimeouts } from './http-body';
import type { InflightLimiter } from './inflight-limiter';
import { replayedHeaders } from './ingest/idempotency';
import type { Idempotency, IdempotentOutcome } from './ingest/idempotency';
import { parseJsonBody } from './ingest/json-body';
import { SharedStateUnavailable } from './shared-state/redis';
import { asClientError, IngestError } from './ingest/problems';
import type { ErrorStyle, IngestProblem } from './ingest/problems';
import type { RateLimits } from './ingest/rate-limit';
import { rateLimitHeaders } from './ingest/rate-limit';
import type { Logger } from './logger';
import type { ReceiverTelemetry } from './telemetry';
import { DEFAULT_WORKSPACE } from './workspaces';

export type ApiMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface ApiRequest {
  method: ApiMethod;
  /** Path parameters. */
  params: Record<string, string>;
  /** Query parameters (the first value of a repeated one). */
  query: Record<string, string>;
  /** The JSON body (POST, PUT, PATCH; {} when empty), undefined otherwise. */
  body: unknown;
  headers: Request['headers'];
  /** The caller's workspace. */
  workspace: string;
  /** The caller's key as a non-secret name ("key:<12 hex>"), for audit records. */
  principal: string;
  roles: readonly Role[];
  /** The origin the request was sent to (http://host:port), for links. */
  origin: string;
  /** The path as requested (without query). */
  path: string;
}

export interface ApiAnswer {
  status: number;
  /** JSON body; absent for 204. */
  body?: unknown;
  headers?: Record<string, string>;
  /** A refusal, rendered in the API's error style (set by the framework for thrown client errors). */
  problem?: IngestProblem;
}

export interface ApiRoute {
  method: ApiMethod;
  /** Express path, e.g. "/api/rules/:id". */
  path: string;
  /** The role a key needs; `any`: every valid key (each has at least one role). */
  role: Role | 'any';
  handle(request: ApiRequest): ApiAnswer | Promise<ApiAnswer>;
}

export interface ApiContext {
  owner: string;
  auth: Authenticator;
  rateLimits: RateLimits;
  limiter: InflightLimiter;
  maxRequestBodyBytes: number;
  bodyTimeouts?: BodyTimeouts;
  errorStyle: ErrorStyle;
  /** Write routes with an Idempotency-Key header run once per key (shared by every instance with shared state). */
  idempotency?: Idempotency;
  telemetry: ReceiverTelemetry;
  logger: Logger;
  accepting: () => boolean;
}

const WITH_BODY = new Set<ApiMethod>(['POST', 'PUT', 'PATCH']);

/** Mounts routes; routes sharing a path are one handler that dispatches on the method. */
export function mountApi(router: Router, routes: readonly ApiRoute[], context: ApiContext): void {
  const byPath = new Map<string, ApiRoute[]>();
  for (const route of routes) byPath.set(route.path, [...(byPath.get(route.path) ?? []), route]);
  for (const [path, group] of byPath) {
    router.all(path, (req, res) => {
      void serve(req, res, group, context).catch((err: unknown) => {
        context.logger.error({ err: errorMessage(err), route: path }, 'unexpected error in an API route');
        if (!res.headersSent) answerProblem(res, context, { status: 500, code: 'API_INTERNAL', message: 'internal error handling the request' }, 'internal_error');
      });
    });
  }
}

async function serve(req: Request, res: Response, group: readonly ApiRoute[], context: ApiContext): Promise<void> {
  const refuseUnread = (problem: IngestProblem, outcome: string) => {
    res.set('Connection', 'close');
    req.resume();
    answerProblem(res, context, problem, outcome);
  };
  const route = group.find((r) => r.method === req.method);
  if (!route) {
    res.set('Allow', group.map((r) => r.method).join(', '));
    return refuseUnread({ status: 405, code: 'API_METHOD_NOT_ALLOWED', message: `method ${req.method} is not allowed here; use ${group.map((r) => r.method).join(', ')}` }, 'method_not_allowed');
  }
  const who = context.auth.authenticate(req.headers);
  if (who.outcome !== 'ok') {
    if (who.outcome !== 'forbidden') res.set('WWW-Authenticate', 'Bearer');
    return refuseUnread(
      who.outcome === 'forbidden'
        ? { status: 403, code: 'API_FORBIDDEN', message: `this API key is not allowed on ${context.owner}` }
        : { status: 401, code: 'API_UNAUTHENTICATED', message: who.outcome === 'missing' ? 'missing API key: send Authorization: Bearer <key> or X-API-Key' : 'invalid API key' },
      who.outcome === 'forbidden' ? 'permission_denied' : 'unauthenticated',
    );
  }
  if (route.role !== 'any' && !who.roles.includes(route.role)) {
    return refuseUnread({ status: 403, code: 'API_ROLE_MISSING', message: `this API key lacks the ${route.role} role this route needs` }, 'permission_denied');
  }
  const decision = await context.rateLimits.take(who.principal, route.path);
  if (decision) res.set(rateLimitHeaders(decision));
  if (decision?.unavailable) {
    return refuseUnread({ status: 503, code: 'API_SHARED_STATE_UNAVAILABLE', message: 'the shared rate limit cannot be checked right now; retry later' }, 'shared_state_unavailable');
  }
  if (decision && !decision.allowed) {
    return refuseUnread({ status: 429, code: 'API_RATE_LIMITED', message: `Too many requests: at most ${decision.limit} per window; retry after ${decision.retryAfterSeconds} s` }, 'rate_limited');
  }
  if (!context.accepting()) {
    res.set('Retry-After', '1');
    return refuseUnread({ status: 503, code: 'API_SHUTTING_DOWN', message: 'shutting down; retry later' }, 'shutting_down');
  }
  let body: unknown;
  if (WITH_BODY.has(route.method)) {
    const parsed = await readJson(req, res, context);
    if (!parsed.ok) return;
    body = parsed.value;
  } else req.resume();
  const request: ApiRequest = {
    method: route.method,
    params: { ...(req.params as Record<string, string>) },
    query: queryOf(req),
    body,
    headers: req.headers,
    workspace: who.workspace ?? DEFAULT_WORKSPACE,
    principal: who.principal,
    roles: who.roles,
    origin: `${req.protocol}://${req.headers.host ?? 'localhost'}`,
    path: req.path,
  };
  const idempotencyKey = route.method === 'GET' ? undefined : firstHeader(req.headers['idempotency-key']);
  if (idempotencyKey === undefined || !context.idempotency) return send(res, context, await produce(route, request));
  if (idempotencyKey.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    return answerProblem(res, context, { status: 400, code: 'API_BAD_IDEMPOTENCY_KEY', message: `Idempotency-Key is longer than ${MAX_IDEMPOTENCY_KEY_LENGTH} characters` }, 'bad_idempotency_key');
  }
  // A write sent again with the same key (to this instance or, with shared state, any other) gets
  // the first answer and changes nothing again: a retried bulk review is applied once.
  const scoped = `${request.workspace}\u0000${route.method}\u0000${req.path}\u0000${idempotencyKey}`;
  let headers: Record<string, string> | undefined;
  let outcome: IdempotentOutcome;
  try {
    outcome = await context.idempotency.run(scoped, Buffer.from(JSON.stringify(body ?? null), 'utf8'), async () => {
      const produced = await produce(route, request);
      headers = produced.headers;
      // ETag, Location and Retry-After are part of the answer: kept with it, replayed with it.
      return { status: produced.status, contentType: 'application/json', body: produced.body === undefined ? '' : JSON.stringify(produced.body), fingerprint: '', headers: replayedHeaders(produced.headers) };
    });
  } catch (err) {
    if (!(err instanceof SharedStateUnavailable)) throw err;
    res.set('Retry-After', '1');
    return answerProblem(res, context, { status: 503, code: 'API_SHARED_STATE_UNAVAILABLE', message: 'the shared idempotency store cannot be reached right now; retry later' }, 'shared_state_unavailable');
  }
  if (outcome.kind === 'mismatch') {
    return answerProblem(res, context, { status: 422, code: 'API_IDEMPOTENCY_MISMATCH', message: 'Idempotency-Key was already used with a different request body' }, 'idempotency_mismatch');
  }
  const stored = outcome.answer;
  if (outcome.kind === 'replayed') res.set('Idempotent-Replayed', 'true');
  send(res, context, { status: stored.status, headers: outcome.kind === 'fresh' ? headers : stored.headers, body: stored.body === '' ? undefined : (JSON.parse(stored.body) as unknown) });
}

const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

/** The route's answer, or the client error it refused with, as an answer. */
async function produce(route: ApiRoute, request: ApiRequest): Promise<ApiAnswer> {
  try {
    return await route.handle(request);
  } catch (err) {
    const client = asClientError(err);
    if (!client) throw err;
    return { status: client.status, problem: client.problem, headers: client.retryAfterSeconds !== undefined ? { 'Retry-After': String(client.retryAfterSeconds) } : undefined };
  }
}

function send(res: Response, context: ApiContext, answer: ApiAnswer): void {
  if (answer.headers) res.set(answer.headers);
  if (answer.problem) return answerProblem(res, context, answer.problem, answer.status === 404 ? 'not_found' : 'client_error');
  context.telemetry.request(answer.status < 400 ? 'ok' : 'client_error');
  if (answer.body === undefined) res.status(answer.status).end();
  else res.status(answer.status).type('application/json').send(Buffer.from(JSON.stringify(answer.body), 'utf8'));
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

async function readJson(req: Request, res: Response, context: ApiContext): Promise<{ ok: true; value: unknown } | { ok: false }> {
  const refuse = (problem: IngestProblem, outcome: string) => {
    answerProblem(res, context, problem, outcome);
    return { ok: false as const };
  };
  const declared = Number(req.headers['content-length']);
  const known = Number.isFinite(declared) && declared >= 0;
  const chunked = req.headers['transfer-encoding'] !== undefined;
  if (known && declared === 0 && !chunked) return { ok: true, value: {} };
  const mime = req.headers['content-type']?.split(';')[0].trim().toLowerCase();
  if (mime !== 'application/json') {
    res.set('Connection', 'close');
    req.resume();
    return refuse({ status: 415, code: 'API_UNSUPPORTED_MEDIA_TYPE', message: `unsupported Content-Type "${req.headers['content-type'] ?? ''}": use application/json` }, 'unsupported_media_type');
  }
  if (known && declared > context.maxRequestBodyBytes) {
    res.set('Connection', 'close');
    req.resume();
    return refuse({ status: 413, code: 'API_TOO_LARGE', message: `request body exceeds ${context.maxRequestBodyBytes} bytes` }, 'too_large');
  }
  const reservation = context.limiter.admitBody(known ? declared : 0);
  if (!reservation) {
    res.set({ Connection: 'close', 'Retry-After': '1' });
    req.resume();
    return refuse({ status: 429, code: 'API_OVERLOADED', message: 'too many request bytes in flight; retry later' }, 'inflight_limit');
  }
  try {
    const raw = await readBody(req, { maxBytes: context.maxRequestBodyBytes, reservation, ...context.bodyTimeouts });
    if (raw.length === 0) return { ok: true, value: {} };
    const parsed = parseJsonBody(raw);
    if (!parsed.ok) return refuse({ status: 400, code: parsed.code, message: parsed.message }, 'bad_json');
    return { ok: true, value: parsed.value };
  } catch (err) {
    if (!(err instanceof BodyError)) throw err;
    const outcome = prepareBodyErrorAnswer(res, err, context.telemetry);
    return refuse({ status: err.status, code: err.code, message: err.message }, outcome);
  } finally {
    reservation.release();
  }
}

function answerProblem(res: Response, context: ApiContext, problem: IngestProblem, outcome: string): void {
  context.telemetry.request(outcome);
  const styled = context.errorStyle(problem);
  res.status(problem.status).type(styled.contentType).send(Buffer.from(JSON.stringify(styled.body), 'utf8'));
}

function queryOf(req: Request): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.query)) {
    const first = Array.isArray(value) ? value[0] : value;
    if (typeof first === 'string') out[name] = first;
  }
  return out;
}

/** A 404 for an unknown id (the same answer whether or not it exists in another workspace). */
export function notFound(what: string): IngestError {
  return new IngestError(404, 'API_NOT_FOUND', `${what} not found`);
}
