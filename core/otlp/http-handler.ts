import type { Request, Response } from 'express';
import { errorMessage, PermanentError } from '../errors';
import { hangUpSignal } from '../hang-up';
import { BodyError, prepareBodyErrorAnswer, readBody } from '../http-body';
import type { BodyTimeouts } from '../http-body';
import type { BodyReservation } from '../inflight-limiter';
import { decodeTraceRequestJson, decodeTraceRequestProto } from './decode';
import { deliverExport, stampFor, type ExportOutcome } from './deliver-export';
import type { OtlpTransportContext } from './deliver-export';
import { encodeRpcStatus, encodeTraceResponse } from './encode';
import { rateLimitHeaders } from '../ingest/rate-limit';
import type { RateLimits } from '../ingest/rate-limit';
import { RPC_CODE, THROTTLE_RETRY_AFTER_SECONDS } from './rpc-codes';

type Encoding = 'proto' | 'json';

const CONTENT_TYPES: Record<Encoding, string> = { proto: 'application/x-protobuf', json: 'application/json' };

export interface OtlpHttpHandlerOptions extends OtlpTransportContext {
  /** Bound on the body as sent and after decompression. */
  maxRequestBodyBytes: number;
  /** How slowly a body may arrive (defaults: core/http-body.ts). */
  bodyTimeouts?: BodyTimeouts;
  /** Per-key limits, for OTLP mounted inside an ingest receiver (route: the path they count on). */
  rateLimit?: { limits: RateLimits; route: string };
}

/**
 * OTLP/HTTP trace export (POST /v1/traces or wherever a receiver mounts it), answering exactly as the OTLP specification
 * prescribes: 200 with an ExportTraceServiceResponse only once the spans are durable downstream.
 */
export function createOtlpHttpHandler(options: OtlpHttpHandlerOptions): (req: Request, res: Response) => void {
  const { auth, limiter, next, telemetry, logger } = options;
  const maxBytes = options.maxRequestBodyBytes;

  const reply = (res: Response, status: number, encoding: Encoding, body: Uint8Array | string, outcome: string) => {
    telemetry.request(outcome);
    res.status(status).type(CONTENT_TYPES[encoding]).send(typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  };
  const fail = (res: Response, status: number, encoding: Encoding, rpcCode: number, message: string, outcome: string) =>
    reply(res, status, encoding, encodeRpcStatus(rpcCode, message, encoding), outcome);
  const refuse = (req: Request, res: Response, status: number, encoding: Encoding, rpcCode: number, message: string, outcome: string) => {
    // The body is not read: a refused request costs no memory, and the connection is closed
    // afterwards instead of draining a body nobody wants.
    res.set('Connection', 'close');
    req.resume();
    fail(res, status, encoding, rpcCode, message, outcome);
  };

  return async (req, res) => {
    const encoding = encodingOf(req.headers['content-type']);
    const answerEncoding: Encoding = encoding ?? 'json';
    if (req.method !== 'POST') {
      res.set('Allow', 'POST');
      return refuse(req, res, 405, answerEncoding, RPC_CODE.UNIMPLEMENTED, `method ${req.method} is not allowed; use POST`, 'method_not_allowed');
    }
    const authResult = auth.authenticate(req.headers);
    if (authResult.outcome !== 'ok') {
      return authResult.outcome === 'forbidden'
        ? refuse(req, res, 403, answerEncoding, RPC_CODE.PERMISSION_DENIED, 'this API key is not allowed on this receiver', 'permission_denied')
        : refuse(req, res, 401, answerEncoding, RPC_CODE.UNAUTHENTICATED, authResult.outcome === 'missing' ? 'missing API key: send Authorization: Bearer <key>' : 'invalid API key', 'unauthenticated');
    }
    if (!authResult.roles.includes('ingest')) return refuse(req, res, 403, answerEncoding, RPC_CODE.PERMISSION_DENIED, 'this API key has no ingest role', 'permission_denied');
    const { workspace } = authResult;
    const decision = await options.rateLimit?.limits.take(authResult.principal, options.rateLimit.route);
    if (decision) res.set(rateLimitHeaders(decision));
    if (decision?.unavailable) {
      res.set('Retry-After', String(decision.retryAfterSeconds));
      return refuse(req, res, 503, answerEncoding, RPC_CODE.UNAVAILABLE, 'the shared rate limit cannot be checked right now; retry later', 'shared_state_unavailable');
    }
    if (decision && !decision.allowed) {
      telemetry.refused(0, 'rate_limited');
      return refuse(req, res, 429, answerEncoding, RPC_CODE.RESOURCE_EXHAUSTED, `too many requests: at most ${decision.limit} per window; retry after ${decision.retryAfterSeconds} s`, 'rate_limited');
    }
    if (encoding === undefined) {
      return refuse(req, res, 415, 'json', RPC_CODE.INVALID_ARGUMENT, `unsupported Content-Type "${req.headers['content-type'] ?? ''}": use application/x-protobuf or application/json`, 'unsupported_media_type');
    }
    if (!options.accepting()) {
      res.set('Retry-After', String(THROTTLE_RETRY_AFTER_SECONDS));
      return refuse(req, res, 503, encoding, RPC_CODE.UNAVAILABLE, 'receiver is shutting down', 'shutting_down');
    }
    // Checked before reading: a client that declares a body over the bound is refused at once.
    const declared = Number(req.headers['content-length']);
    const known = Number.isFinite(declared) && declared >= 0;
    if (known && declared > maxBytes) {
      return refuse(req, res, 413, encoding, RPC_CODE.INVALID_ARGUMENT, `request body exceeds max_request_body_bytes (${maxBytes} bytes)`, 'too_large');
    }
    // Admitted if it could fit now; bytes are reserved as they arrive (core/inflight-limiter.ts), so a
    // client that announces a large body and then stalls holds only what it sent, until it times out.
    const reservation = limiter.admitBody(known ? declared : 0);
    if (!reservation) {
      telemetry.refused(0, 'inflight_limit');
      res.set('Retry-After', String(THROTTLE_RETRY_AFTER_SECONDS));
      return refuse(req, res, 429, encoding, RPC_CODE.RESOURCE_EXHAUSTED, `receiver is at max_inflight_bytes (${limiter.maxBytes}); retry later`, 'inflight_limit');
    }
    void handleExport(req, res, encoding, workspace, reservation).finally(reservation.release);
  };

  /**
   * Decodes (throwing what the request's answer reports) and hands on; a plain function, so no
   * frame holds the decoded spans while they wait for their insert.
   */
  function deliver(encoding: Encoding, body: Buffer, workspace: string | undefined, res: Response): Promise<ExportOutcome> {
    const decoded = encoding === 'proto' ? decodeTraceRequestProto(body) : decodeTraceRequestJson(body.toString('utf8'));
    return deliverExport(decoded, { next, telemetry, logger, signal: hangUpSignal(res), stamp: stampFor(options, workspace) });
  }

  async function handleExport(req: Request, res: Response, encoding: Encoding, workspace: string | undefined, reservation: BodyReservation): Promise<void> {
    let delivery: Promise<ExportOutcome>;
    let releaseDecompressed: (() => void) | undefined;
    try {
      const body = await readBody(req, { maxBytes, reservation, ...options.bodyTimeouts });
      if (req.headers['content-encoding'] !== undefined) {
        // The inflated copy is held too; count it against the same bound.
        releaseDecompressed = limiter.tryReserve(body.length);
        if (!releaseDecompressed) {
          res.set('Retry-After', String(THROTTLE_RETRY_AFTER_SECONDS));
          telemetry.refused(0, 'inflight_limit');
          return fail(res, 429, encoding, RPC_CODE.RESOURCE_EXHAUSTED, `receiver is at max_inflight_bytes (${limiter.maxBytes}); retry later`, 'inflight_limit');
        }
      }
      delivery = deliver(encoding, body, workspace, res);
    } catch (err) {
      releaseDecompressed?.();
      if (err instanceof BodyError) {
        const outcome = prepareBodyErrorAnswer(res, err, telemetry);
        const rpc = err.status === 408 ? RPC_CODE.DEADLINE_EXCEEDED : err.status === 429 ? RPC_CODE.RESOURCE_EXHAUSTED : RPC_CODE.INVALID_ARGUMENT;
        return fail(res, err.status, encoding, rpc, err.message, outcome);
      }
      if (err instanceof PermanentError) return fail(res, 400, encoding, RPC_CODE.INVALID_ARGUMENT, err.message, 'undecodable');
      logger.error({ err: errorMessage(err) }, 'unexpected error reading an OTLP request');
      return fail(res, 500, encoding, RPC_CODE.INTERNAL, 'internal error reading the request', 'internal_error');
    }
    try {
      const outcome = await delivery;
      if (!outcome.ok) {
        const { failure } = outcome;
        if (failure.retryAfterSeconds !== undefined) res.set('Retry-After', String(failure.retryAfterSeconds));
        const rpc = failure.status === 400 ? RPC_CODE.INVALID_ARGUMENT : failure.status === 429 ? RPC_CODE.RESOURCE_EXHAUSTED : RPC_CODE.UNAVAILABLE;
        return fail(res, failure.status, encoding, rpc, failure.message, failure.reason);
      }
      reply(res, 200, encoding, encodeTraceResponse(outcome.partial, encoding), outcome.partial ? 'partial_success' : 'success');
    } finally {
      releaseDecompressed?.();
    }
  }
}

function encodingOf(contentType: string | undefined): Encoding | undefined {
  const mime = contentType?.split(';')[0].trim().toLowerCase();
  if (mime === 'application/x-protobuf' || mime === 'application/protobuf') return 'proto';
  if (mime === 'application/json') return 'json';
  return undefined;
}
