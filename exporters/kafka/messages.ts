/**
 * Turns a span batch into Kafka messages in the OpenTelemetry Collector's topic format: each value
 * is one OTLP ExportTraceServiceRequest, keyed by the hex trace id when traces are partitioned, so
 * a Collector's kafka receiver reads the topic as it reads its own exporter's.
 */
import { ORIGIN_HEADER_BYTES } from '../../core/kafka/message-origin';
import { PermanentError } from '../../core/errors';
import { encodeTraceRequestJson, encodeTraceRequestProto } from '../../core/otlp/encode';
import type { Span, SpanBatch } from '../../core/span';

export type KafkaEncoding = 'otlp_proto' | 'otlp_json';

export interface MessageOptions {
  encoding: KafkaEncoding;
  partitionTracesById: boolean;
  /** Largest value (the encoded request, before compression) one message may carry. */
  maxMessageBytes: number;
}

export interface OutgoingMessage {
  /** The trace id as 32 lowercase hex characters in UTF-8, or null when traces are not partitioned. */
  key: Buffer | null;
  value: Buffer;
  spans: number;
}

/** The content-type header every message carries, so a reader need not guess the encoding. */
export const CONTENT_TYPES: Record<KafkaEncoding, string> = {
  otlp_proto: 'application/x-protobuf',
  otlp_json: 'application/json',
};

interface Piece {
  spans: SpanBatch;
  value: Buffer;
}

function encoder(encoding: KafkaEncoding): (spans: SpanBatch) => Buffer {
  if (encoding === 'otlp_json') return (spans) => Buffer.from(encodeTraceRequestJson(spans), 'utf8');
  return (spans) => {
    const bytes = encodeTraceRequestProto(spans);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

/** Spans grouped by trace id, traces in order of first appearance. */
export function groupByTrace(batch: SpanBatch): Map<string, SpanBatch> {
  const traces = new Map<string, Span[]>();
  for (const span of batch) {
    const list = traces.get(span.traceId);
    if (list) list.push(span);
    else traces.set(span.traceId, [span]);
  }
  return traces;
}

/**
 * Encodes `spans` as one or more requests, each within `max` bytes. A request that is too large is
 * cut into as many equal runs of spans as its size suggests, and any run still too large is cut
 * again; a single span that cannot fit is bad data for this topic.
 */
function encodeWithin(spans: SpanBatch, encode: (spans: SpanBatch) => Buffer, max: number): Piece[] {
  const value = encode(spans);
  if (value.length <= max) return [{ spans, value }];
  if (spans.length === 1) {
    throw new PermanentError(
      'EXP_KAFKA_MESSAGE_TOO_LARGE',
      `span ${spans[0].spanId} of trace ${spans[0].traceId} encodes to ${value.length} bytes, more than max_message_bytes (${max})`,
    );
  }
  const parts = Math.min(spans.length, Math.max(2, Math.ceil(value.length / max)));
  const size = Math.ceil(spans.length / parts);
  const pieces: Piece[] = [];
  for (let from = 0; from < spans.length; from += size) {
    pieces.push(...encodeWithin(spans.slice(from, from + size), encode, max));
  }
  return pieces;
}

/**
 * Packs whole traces (or the pieces of a trace too large for one message) greedily, in order, into
 * messages of up to `max` bytes. Encoding a group merges its resources, so it is at most the sum
 * of its pieces in practice; the size is still checked, and a group that came out too large is
 * sent as its pieces.
 */
function packPieces(pieces: Piece[], encode: (spans: SpanBatch) => Buffer, max: number): Piece[] {
  const out: Piece[] = [];
  let group: Piece[] = [];
  let bytes = 0;
  const flush = () => {
    if (group.length === 1) out.push(group[0]);
    else if (group.length > 1) {
      const spans = group.flatMap((piece) => piece.spans);
      const value = encode(spans);
      if (value.length <= max) out.push({ spans, value });
      else out.push(...group);
    }
    group = [];
    bytes = 0;
  };
  for (const piece of pieces) {
    if (group.length > 0 && bytes + piece.value.length > max) flush();
    group.push(piece);
    bytes += piece.value.length;
  }
  flush();
  return out;
}

/**
 * The messages for one batch. Partitioned: one message per trace (key = trace id), several with
 * the same key when one trace exceeds max_message_bytes. Not partitioned: the batch as one unkeyed
 * message when it fits, else traces packed in order into unkeyed messages. Throws a PermanentError
 * (EXP_KAFKA_MESSAGE_TOO_LARGE) when a single span exceeds max_message_bytes, before anything is sent.
 */
export function buildMessages(batch: SpanBatch, options: MessageOptions): OutgoingMessage[] {
  if (batch.length === 0) return [];
  const encode = encoder(options.encoding);
  const max = options.maxMessageBytes;
  if (options.partitionTracesById) {
    const messages: OutgoingMessage[] = [];
    for (const [traceId, spans] of groupByTrace(batch)) {
      const key = Buffer.from(traceId, 'utf8');
      for (const piece of encodeWithin(spans, encode, max)) {
        messages.push({ key, value: piece.value, spans: piece.spans.length });
      }
    }
    return messages;
  }
  const whole = encode(batch);
  if (whole.length <= max) return [{ key: null, value: whole, spans: batch.length }];
  const pieces = [...groupByTrace(batch).values()].flatMap((spans) => encodeWithin(spans, encode, max));
  return packPieces(pieces, encode, max).map((piece) => ({ key: null, value: piece.value, spans: piece.spans.length }));
}

/** Bytes a record adds beyond key and value (length varints, offsets, the content-type and origin headers). */
const RECORD_OVERHEAD_BYTES = 64 + ORIGIN_HEADER_BYTES;

/**
 * Splits messages into produce calls of at most `maxBytes` each. Kafka applies its size limit
 * (message.max.bytes) to a whole record batch, which is every record of one produce request for one
 * partition; bounding each call keeps every batch within the limit however keys hash. A message
 * larger than the budget on its own still gets a call of its own.
 */
export function produceCalls(messages: OutgoingMessage[], maxBytes: number): OutgoingMessage[][] {
  const calls: OutgoingMessage[][] = [];
  let call: OutgoingMessage[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = message.value.length + (message.key?.length ?? 0) + RECORD_OVERHEAD_BYTES;
    if (call.length > 0 && bytes + size > maxBytes) {
      calls.push(call);
      call = [];
      bytes = 0;
    }
    call.push(message);
    bytes += size;
  }
  if (call.length > 0) calls.push(call);
  return calls;
}
