/** ListOffsets (2) v2-3: latest (-1), earliest (-2), or by timestamp at batch granularity. */
import { Writer } from '../codec';
import type { ApiHandler } from '../context';
import { ErrorCode } from '../errors';

const LATEST = -1n;
const EARLIEST = -2n;

export const listOffsetsHandler: ApiHandler = {
  apiKey: 2,
  name: 'ListOffsets',
  minVersion: 2,
  maxVersion: 3,
  handle(request, ctx) {
    request.int32(); // replica_id
    request.int8(); // isolation_level: no transactions, so committed == appended
    const topics = request.array((r) => ({
      name: r.string(),
      partitions: r.array((r) => ({ index: r.int32(), timestamp: r.int64() })),
    }));

    const w = new Writer().int32(0);
    w.array(topics, (w, t) => {
      w.string(t.name);
      w.array(t.partitions, (w, p) => {
        const log = ctx.broker.store.partition(t.name, p.index);
        if (!log) {
          w.int32(p.index).int16(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION).int64(-1n).int64(-1n);
          return;
        }
        const offset =
          p.timestamp === LATEST ? log.nextOffset : p.timestamp === EARLIEST ? log.logStartOffset : log.offsetForTimestamp(p.timestamp);
        w.int32(p.index).int16(ErrorCode.NONE).int64(-1n).int64(offset);
      });
    });
    return w;
  },
};
