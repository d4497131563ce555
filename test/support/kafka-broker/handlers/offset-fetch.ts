/** OffsetFetch (9) v2-4: committed offsets, -1 for partitions without one; null topics = all. */
import { Writer } from '../codec';
import type { ApiHandler } from '../context';
import { ErrorCode } from '../errors';

export const offsetFetchHandler: ApiHandler = {
  apiKey: 9,
  name: 'OffsetFetch',
  minVersion: 2,
  maxVersion: 4,
  handle(request, ctx) {
    const groups = ctx.broker.groups;
    const groupId = request.string();
    const requested = request.nullableArray((r) => ({ name: r.string(), partitions: r.array((r) => r.int32()) }));

    let topics = requested;
    if (topics === null) {
      const byTopic = new Map<string, number[]>();
      for (const { topic, partition } of groups.committedPartitions(groupId)) {
        byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition]);
      }
      topics = [...byTopic.entries()].map(([name, partitions]) => ({ name, partitions }));
    }

    const w = new Writer();
    if (ctx.apiVersion >= 3) w.int32(0);
    w.array(topics, (w, t) => {
      w.string(t.name);
      w.array(t.partitions, (w, index) => {
        const committed = groups.committed(groupId, t.name, index);
        w.int32(index).int64(committed?.offset ?? -1n).string(committed?.metadata ?? '').int16(ErrorCode.NONE);
      });
    });
    w.int16(ErrorCode.NONE);
    return w;
  },
};
