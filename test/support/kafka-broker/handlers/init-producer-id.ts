/**
 * InitProducerId (22) v0-1, so idempotent kafkajs producers can start. Only non-transactional
 * ids are handed out, and sequence numbers are not checked: the test broker does not deduplicate
 * retried batches (a real broker would).
 */
import { Writer } from '../codec';
import type { ApiHandler } from '../context';
import { ErrorCode } from '../errors';

let nextProducerId = 1000n;

export const initProducerIdHandler: ApiHandler = {
  apiKey: 22,
  name: 'InitProducerId',
  minVersion: 0,
  maxVersion: 1,
  handle(request) {
    const transactionalId = request.nullableString();
    request.int32(); // transaction_timeout_ms
    if (transactionalId !== null) {
      // Transactions need a transaction coordinator this broker does not have.
      return new Writer().int32(0).int16(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED).int64(-1n).int16(-1);
    }
    return new Writer().int32(0).int16(ErrorCode.NONE).int64(nextProducerId++).int16(0);
  },
};
