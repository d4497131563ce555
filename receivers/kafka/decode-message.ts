import type { KafkaMessage } from 'kafkajs';
import { decodeTraceRequestJson, decodeTraceRequestProto } from '../../core/otlp/decode';
import type { DecodedTraces } from '../../core/otlp/decode';
import type { KafkaReceiverConfig } from './config';

const EMPTY: DecodedTraces = { spans: [], rejected: 0, rejectReasons: [] };

/**
 * One message value as an ExportTraceServiceRequest. Throws PermanentError (RCV_DECODE) when it
 * cannot be read at all; individually invalid spans come back in `rejected`. A null value (a
 * compaction tombstone) carries no spans and is simply passed over.
 */
export function decodeKafkaMessage(message: KafkaMessage, encoding: KafkaReceiverConfig['encoding']): DecodedTraces {
  if (message.value === null) return EMPTY;
  return encoding === 'otlp_json' ? decodeTraceRequestJson(message.value) : decodeTraceRequestProto(message.value);
}
