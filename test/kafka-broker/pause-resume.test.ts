/**
 * The test broker's pause()/resume() hooks (a broker outage): clients fail while it is down and
 * recover on their own when it returns on the same port. Needs the in-process broker.
 */
import { startKafkaTestBroker, type KafkaTestBroker } from '../support/kafka-broker';
import { createTestTopic, testKafka } from '../support/kafka/clients';
import { waitFor } from '../support/wait';

const testBrokerOnly = process.env.KAFKA_BROKERS ? test.skip : test;
let broker: KafkaTestBroker;

beforeEach(async () => {
  broker = await startKafkaTestBroker();
});

afterEach(async () => {
  await broker.stop();
});

testBrokerOnly('a send fails while the broker is paused and succeeds after resume, on the same producer', async () => {
  await createTestTopic(broker.brokers, 'outage', 1);
  const producer = testKafka(broker.brokers, { retry: { retries: 1, initialRetryTime: 100 }, connectionTimeout: 500 }).producer();
  await producer.connect();
  try {
    await producer.send({ topic: 'outage', messages: [{ value: 'before' }] });
    await broker.pause();
    await expect(producer.send({ topic: 'outage', messages: [{ value: 'during' }] })).rejects.toThrow();
    await broker.resume();
    expect(broker.brokers).toHaveLength(1);
    await producer.send({ topic: 'outage', messages: [{ value: 'after' }] });
  } finally {
    await producer.disconnect();
  }
  expect((await broker.topicMessages('outage')).map((m) => [m.offset, m.value?.toString()])).toEqual([
    ['0', 'before'],
    ['1', 'after'],
  ]);
});

testBrokerOnly('a group consumer keeps its offsets across an outage and reads what is produced after it', async () => {
  await createTestTopic(broker.brokers, 'outage-consume', 2);
  const kafka = testKafka(broker.brokers);
  const producer = kafka.producer();
  const consumer = kafka.consumer({ groupId: 'outage-group', heartbeatInterval: 500, maxWaitTimeInMs: 500 });
  const received: string[] = [];
  await producer.connect();
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: 'outage-consume', fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void received.push(message.value?.toString() ?? '') });
    await producer.send({ topic: 'outage-consume', messages: [{ key: 'a', value: 'one' }, { key: 'b', value: 'two' }] });
    await waitFor('the first messages', () => received.length >= 2);
    const committed = (): bigint => [0, 1].reduce((sum, p) => sum + (broker.committedOffset('outage-group', 'outage-consume', p) ?? 0n), 0n);
    await waitFor('their commit', () => committed() === 2n);

    await broker.pause();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await broker.resume();
    await producer.send({ topic: 'outage-consume', messages: [{ key: 'a', value: 'three' }] });
    await waitFor('the message produced after the outage', () => received.includes('three'), 60_000);
    // Committed offsets were kept, so nothing before the outage is read twice.
    expect(received.filter((v) => v === 'one')).toHaveLength(1);
    expect(received.filter((v) => v === 'two')).toHaveLength(1);
  } finally {
    await consumer.disconnect();
    await producer.disconnect();
  }
}, 90_000);
