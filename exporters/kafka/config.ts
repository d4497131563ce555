import { z } from 'zod';
import { kafkaClientFields } from '../../core/kafka/client-config';

/** Kafka's own rule for topic names (legal characters, at most 249 of them). */
const topicName = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,249}$/, 'must be 1-249 characters of letters, digits, ".", "_" and "-"')
  .refine((name) => name !== '.' && name !== '..', 'must not be "." or ".."');

export const kafkaExporterConfigSchema = z.strictObject({
  ...kafkaClientFields,
  /**
   * Bootstrap brokers. Defaults to localhost:9092 like the Collector's kafka exporter, so that an
   * example without brokers still parses; any real deployment names its brokers.
   */
  brokers: kafkaClientFields.brokers.default(['localhost:9092']),
  /** Topic the spans are written to (the Collector's default). */
  topic: topicName.default('otlp_spans'),
  /** otlp_proto: ExportTraceServiceRequest protobuf; otlp_json: the same request as OTLP/JSON. */
  encoding: z.enum(['otlp_proto', 'otlp_json']).default('otlp_proto'),
  /** Key each message by its trace id, so all spans of a trace land in one partition. */
  partition_traces_by_id: z.boolean().default(true),
  /**
   * all: every in-sync replica has the messages before consume resolves (acks=-1), the durability
   * the pipeline promises. leader: only the partition leader (acks=1); a leader failure before
   * replication loses acknowledged spans. No-ack (acks=0) is not offered: it would acknowledge
   * clients for data nobody stored.
   */
  acks: z
    .enum(['all', 'leader'], { error: 'must be "all" or "leader" (no-ack would answer clients for spans nobody stored)' })
    .default('all'),
  compression: z.enum(['gzip', 'none']).default('gzip'),
  /**
   * Largest encoded request in one message, before compression; larger traces are split. Keep it
   * below the broker's message.max.bytes (Kafka's default 1048588) and the topic's max.message.bytes.
   */
  max_message_bytes: z.int().min(1024).max(1_000_000_000).default(1_000_000),
  /** Longest one consume waits for every message to be acknowledged; also each Kafka request's bound. */
  timeout_ms: z.int().min(1).default(10_000),
  /** Retries of a failed connect or produce inside one consume (kafkajs retry), within timeout_ms. */
  max_retries: z.int().min(0).max(100).default(5),
  /**
   * Shared with the store tier's kafka receiver: every message is signed (HMAC-SHA256 of its
   * value), so the receiver keeps the tracehouse.* attributes only of messages this tier wrote.
   */
  signing_key: z.string().min(16, 'must be at least 16 characters').optional(),
});

export type KafkaExporterConfig = z.output<typeof kafkaExporterConfigSchema>;
