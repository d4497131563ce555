/** kafkajs clients for tests: quiet by default (KAFKAJS_LOG=debug|info to see them), fast retries. */
import { Kafka, logLevel, type Admin, type KafkaConfig } from 'kafkajs';

function testLogLevel(): logLevel {
  switch (process.env.KAFKAJS_LOG) {
    case 'debug':
      return logLevel.DEBUG;
    case 'info':
      return logLevel.INFO;
    default:
      return logLevel.NOTHING;
  }
}

export function testKafka(brokers: string[], overrides: Partial<KafkaConfig> = {}): Kafka {
  return new Kafka({
    clientId: 'tracehouse-test',
    brokers,
    logLevel: testLogLevel(),
    retry: { initialRetryTime: 100, retries: 8 },
    ...overrides,
  });
}

/** Creates a topic with an exact partition count (a real broker's default may be 1). */
export async function createTestTopic(brokers: string[], topic: string, numPartitions: number): Promise<void> {
  const admin: Admin = testKafka(brokers).admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions, replicationFactor: 1 }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}
