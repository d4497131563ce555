import { Kafka, logLevel } from 'kafkajs';
import { kafkaBrokers, uniqueTopic } from '../support/kafka/brokers';

describe('kafka test broker: a consumer subscribed before anything was produced', () => {
  it('receives messages produced after it joined', async () => {
    const kafka = await kafkaBrokers();
    const client = new Kafka({ brokers: kafka.brokers, logLevel: logLevel.NOTHING });
    const topic = uniqueTopic('late');
    const consumer = client.consumer({ groupId: `${topic}-g`, maxWaitTimeInMs: 250, maxBytesPerPartition: 1_048_576, sessionTimeout: 30_000, heartbeatInterval: 3_000 });
    const producer = client.producer();
    const got: string[] = [];
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 4,
        eachBatch: async ({ batch, resolveOffset }) => {
          for (const message of batch.messages) {
            got.push(String(message.value));
            resolveOffset(message.offset);
          }
        },
      });
      await new Promise((r) => setTimeout(r, 1500));
      await producer.connect();
      await producer.send({ topic, acks: -1, messages: [{ key: 'a', value: 'one' }, { key: 'b', value: 'two' }, { key: 'c', value: 'three' }] });
      const end = Date.now() + 30_000;
      while (got.length < 3 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      expect(got.sort()).toEqual(['one', 'three', 'two']);
    } finally {
      await producer.disconnect();
      await consumer.disconnect();
      await kafka.stop();
    }
  }, 60_000);
});
