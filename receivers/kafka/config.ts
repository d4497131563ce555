import { z } from 'zod';
import { kafkaClientFields } from '../../core/kafka/client-config';
import { DEFAULT_WORKSPACE, WORKSPACE_ID } from '../../core/workspaces';

/** `dead_letter_topic: none` drops (and counts) what cannot be delivered instead of parking it. */
export const DEAD_LETTER_NONE = 'none';

const topicName = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,249}$/, 'must be a Kafka topic name: letters, digits, ".", "_" and "-"');

const retrySchema = z
  .strictObject({
    /** Wait before the first retry of a batch the pipeline refused retryably. */
    initial_backoff_ms: z.int().min(1).default(500),
    /** Waits double (with jitter) up to this; retries go on as long as the failure lasts. */
    max_backoff_ms: z.int().min(1).default(30_000),
  })
  .superRefine((retry, ctx) => {
    if (retry.max_backoff_ms < retry.initial_backoff_ms) {
      ctx.addIssue({ code: 'custom', path: ['max_backoff_ms'], message: 'must be at least initial_backoff_ms' });
    }
  });

export const kafkaReceiverConfigSchema = z
  .strictObject({
    ...kafkaClientFields,
    /**
     * Bootstrap brokers. Defaults to localhost:9092 like the Collector's kafka receiver (and the
     * kafka exporter), so an example without brokers parses; any real deployment names its brokers.
     */
    brokers: kafkaClientFields.brokers.default(['localhost:9092']),
    /** Topics to consume; the kafka exporter writes `otlp_spans` by default. */
    topics: z.array(topicName).min(1).default(['otlp_spans']),
    /** Consumer group: instances with the same group share the partitions. */
    group_id: z.string().min(1).default('tracehouse'),
    /** How message values are encoded, as the kafka exporter (or a Collector) wrote them. */
    encoding: z.enum(['otlp_proto', 'otlp_json']).default('otlp_proto'),
    /** Where a group without a committed offset starts on a partition. */
    initial_offset: z.enum(['earliest', 'latest']).default('earliest'),
    /**
     * Topic for messages that can never be delivered (undecodable, or refused by the pipeline as
     * bad data). Default: `<source topic>.dlq`. `none` drops them, counted.
     */
    dead_letter_topic: z.union([z.literal(DEAD_LETTER_NONE), topicName]).optional(),
    /** The group drops a member it has not heard from for this long and rebalances. */
    session_timeout_ms: z.int().min(1_000).default(30_000),
    /** How often the member tells the group it is alive; well under session_timeout_ms. */
    heartbeat_interval_ms: z.int().min(100).default(3_000),
    /** Longest a fetch waits on the broker for new messages (the broker's long poll). */
    max_fetch_wait_ms: z.int().min(0).default(250),
    /** Upper bound of bytes fetched per partition at once (kafkajs maxBytesPerPartition). */
    max_partition_fetch_bytes: z.int().min(1024).default(1_048_576),
    /** Partitions handed to the pipeline at the same time (each one still strictly in order). */
    max_concurrent_partitions: z.int().min(1).default(4),
    /** Upper bound of spans handed to the pipeline in one call; a larger fetched batch is split. */
    max_batch_spans: z.int().min(1).default(10_000),
    retry: retrySchema.prefault({}),
    /**
     * Which messages keep the tracehouse.* attributes they carry. `auto`: those a Tracehouse kafka
     * exporter wrote (signed with `signing_key` when one is set, else marked); `scrub`: none;
     * `trust`: all (every producer on the topic is a Tracehouse ingest tier). In the others,
     * client-set reserved attributes move to client.tracehouse.* and the spans are stamped with
     * `default_workspace`, as on every other receiver.
     */
    reserved_attributes: z.enum(['auto', 'scrub', 'trust']).default('auto'),
    /** The ingest tier's kafka exporter `signing_key`: with it, only signed messages are trusted. */
    signing_key: z.string().min(16, 'must be at least 16 characters').optional(),
    /** tracehouse.workspace of spans from messages that are not trusted. */
    default_workspace: z
      .string()
      .regex(WORKSPACE_ID, 'workspace ids are 1-64 characters of letters, digits, "_", "." and "-"')
      .default(DEFAULT_WORKSPACE),
  })
  .superRefine((config, ctx) => {
    if (config.heartbeat_interval_ms >= config.session_timeout_ms) {
      ctx.addIssue({
        code: 'custom',
        path: ['heartbeat_interval_ms'],
        message: 'must be less than session_timeout_ms (a third of it is usual)',
      });
    }
    const dlq = config.dead_letter_topic;
    if (dlq !== undefined && config.topics.includes(dlq)) {
      ctx.addIssue({ code: 'custom', path: ['dead_letter_topic'], message: 'must not be one of the consumed topics' });
    }
  });

export type KafkaReceiverConfig = z.output<typeof kafkaReceiverConfigSchema>;

/** The dead-letter topic of messages read from `sourceTopic`, or undefined when they are dropped. */
export function deadLetterTopicFor(config: KafkaReceiverConfig, sourceTopic: string): string | undefined {
  if (config.dead_letter_topic === DEAD_LETTER_NONE) return undefined;
  return config.dead_letter_topic ?? `${sourceTopic}.dlq`;
}
