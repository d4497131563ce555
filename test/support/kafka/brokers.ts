/**
 * Where Kafka tests find a broker: a real cluster when KAFKA_BROKERS is set (comma-separated
 * host:port list), otherwise a fresh in-process test broker on a free port.
 */
import { randomBytes } from 'node:crypto';
import { startKafkaTestBroker, type KafkaTestBroker } from '../kafka-broker';

export interface KafkaBrokers {
  brokers: string[];
  /** The in-process broker (with its test hooks); undefined against a real cluster. */
  broker?: KafkaTestBroker;
  stop(): Promise<void>;
}

export async function kafkaBrokers(): Promise<KafkaBrokers> {
  const fromEnv = (process.env.KAFKA_BROKERS ?? '')
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b.length > 0);
  if (fromEnv.length > 0) return { brokers: fromEnv, stop: async () => undefined };
  const broker = await startKafkaTestBroker();
  return { brokers: broker.brokers, broker, stop: () => broker.stop() };
}

/** A topic name no other test (or earlier run against a real broker) uses. */
export function uniqueTopic(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}
