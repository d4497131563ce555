/** OffsetCommit (8) v3-5: accepted only from a member of the current, stable generation. */
import { Writer } from '../codec';
import type { ApiHandler } from '../context';
import { ErrorCode } from '../errors';

export const offsetCommitHandler: ApiHandler = {
  apiKey: 8,
  name: 'OffsetCommit',
  minVersion: 3,
  maxVersion: 5,
  handle(request, ctx) {
    const { groups, store } = ctx.broker;
    const groupId = request.string();
    const generationId = request.int32();
    const memberId = request.string();
    if (ctx.apiVersion <= 4) request.int64(); // retention_time_ms: offsets live as long as the broker
    const topics = request.array((r) => ({
      name: r.string(),
      partitions: r.array((r) => ({ index: r.int32(), offset: r.int64(), metadata: r.nullableString() })),
    }));

    const groupError = groups.commitError(groupId, generationId, memberId);
    const results = topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => {
        let errorCode: number = groupError;
        if (errorCode === ErrorCode.NONE && !store.partition(t.name, p.index)) errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        if (errorCode === ErrorCode.NONE) groups.commit(groupId, t.name, p.index, p.offset, p.metadata);
        return { index: p.index, errorCode };
      }),
    }));

    const w = new Writer().int32(0);
    w.array(results, (w, t) => {
      w.string(t.name);
      w.array(t.partitions, (w, p) => w.int32(p.index).int16(p.errorCode));
    });
    return w;
  },
};
