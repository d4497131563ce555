import type { Request, Response } from 'express';
import { ApiKeyAuth } from '../../core/auth';
import type { SpanConsumer } from '../../core/component';
import type { ReceiverTelemetry } from '../../core/telemetry';
import { classifyDeliveryError } from '../../core/delivery-error';
import { errorMessage, PermanentError } from '../../core/errors';
import { BodyError, readBody } from '../../core/http-body';
import type { Logger } from '../../core/logger';
import { decodeTraceRequestJson, decodeTraceRequestProto } from '../../core/otlp/decode';
import { encodeRpcStatus, encodeTraceResponse } from '../../core/otlp/encode';
import type { OtlpReceiverConfig } from './config';

type Encoding = 'proto' | 'json';

/** google.rpc.Code values used in error bodies. */
const RPC = { INVALID_ARGUMENT: 3, PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, UNAVAILABLE: 14, UNAUTHENTICATED: 16, UNIMPLEMENTED: 12 } as const;

const CONTENT_TYPES: Record<Encoding, string> = { proto: 'application/x-protobuf', json: 'application/json' };

export interface OtlpHttpHandlerOptions {
  config: OtlpReceiverConfig;
  next: SpanConsumer;
  telemetry: ReceiverTelemetry;
  logger: Logger;
  /** False once the receiver is shutting down: new requests are refused with 503. */
  accepting: () => boolean;
}

/**
 * OTLP/HTTP trace export (POST {traces_path}), answering exactly as the OTLP specification
 * prescribes: 200 with an ExportTraceServiceResponse only once the spans are durable downstream.
 */
export function createOtlpHttpHandler(options: OtlpHttpHandlerOptions): (req: Request, res: Response) => void {
  const { config, next, telemetry, logger } = options;
  const auth = new ApiKeyAuth(config.auth);
  const maxBytes = config.http.max_request_body_bytes;

  const reply = (res: Response, status: number, encoding: Encoding, body: Uint8Array | string, outcome: string) => {
    telemetry.request(outcome);
    res.status(status).type(CONTENT_TYPES[encoding]).send(typeof body === 'string' ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  };
  const fail = (res: Response, status: number, encoding: Encoding, rpcCode: number, message: string, outcome: string) =>
    reply(res, status, encoding, encodeRpcStatus(rpcCode, message, encoding), outcome);

  return (req, res) => {
    const encoding = encodingOf(req.headers['content-type']);
    const answerEncoding: Encoding = encoding ?? 'json';
    if (req.method !== 'POST') {
      res.set('Allow', 'POST');
      req.resume();
      return fail(res, 405, answerEncoding, RPC.UNIMPLEMENTED, `method ${req.method} is not allowed; use POST`, 'method_not_allowed');
    }
    const authOutcome = auth.check(req.headers);
    if (authOutcome !== 'ok') {
      req.resume();
      return authOutcome === 'missing'
        ? fail(res, 401, answerEncoding, RPC.UNAUTHENTICATED, 'missing API key: send Authorization: Bearer <key>', 'unauthenticated')
        : fail(res, 403, answerEncoding, RPC.PERMISSION_DENIED, 'invalid API key', 'permission_denied');
    }
    if (encoding === undefined) {
      req.resume();
      return fail(res, 415, 'json', RPC.INVALID_ARGUMENT, `unsupported Content-Type "${req.headers['content-type'] ?? ''}": use application/x-protobuf or application/json`, 'unsupported_media_type');
    }
    if (!options.accepting()) {
      req.resume();
      res.set('Retry-After', '5');
      return fail(res, 503, encoding, RPC.UNAVAILABLE, 'receiver is shutting down', 'shutting_down');
    }
    void handleExport(req, res, encoding);
  };

  async function handleExport(req: Request, res: Response, encoding: Encoding): Promise<void> {
    let decoded;
    try {
      const body = await readBody(req, { maxBytes });
      decoded = encoding === 'proto' ? decodeTraceRequestProto(body) : decodeTraceRequestJson(body.toString('utf8'));
    } catch (err) {
      if (err instanceof BodyError) {
        return fail(res, err.status, encoding, RPC.INVALID_ARGUMENT, err.message, err.code === 'RCV_TOO_LARGE' ? 'too_large' : 'bad_body');
      }
      if (err instanceof PermanentError) return fail(res, 400, encoding, RPC.INVALID_ARGUMENT, err.message, 'undecodable');
      logger.error({ err: errorMessage(err) }, 'unexpected error reading an OTLP request');
      return fail(res, 500, encoding, RPC.INVALID_ARGUMENT, 'internal error reading the request', 'internal_error');
    }
    const { spans, rejected, rejectReasons } = decoded;
    if (rejected > 0) telemetry.refused(rejected, 'invalid_span');
    if (spans.length > 0) {
      const controller = new AbortController();
      res.on('close', () => controller.abort());
      try {
        await next.consume(spans, controller.signal);
      } catch (err) {
        const failure = classifyDeliveryError(err);
        telemetry.refused(spans.length, failure.reason);
        if (failure.retryAfterSeconds !== undefined) res.set('Retry-After', String(failure.retryAfterSeconds));
        if (failure.status === 503) logger.warn({ err: failure.message, spans: spans.length }, 'downstream failed; asked the client to retry');
        const rpc = failure.status === 400 ? RPC.INVALID_ARGUMENT : failure.status === 429 ? RPC.RESOURCE_EXHAUSTED : RPC.UNAVAILABLE;
        return fail(res, failure.status, encoding, rpc, failure.message, failure.reason);
      }
      telemetry.accepted(spans.length);
    }
    const partial = rejected > 0 ? { rejectedSpans: rejected, errorMessage: rejectReasons.join('; ') } : undefined;
    reply(res, 200, encoding, encodeTraceResponse(partial, encoding), rejected > 0 ? 'partial_success' : 'success');
  }
}

function encodingOf(contentType: string | undefined): Encoding | undefined {
  const mime = contentType?.split(';')[0].trim().toLowerCase();
  if (mime === 'application/x-protobuf' || mime === 'application/protobuf') return 'proto';
  if (mime === 'application/json') return 'json';
  return undefined;
}
