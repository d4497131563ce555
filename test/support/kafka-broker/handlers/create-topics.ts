/** CreateTopics (19) v2-3: creates in memory; a one-broker cluster rejects replication factors > 1. */
import { Writer } from '../codec';
import type { ApiHandler } from '../context';
import { ErrorCode } from '../errors';
import { isValidTopicName } from '../log-store';

interface TopicResult {
  name: string;
  errorCode: number;
  message: string | null;
}

export const createTopicsHandler: ApiHandler = {
  apiKey: 19,
  name: 'CreateTopics',
  minVersion: 2,
  maxVersion: 3,
  handle(request, ctx) {
    const { store, options } = ctx.broker;
    const topics = request.array((r) => ({
      name: r.string(),
      numPartitions: r.int32(),
      replicationFactor: r.int16(),
      assignments: r.array((r) => ({ partition: r.int32(), brokers: r.array((r) => r.int32()) })),
      configs: r.array((r) => ({ name: r.string(), value: r.nullableString() })),
    }));
    request.int32(); // timeout_ms: creation is immediate
    const validateOnly = request.boolean();

    const results: TopicResult[] = topics.map((t) => {
      const fail = (errorCode: number, message: string): TopicResult => ({ name: t.name, errorCode, message });
      if (!isValidTopicName(t.name)) return fail(ErrorCode.INVALID_TOPIC_EXCEPTION, `Topic name "${t.name}" is illegal`);
      if (store.partitions(t.name)) return fail(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${t.name}' already exists.`);
      if (t.replicationFactor > 1) {
        return fail(ErrorCode.INVALID_REPLICATION_FACTOR, `Replication factor: ${t.replicationFactor} larger than available brokers: 1.`);
      }
      const partitions = t.assignments.length > 0 ? t.assignments.length : t.numPartitions === -1 ? options.defaultPartitions : t.numPartitions;
      if (partitions < 1) return fail(ErrorCode.INVALID_PARTITIONS, 'Number of partitions must be larger than 0.');
      if (!validateOnly) store.create(t.name, partitions);
      return { name: t.name, errorCode: ErrorCode.NONE, message: null };
    });

    const w = new Writer().int32(0);
    w.array(results, (w, r) => w.string(r.name).int16(r.errorCode).string(r.message));
    return w;
  },
};
