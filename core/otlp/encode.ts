/**
 * Encoders for the OTLP trace protocol: export requests (Kafka exporter, tests, benchmarks) and
 * the receiver's answers, the ExportTraceServiceResponse and google.rpc.Status error bodies.
 */
import type { SpanBatch } from '../span';
import { ExportTraceServiceRequest, ExportTraceServiceResponse, RpcStatus, type ResponseMsg } from './pb';
import { spansToJsonRequest } from './span-to-json';
import { spansToProtoRequest } from './span-to-proto';

export type OtlpEncoding = 'proto' | 'json';

export interface PartialSuccess {
  rejectedSpans: number;
  errorMessage: string;
}

/** Groups spans back into ResourceSpans/ScopeSpans by resource and scope object identity. */
export function encodeTraceRequestProto(spans: SpanBatch): Uint8Array {
  return ExportTraceServiceRequest.encode(spansToProtoRequest(spans)).finish();
}

export function encodeTraceRequestJson(spans: SpanBatch): string {
  return JSON.stringify(spansToJsonRequest(spans));
}

/**
 * The success answer. Without rejections (and without a warning message) the OTLP spec wants the
 * partial_success field left unset, which makes the body empty in protobuf and `{}` in JSON.
 */
export function encodeTraceResponse(partial: PartialSuccess | undefined, encoding: 'proto'): Uint8Array;
export function encodeTraceResponse(partial: PartialSuccess | undefined, encoding: 'json'): string;
export function encodeTraceResponse(partial: PartialSuccess | undefined, encoding: OtlpEncoding): Uint8Array | string;
export function encodeTraceResponse(partial: PartialSuccess | undefined, encoding: OtlpEncoding): Uint8Array | string {
  const empty = partial === undefined || (partial.rejectedSpans === 0 && partial.errorMessage === '');
  if (encoding === 'json') {
    if (empty) return '{}';
    const body: { rejectedSpans?: string; errorMessage?: string } = {};
    // proto3 JSON writes int64 as a decimal string and leaves defaults out.
    if (partial.rejectedSpans !== 0) body.rejectedSpans = String(partial.rejectedSpans);
    if (partial.errorMessage !== '') body.errorMessage = partial.errorMessage;
    return JSON.stringify({ partialSuccess: body });
  }
  const message: ResponseMsg = empty
    ? {}
    : { partialSuccess: { rejectedSpans: partial.rejectedSpans, errorMessage: partial.errorMessage } };
  return ExportTraceServiceResponse.encode(message).finish();
}

/** A google.rpc.Status error body; `code` is a google.rpc.Code (3 = INVALID_ARGUMENT, ...). */
export function encodeRpcStatus(code: number, message: string, encoding: 'proto'): Uint8Array;
export function encodeRpcStatus(code: number, message: string, encoding: 'json'): string;
export function encodeRpcStatus(code: number, message: string, encoding: OtlpEncoding): Uint8Array | string;
export function encodeRpcStatus(code: number, message: string, encoding: OtlpEncoding): Uint8Array | string {
  if (encoding === 'json') return JSON.stringify({ code, message });
  return RpcStatus.encode({ code, message }).finish();
}
