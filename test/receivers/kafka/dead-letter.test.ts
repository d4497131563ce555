/**
 * Messages that can never be delivered: undecodable values and messages the pipeline refuses as
 * bad data go to the dead-letter topic with the error in their headers, are committed, and
 * consumption goes on; with `dead_letter_topic: none` they are dropped and counted.
 */
import { createRecorder, recordingRegistry } from '../../support/recording-components';
import { startDaemon, uniqueDatabase } from '../../support/daemon';
import { registry } from '../../../components';
import { uniqueTopic } from '../../support/kafka/brokers';
import { createTestTopic } from '../../support/kafka/clients';
import { waitFor } from '../../support/wait';
import {
  endOffsets,
  metricValue,
  poisonValue,
  produce,
  readTopic,
  receiverPipelineYaml,
  spanIds,
  traceMessage,
  traceSpans,
  waitForCommittedToEnd,
  kafkaReceiverSuite,
  storedSpanIds,
} from './kafka-receiver-support';

const suite = kafkaReceiverSuite();

test('a poison message between good ones lands in the dead-letter topic with the error headers; the rest is stored', async () => {
  const topic = uniqueTopic('rcv-poison');
  const groupId = uniqueTopic('group');
  const database = uniqueDatabase('kafka_dlq');
  await createTestTopic(suite.env().brokers, topic, 1);
  const before = traceMessage(traceSpans(2));
  const poison = poisonValue();
  const after = traceMessage(traceSpans(2));
  await produce(suite.env().brokers, topic, [
    { ...before, partition: 0 },
    { key: 'poison-key', value: poison, partition: 0, headers: { 'x-origin': 'test' } },
    { ...after, partition: 0 },
  ]);

  const daemon = await startDaemon(receiverPipelineYaml({ brokers: suite.env().brokers, topics: [topic], groupId, database }));
  suite.track(daemon);

  const [dead] = await readTopic(suite.env().brokers, `${topic}.dlq`, 1);
  expect(dead.key?.toString()).toBe('poison-key');
  expect(dead.value?.equals(poison)).toBe(true);
  expect(dead.headers).toEqual({
    'x-origin': 'test',
    'tracehouse-error': expect.stringMatching(/^invalid protobuf: /),
    'tracehouse-error-code': 'RCV_DECODE',
    'tracehouse-source-topic': topic,
    'tracehouse-source-partition': '0',
    'tracehouse-source-offset': '1',
  });
  expect((await waitForCommittedToEnd(suite.env().brokers, groupId, topic)).get(0)).toBe(3n);
  expect(await storedSpanIds(daemon, database)).toEqual(spanIds([...before.spans, ...after.spans]));

  // Consumption goes on past it.
  const later = traceMessage(traceSpans(1));
  await produce(suite.env().brokers, topic, [{ ...later, partition: 0 }]);
  await waitFor('the later message stored', async () => (await storedSpanIds(daemon, database)).length === 5);
  expect((await waitForCommittedToEnd(suite.env().brokers, groupId, topic)).get(0)).toBe(4n);
  expect(await metricValue(daemon, 'tracehouse_receiver_refused_spans_total', { receiver: 'kafka', reason: 'dead_letter' })).toBe(1);
  // Exactly one message was dead-lettered.
  expect([...(await endOffsets(suite.env().brokers, `${topic}.dlq`)).values()].reduce((a, b) => a + b, 0n)).toBe(1n);
});

test('messages the pipeline refuses as bad data are dead-lettered with the downstream error code, then committed', async () => {
  const topic = uniqueTopic('rcv-refused');
  const groupId = uniqueTopic('group');
  const deadLetterTopic = uniqueTopic('refused-dlq');
  await createTestTopic(suite.env().brokers, topic, 1);
  const messages = [traceMessage(traceSpans(1)), traceMessage(traceSpans(2))];
  await produce(suite.env().brokers, topic, messages.map((m) => ({ ...m, partition: 0 })));
  const recorder = createRecorder();
  recorder.failures.set('recording', 'permanent');

  const daemon = await startDaemon(
    receiverPipelineYaml({ brokers: suite.env().brokers, topics: [topic], groupId, exporter: 'recording', receiver: [`dead_letter_topic: ${deadLetterTopic}`] }),
    { registry: recordingRegistry(recorder, registry) },
  );
  suite.track(daemon);

  const dead = await readTopic(suite.env().brokers, deadLetterTopic, 2);
  // Refused together, then one by one: each message is dead-lettered on its own, unchanged.
  expect(dead.map((m) => m.headers['tracehouse-source-offset']).sort()).toEqual(['0', '1']);
  for (const m of dead) {
    const source = messages[Number(m.headers['tracehouse-source-offset'])];
    expect(m.key?.toString()).toBe(source.key);
    expect(m.value?.equals(source.value)).toBe(true);
    expect(m.headers).toMatchObject({ 'tracehouse-error-code': 'EXP_TEST', 'tracehouse-error': 'recording refuses', 'tracehouse-source-topic': topic });
  }
  expect((await waitForCommittedToEnd(suite.env().brokers, groupId, topic)).get(0)).toBe(2n);
  expect(await metricValue(daemon, 'tracehouse_receiver_refused_spans_total', { receiver: 'kafka', reason: 'dead_letter' })).toBe(3);
});

test('with dead_letter_topic none an undecodable message is dropped and counted, and consumption goes on', async () => {
  const topic = uniqueTopic('rcv-drop');
  const groupId = uniqueTopic('group');
  await createTestTopic(suite.env().brokers, topic, 1);
  const good = traceMessage(traceSpans(2));
  await produce(suite.env().brokers, topic, [
    { key: null, value: poisonValue(), partition: 0 },
    { ...good, partition: 0 },
  ]);
  const recorder = createRecorder();

  const daemon = await startDaemon(
    receiverPipelineYaml({ brokers: suite.env().brokers, topics: [topic], groupId, exporter: 'recording', receiver: ['dead_letter_topic: none'] }),
    { registry: recordingRegistry(recorder, registry) },
  );
  suite.track(daemon);

  expect((await waitForCommittedToEnd(suite.env().brokers, groupId, topic)).get(0)).toBe(2n);
  expect(spanIds((recorder.batches.get('recording') ?? []).flat())).toEqual(spanIds(good.spans));
  expect(await metricValue(daemon, 'tracehouse_receiver_refused_spans_total', { receiver: 'kafka', reason: 'dropped' })).toBe(1);
  expect(await metricValue(daemon, 'tracehouse_receiver_refused_spans_total', { receiver: 'kafka', reason: 'dead_letter' })).toBe(0);
});
