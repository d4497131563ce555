/**
 * Entry points for decoding an OTLP ExportTraceServiceRequest into the span model. Only a request
 * that cannot be read at all throws (PermanentError RCV_DECODE, answered with 400); individually
 * invalid spans are counted in `rejected` for an OTLP partial-success answer.
 */
import { PermanentError, errorMessage } from '../errors';
import { RejectionLog, type DecodedTraces } from './decoded-traces';
import { nestsDeeperThan } from '../ingest/json-body';
import { MAX_OTLP_JSON_DEPTH, anyValueTooDeep } from './limits';
import { spansFromJson } from './json-to-span';
import { ExportTraceServiceRequest, type RequestMsg } from './pb';
import { createOtlpReader } from './proto-reader';
import { spansFromProto } from './proto-to-span';

export type { DecodedTraces } from './decoded-traces';

export function decodeTraceRequestProto(bytes: Uint8Array): DecodedTraces {
  let request: RequestMsg;
  try {
    request = ExportTraceServiceRequest.decode(createOtlpReader(bytes));
  } catch (err) {
    // protobufjs stops at 100 nested messages. Only AnyValue nests that deep in a trace request
    // (past MAX_ANY_VALUE_DEPTH; or unknown groups), so the refusal is the one JSON gets for it.
    if (err instanceof Error && err.message === 'max depth exceeded') throw anyValueTooDeep();
    throw new PermanentError('RCV_DECODE', `invalid protobuf: ${errorMessage(err)}`, { cause: err });
  }
  const log = new RejectionLog();
  return log.result(spansFromProto(request.resourceSpans, log));
}

/**
 * Accepts the request body as text (or UTF-8 bytes), or a value that was already parsed by a
 * framework's JSON middleware.
 */
export function decodeTraceRequestJson(input: string | Uint8Array | object): DecodedTraces {
  let request: unknown = input;
  let tooDeep = false;
  if (typeof input === 'string' || input instanceof Uint8Array) {
    tooDeep = nestsDeeperThan(input, MAX_OTLP_JSON_DEPTH);
    const text = typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('utf8');
    try {
      request = JSON.parse(text);
    } catch (err) {
      throw new PermanentError('RCV_DECODE', `invalid JSON: ${errorMessage(err)}`, { cause: err });
    }
  }
  const log = new RejectionLog();
  // Decoded even when too deep (JSON.parse does not recurse, the decoder stops at the AnyValue
  // limit), so that attribute values too deep get the very error protobuf gets for them.
  const spans = spansFromJson(request, log);
  if (tooDeep) throw new PermanentError('RCV_DECODE', `invalid JSON: arrays and objects nest deeper than ${MAX_OTLP_JSON_DEPTH} levels`);
  return log.result(spans);
}
