import type { ReceiverFactory } from '../../core/component';
import { kafkaReceiverConfigSchema } from './config';
import { KafkaReceiver } from './kafka-receiver';

export const kafkaReceiverFactory: ReceiverFactory<typeof kafkaReceiverConfigSchema> = {
  type: 'kafka',
  kind: 'receiver',
  stability: 'beta',
  summary: 'OTLP trace requests from Kafka topics as a consumer group, committing offsets only after the pipeline stored them (at-least-once).',
  configSchema: kafkaReceiverConfigSchema,
  createReceiver: (config, settings, next) => new KafkaReceiver(config, settings, next),
  // A consumer listens on no address.
  claimedRoutes: () => [],
};
