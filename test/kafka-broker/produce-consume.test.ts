/**
 * Produce and consume through the Kafka test broker with real kafkajs clients (or a real broker
 * when KAFKA_BROKERS is set): gzip batches, acks modes, partitioning by key, long polls, limits.
 */
import { CompressionTypes, type Consumer, type Producer } from 'kafkajs';
import { kafkaBrokers, uniqueTopic, type KafkaBrokers } from '../support/kafka/brokers';
import { createTestTopic, testKafka } from '../support/kafka/clients';
import { waitFor } from '../support/wait';

interface Received {
  partition: number;
  offset: string;
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
}

let env: KafkaBrokers;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  env = await kafkaBrokers();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

afterAll(async () => {
  await env.stop();
});

async function producer(): Promise<Producer> {
  const p = testKafka(env.brokers).producer();
  await p.connect();
  cleanups.push(() => p.disconnect());
  return p;
}

/** A group consumer reading `topic` from the beginning, collecting every message. */
async function collect(topic: string, options: { maxWaitTimeInMs?: number; maxBytesPerPartition?: number; beforeRun?: (consumer: Consumer) => void } = {}): Promise<{ consumer: Consumer; received: Received[] }> {
  const consumer = testKafka(env.brokers).consumer({
    groupId: uniqueTopic('group'),
    maxWaitTimeInMs: options.maxWaitTimeInMs ?? 500,
    ...(options.maxBytesPerPartition ? { maxBytesPerPartition: options.maxBytesPerPartition } : {}),
  });
  const received: Received[] = [];
  await consumer.connect();
  cleanups.push(() => consumer.disconnect());
  await consumer.subscribe({ topic, fromBeginning: true });
  options.beforeRun?.(consumer);
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = String(value);
      received.push({ partition, offset: message.offset, key: message.key?.toString() ?? null, value: message.value?.toString() ?? null, headers });
    },
  });
  return { consumer, received };
}

test('gzip batches produced with acks=-1 are partitioned by key and consumed back intact', async () => {
  const topic = uniqueTopic('pc-gzip');
  await createTestTopic(env.brokers, topic, 3);
  const p = await producer();
  const sent = Array.from({ length: 60 }, (_, i) => ({
    key: `trace-${i % 12}`,
    value: `span-${i}-${'x'.repeat(i * 7)}`,
    headers: { 'content-type': 'application/x-protobuf', seq: String(i) },
  }));
  const results = await p.send({ topic, acks: -1, compression: CompressionTypes.GZIP, messages: sent });
  expect(results.every((r) => r.errorCode === 0)).toBe(true);

  const { received } = await collect(topic);
  await waitFor('all messages consumed', () => received.length >= sent.length);

  const bySeq = new Map(received.map((r) => [r.headers.seq, r]));
  expect(received).toHaveLength(sent.length);
  for (const [i, m] of sent.entries()) {
    const got = bySeq.get(String(i));
    expect(got).toMatchObject({ key: m.key, value: m.value, headers: m.headers });
  }
  // Same key, same partition; and 12 keys over 3 partitions use more than one of them.
  const partitionOfKey = new Map<string, Set<number>>();
  for (const r of received) partitionOfKey.set(r.key as string, (partitionOfKey.get(r.key as string) ?? new Set()).add(r.partition));
  expect([...partitionOfKey.values()].every((s) => s.size === 1)).toBe(true);
  expect(new Set(received.map((r) => r.partition)).size).toBeGreaterThan(1);
  // Offsets within a partition are contiguous from 0.
  for (const partition of new Set(received.map((r) => r.partition))) {
    const offsets = received.filter((r) => r.partition === partition).map((r) => Number(r.offset)).sort((a, b) => a - b);
    expect(offsets).toEqual(offsets.map((_, i) => i));
  }

  if (env.broker) {
    // What the broker stored decodes to the same records (batches are kept as sent, compressed).
    const stored = await env.broker.topicMessages(topic);
    expect(stored).toHaveLength(sent.length);
    expect(new Set(stored.map((s) => s.headers.seq.toString()))).toEqual(new Set(sent.map((_, i) => String(i))));
  }
});

test('acks=1 and acks=0 sends are stored, null keys and values survive, several sends append in order', async () => {
  const topic = uniqueTopic('pc-acks');
  await createTestTopic(env.brokers, topic, 1);
  const p = await producer();
  const [first] = await p.send({ topic, acks: 1, messages: [{ key: null, value: 'a' }, { key: 'k', value: null }] });
  expect(first).toMatchObject({ errorCode: 0, baseOffset: '0' });
  const [second] = await p.send({ topic, acks: 1, messages: [{ value: 'b' }] });
  expect(second).toMatchObject({ errorCode: 0, baseOffset: '2' });
  await p.send({ topic, acks: 0, messages: [{ value: 'c' }] });

  const { received } = await collect(topic);
  await waitFor('the acks=0 message too', () => received.length >= 4);
  expect(received.map((r) => [r.offset, r.key, r.value])).toEqual([
    ['0', null, 'a'],
    ['1', 'k', null],
    ['2', null, 'b'],
    ['3', null, 'c'],
  ]);
});

test('an idle fetch long-polls and answers as soon as data arrives', async () => {
  const topic = uniqueTopic('pc-longpoll');
  await createTestTopic(env.brokers, topic, 1);
  let fetches = 0;
  // maxWait beyond the wait deadline below: only an early answer delivers the message in time.
  // (Disconnecting waits for the next poll to end, so this test takes about maxWait.)
  const { received } = await collect(topic, {
    maxWaitTimeInMs: 25_000,
    beforeRun: (c) => c.on(c.events.FETCH_START, () => fetches++),
  });
  const p = await producer();
  await waitFor('the consumer to be polling', () => fetches > 0);
  // An idle partition is held, not answered empty in a loop (a slow machine only makes this smaller).
  await new Promise((resolve) => setTimeout(resolve, 1500));
  expect(fetches).toBeLessThanOrEqual(2);
  await p.send({ topic, messages: [{ value: 'wake up' }] });
  await waitFor('the message', () => received.length === 1, 15_000);
  expect(received[0].value).toBe('wake up');
}, 90_000);

test('a batch larger than the fetch byte limits is still delivered', async () => {
  const topic = uniqueTopic('pc-big');
  await createTestTopic(env.brokers, topic, 1);
  const p = await producer();
  const big = 'y'.repeat(64 * 1024);
  await p.send({ topic, messages: [{ value: big }, { value: 'after' }] });
  await p.send({ topic, messages: [{ value: big + big }] });
  const { received } = await collect(topic, { maxBytesPerPartition: 1024 });
  await waitFor('all three messages', () => received.length >= 3);
  expect(received.map((r) => r.value?.length)).toEqual([big.length, 5, 2 * big.length]);
});

test('an idempotent producer gets a producer id and its batches are stored', async () => {
  const topic = uniqueTopic('pc-idempotent');
  await createTestTopic(env.brokers, topic, 1);
  const p = testKafka(env.brokers).producer({ idempotent: true, maxInFlightRequests: 1 });
  await p.connect();
  cleanups.push(() => p.disconnect());
  await p.send({ topic, acks: -1, messages: [{ value: 'one' }, { value: 'two' }] });
  await p.send({ topic, acks: -1, messages: [{ value: 'three' }] });
  const { received } = await collect(topic);
  await waitFor('all three', () => received.length >= 3);
  expect(received.map((r) => r.value)).toEqual(['one', 'two', 'three']);
});
