/**
 * The admin client against the Kafka test broker (or KAFKA_BROKERS): topic creation, metadata,
 * offsets; and, on the test broker only, its configuration (auto-creation off).
 */
import type { Admin } from 'kafkajs';
import { startKafkaTestBroker } from '../support/kafka-broker';
import { kafkaBrokers, uniqueTopic, type KafkaBrokers } from '../support/kafka/brokers';
import { testKafka } from '../support/kafka/clients';

let env: KafkaBrokers;
let admin: Admin;

beforeAll(async () => {
  env = await kafkaBrokers();
  admin = testKafka(env.brokers).admin();
  await admin.connect();
});

afterAll(async () => {
  await admin.disconnect();
  await env.stop();
});

test('createTopics creates a topic with the requested partitions, and reports an existing one', async () => {
  const topic = uniqueTopic('admin-create');
  expect(await admin.createTopics({ topics: [{ topic, numPartitions: 4, replicationFactor: 1 }], waitForLeaders: true })).toBe(true);
  expect(await admin.listTopics()).toContain(topic);
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
  expect(topics).toHaveLength(1);
  expect(topics[0].partitions.map((p) => p.partitionId).sort()).toEqual([0, 1, 2, 3]);
  expect(topics[0].partitions.every((p) => p.leader >= 0)).toBe(true);
  // kafkajs resolves false (not an error) when every topic already exists.
  expect(await admin.createTopics({ topics: [{ topic, numPartitions: 4 }] })).toBe(false);
});

test('fetchTopicOffsets reports low and high watermarks per partition', async () => {
  const topic = uniqueTopic('admin-offsets');
  await admin.createTopics({ topics: [{ topic, numPartitions: 2, replicationFactor: 1 }], waitForLeaders: true });
  const empty = await admin.fetchTopicOffsets(topic);
  expect(empty.map((p) => [p.partition, p.low, p.high]).sort()).toEqual([
    [0, '0', '0'],
    [1, '0', '0'],
  ]);

  const producer = testKafka(env.brokers).producer();
  await producer.connect();
  try {
    await producer.send({ topic, messages: [0, 1, 2].map((i) => ({ value: `p0-${i}`, partition: 0 })) });
    await producer.send({ topic, messages: [{ value: 'p1-0', partition: 1 }] });
    await producer.send({ topic, messages: [{ value: 'p0-3', partition: 0 }] });
  } finally {
    await producer.disconnect();
  }
  const offsets = await admin.fetchTopicOffsets(topic);
  expect(offsets.map((p) => [p.partition, p.low, p.high]).sort()).toEqual([
    [0, '0', '4'],
    [1, '0', '1'],
  ]);
});

test('createTopics rejects an illegal topic name', async () => {
  await expect(admin.createTopics({ topics: [{ topic: 'not/legal', numPartitions: 1 }] })).rejects.toThrow();
});

const testBrokerOnly = process.env.KAFKA_BROKERS ? test.skip : test;

testBrokerOnly('with auto-creation off, unknown topics are UNKNOWN_TOPIC_OR_PARTITION and createTopics defaults the partitions', async () => {
  const broker = await startKafkaTestBroker({ autoCreateTopics: false, defaultPartitions: 2 });
  const kafka = testKafka(broker.brokers, { retry: { retries: 1, initialRetryTime: 50 } });
  const localAdmin = kafka.admin();
  const producer = kafka.producer();
  try {
    await localAdmin.connect();
    await producer.connect();
    await expect(localAdmin.fetchTopicMetadata({ topics: ['missing'] })).rejects.toMatchObject({ type: 'UNKNOWN_TOPIC_OR_PARTITION' });
    await expect(producer.send({ topic: 'missing', messages: [{ value: 'x' }] })).rejects.toThrow();
    expect(await localAdmin.listTopics()).not.toContain('missing');

    expect(await localAdmin.createTopics({ topics: [{ topic: 'made' }] })).toBe(true);
    const { topics } = await localAdmin.fetchTopicMetadata({ topics: ['made'] });
    expect(topics[0].partitions).toHaveLength(2);
    await producer.send({ topic: 'made', messages: [{ value: 'x', partition: 1 }] });
    expect((await broker.topicMessages('made')).map((m) => [m.partition, m.value?.toString()])).toEqual([[1, 'x']]);
  } finally {
    await producer.disconnect();
    await localAdmin.disconnect();
    await broker.stop();
  }
});

testBrokerOnly('a one-broker cluster refuses a replication factor above 1', async () => {
  await expect(
    admin.createTopics({ topics: [{ topic: uniqueTopic('admin-rf'), numPartitions: 1, replicationFactor: 3 }] }),
  ).rejects.toMatchObject({ errors: [expect.objectContaining({ type: 'INVALID_REPLICATION_FACTOR' })] });
});
