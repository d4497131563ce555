import type { KafkaMessage } from 'kafkajs';
import { stampSpans } from '../../core/ingest/attributes';
import { fromTracehouse } from '../../core/kafka/message-origin';
import { decodeTraceRequestJson, decodeTraceRequestProto } from '../../core/otlp/decode';
import type { DecodedTraces } from '../../core/otlp/decode';
import type { KafkaReceiverConfig } from './config';

const EMPTY: DecodedTraces = { spans: [], rejected: 0, rejectReasons: [] };

/**
 * One message value as an ExportTraceServiceRequest. Throws PermanentError (RCV_DECODE) when it
 * cannot be read at all; individually invalid spans come back in `rejected`. A null value (a
 * compaction tombstone) carries no spans and is simply passed over.
 *
 * Spans of a message not trusted to carry the daemon's attributes (see `reserved_attributes`) are
 * stamped as every other receiver stamps client spans: client-set tracehouse.* moved to
 * client.tracehouse.*, the workspace set to `default_workspace`, the source to this receiver.
 */
export function decodeKafkaMessage(message: KafkaMessage, config: KafkaReceiverConfig, receiverId: string): DecodedTraces {
  if (message.value === null) return EMPTY;
  const decoded = config.encoding === 'otlp_json' ? decodeTraceRequestJson(message.value) : decodeTraceRequestProto(message.value);
  if (trusted(message, config)) return decoded;
  const stamp = { 'tracehouse.workspace': config.default_workspace, 'tracehouse.source': receiverId };
  return { ...decoded, spans: stampSpans(decoded.spans, stamp, 'client').spans };
}

function trusted(message: KafkaMessage, config: KafkaReceiverConfig): boolean {
  if (config.reserved_attributes === 'trust') return true;
  if (config.reserved_attributes === 'scrub' || message.value === null) return false;
  return fromTracehouse(message.value, message.headers, config.signing_key);
}
