/**
 * Produce (0) v3-7: magic-v2 batches only, appended as sent. With one in-memory replica, acks 1
 * and -1 both mean "appended"; acks 0 gets no response at all (the client does not read one).
 */
import { Writer } from '../codec';
import { resolveTopic, type ApiHandler } from '../context';
import { ErrorCode } from '../errors';
import { BatchFormatError, splitBatches } from '../record-batch';

interface PartitionResult {
  index: number;
  errorCode: number;
  baseOffset: bigint;
}

export const produceHandler: ApiHandler = {
  apiKey: 0,
  name: 'Produce',
  minVersion: 3,
  maxVersion: 7,
  handle(request, ctx) {
    request.nullableString(); // transactional_id: transactions are not supported, records are appended as is
    const acks = request.int16();
    request.int32(); // timeout_ms
    const topics = request.array((r) => ({
      name: r.string(),
      partitions: r.array((r) => ({ index: r.int32(), records: r.nullableBytes() })),
    }));

    const validAcks = acks === 0 || acks === 1 || acks === -1;
    const results = topics.map((topic) => {
      const logs = validAcks ? resolveTopic(ctx.broker, topic.name, true) : undefined;
      const partitions = topic.partitions.map((p): PartitionResult => {
        const fail = (errorCode: number): PartitionResult => ({ index: p.index, errorCode, baseOffset: -1n });
        if (!validAcks) return fail(ErrorCode.INVALID_REQUIRED_ACKS);
        const log = logs?.[p.index];
        if (!log) return fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
        try {
          const batches = splitBatches(p.records ?? Buffer.alloc(0));
          if (batches.length === 0) return fail(ErrorCode.CORRUPT_MESSAGE);
          return { index: p.index, errorCode: ErrorCode.NONE, baseOffset: ctx.broker.store.append(log, batches) };
        } catch (err) {
          if (!(err instanceof BatchFormatError)) throw err;
          return fail(err.unsupportedFormat ? ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT : ErrorCode.CORRUPT_MESSAGE);
        }
      });
      return { name: topic.name, partitions };
    });

    if (acks === 0) return null;
    const w = new Writer();
    w.array(results, (w, t) => {
      w.string(t.name);
      w.array(t.partitions, (w, p) => {
        w.int32(p.index).int16(p.errorCode).int64(p.baseOffset).int64(-1n); // log_append_time: CreateTime topics
        if (ctx.apiVersion >= 5) w.int64(0n); // log_start_offset
      });
    });
    w.int32(0);
    return w;
  },
};
