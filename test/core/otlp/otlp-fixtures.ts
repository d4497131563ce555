/** Builders for hand-made OTLP requests, encoded with the generated classes. */
import Long from 'long';
import {
  ExportTraceServiceRequest,
  type AnyValueMsg,
  type KeyValueMsg,
  type SpanMsg,
} from '../../../core/otlp/pb';

export const TRACE_ID = '5b8efff798038103d269b633813fc60c';
export const SPAN_ID = 'eee19b7ec3c1b174';

export function hexBytes(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

export function nanos(value: bigint): Long {
  return Long.fromString(value.toString(), true);
}

export function spanMsg(overrides: Partial<SpanMsg> = {}): SpanMsg {
  return {
    traceId: hexBytes(TRACE_ID),
    spanId: hexBytes(SPAN_ID),
    name: 'span',
    kind: 1,
    startTimeUnixNano: nanos(1_700_000_000_000_000_000n),
    endTimeUnixNano: nanos(1_700_000_000_500_000_000n),
    ...overrides,
  };
}

export function kv(key: string, value: AnyValueMsg | null): KeyValueMsg {
  return value === null ? { key } : { key, value };
}

export function protoRequest(spans: SpanMsg[], resourceAttributes: KeyValueMsg[] = []): Uint8Array {
  return ExportTraceServiceRequest.encode({
    resourceSpans: [
      {
        resource: { attributes: resourceAttributes },
        scopeSpans: [{ scope: { name: 'fixture' }, spans }],
      },
    ],
  }).finish();
}

export function jsonRequest(spans: object[]): string {
  return JSON.stringify({ resourceSpans: [{ resource: { attributes: [] }, scopeSpans: [{ scope: { name: 'fixture' }, spans }] }] });
}
