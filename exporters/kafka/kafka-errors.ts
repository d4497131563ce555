import { PermanentError, TracehouseError, errorMessage } from '../../core/errors';

/**
 * Broker answers that blame the records themselves: sending them again cannot succeed.
 * Everything else (connections, timeouts, leaders moving, authorization, unknown topics) is an
 * outage of the next hop, and the client should retry later.
 */
const REJECTED_TYPES = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'CORRUPT_MESSAGE',
  'INVALID_RECORD',
  'UNSUPPORTED_COMPRESSION_TYPE',
]);

interface KafkaJsErrorShape {
  name?: unknown;
  type?: unknown;
  cause?: unknown;
}

/** kafkajs wraps the broker's answer in retry errors; the innermost protocol error says why. */
function protocolErrorType(err: unknown): string | undefined {
  const seen = new Set<unknown>();
  let current: unknown = err;
  while (current !== null && typeof current === 'object' && !seen.has(current)) {
    seen.add(current);
    const shape = current as KafkaJsErrorShape;
    if (shape.name === 'KafkaJSProtocolError' && typeof shape.type === 'string') return shape.type;
    current = shape.cause;
  }
  return undefined;
}

/** Maps a kafkajs failure onto the pipeline's error contract. */
export function classifyKafkaError(err: unknown, topic: string): TracehouseError {
  const type = protocolErrorType(err);
  if (type !== undefined && REJECTED_TYPES.has(type)) {
    return new PermanentError('EXP_KAFKA_REJECTED', `kafka refused the messages for topic ${topic} (${type}): ${errorMessage(err)}`, {
      cause: err,
    });
  }
  return new TracehouseError('EXP_KAFKA_UNAVAILABLE', `kafka send to topic ${topic} failed: ${errorMessage(err)}`, {
    cause: err,
  });
}
