/** Metadata (3) v6: one broker (node 0), leader of every partition; auto-creates requested topics. */
import { Writer } from '../codec';
import { ADVERTISED_HOST, CLUSTER_ID, NODE_ID, resolveTopic, type ApiHandler } from '../context';
import { ErrorCode } from '../errors';
import { isValidTopicName } from '../log-store';

interface TopicAnswer {
  name: string;
  errorCode: number;
  partitions: number;
}

export const metadataHandler: ApiHandler = {
  apiKey: 3,
  name: 'Metadata',
  minVersion: 6,
  maxVersion: 6,
  handle(request, ctx) {
    const broker = ctx.broker;
    const requested = request.nullableArray((r) => r.string());
    const allowAutoCreate = request.boolean();
    // kafkajs sends an empty topic list as null: both mean "all topics".
    const names = requested === null || requested.length === 0 ? broker.store.topicNames() : requested;
    const topics: TopicAnswer[] = names.map((name) => {
      const partitions = resolveTopic(broker, name, allowAutoCreate);
      if (partitions) return { name, errorCode: ErrorCode.NONE, partitions: partitions.length };
      const errorCode = isValidTopicName(name) ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.INVALID_TOPIC_EXCEPTION;
      return { name, errorCode, partitions: 0 };
    });

    const w = new Writer().int32(0); // throttle_time_ms
    w.array([NODE_ID], (w, id) => w.int32(id).string(ADVERTISED_HOST).int32(broker.port()).string(null));
    w.string(CLUSTER_ID).int32(NODE_ID);
    w.array(topics, (w, t) => {
      w.int16(t.errorCode).string(t.name).boolean(false);
      w.array(Array.from({ length: t.partitions }, (_, i) => i), (w, index) => {
        w.int16(ErrorCode.NONE).int32(index).int32(NODE_ID);
        w.array([NODE_ID], (w, id) => w.int32(id)); // replicas
        w.array([NODE_ID], (w, id) => w.int32(id)); // isr
        w.array([], () => undefined); // offline replicas
      });
    });
    return w;
  },
};
