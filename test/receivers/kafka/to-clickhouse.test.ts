/**
 * The kafka receiver's main path against the Kafka test broker (or KAFKA_BROKERS): OTLP messages
 * produced with a plain kafkajs producer flow through a daemon (kafka receiver -> embedded
 * ClickHouse) and the group commits every partition to its end.
 */
import { queryRows, startDaemon, uniqueDatabase } from '../../support/daemon';
import type { TestDaemon } from '../../support/daemon';
import { uniqueTopic } from '../../support/kafka/brokers';
import { createTestTopic } from '../../support/kafka/clients';
import { waitFor } from '../../support/wait';
import {
  capturingLogger,
  committedOffsets,
  metricValue,
  produce,
  receiverPipelineYaml,
  traceMessage,
  traceSpans,
  waitForCommittedToEnd,
  kafkaReceiverSuite,
  storedSpanIds,
} from './kafka-receiver-support';

const suite = kafkaReceiverSuite();

async function daemonFor(topic: string, groupId: string, database: string, receiver: string[] = []): Promise<TestDaemon> {
  const daemon = await startDaemon(receiverPipelineYaml({ brokers: suite.env().brokers, topics: [topic], groupId, database, receiver }));
  suite.track(daemon);
  return daemon;
}

test('every span of every partition is stored, and the group commits each partition to its end', async () => {
  const topic = uniqueTopic('rcv-e2e');
  const groupId = uniqueTopic('group');
  const database = uniqueDatabase('kafka_rcv');
  await createTestTopic(suite.env().brokers, topic, 3);
  // Keyed by trace id, but put on the partitions in turn: by the key's hash a partition could stay
  // empty, and a group commits nothing for a partition it has read nothing from.
  const messages = Array.from({ length: 24 }, (_, i) => ({ ...traceMessage(traceSpans(1 + (i % 3))), partition: i % 3 }));
  await produce(suite.env().brokers, topic, messages);
  const expected = messages.flatMap((m) => m.spans.map((s) => s.spanId)).sort();

  const daemon = await daemonFor(topic, groupId, database);

  await waitFor('all spans in ClickHouse', async () => (await storedSpanIds(daemon, database)).length === expected.length);
  expect(await storedSpanIds(daemon, database)).toEqual(expected);
  expect(await waitForCommittedToEnd(suite.env().brokers, groupId, topic)).toEqual(new Map([[0, 8n], [1, 8n], [2, 8n]]));
  expect(await metricValue(daemon, 'tracehouse_receiver_accepted_spans_total', { receiver: 'kafka' })).toBe(expected.length);
});

test('a message with invalid spans delivers the valid ones and counts the rest', async () => {
  const topic = uniqueTopic('rcv-partial');
  const groupId = uniqueTopic('group');
  const database = uniqueDatabase('kafka_rcv');
  await createTestTopic(suite.env().brokers, topic, 1);
  const spans = traceSpans(3);
  // An all-zero span id is invalid in OTLP: the decoder rejects that span only.
  const bad = { ...spans[2], spanId: '0000000000000000' };
  await produce(suite.env().brokers, topic, [traceMessage([spans[0], spans[1], bad])]);

  const daemon = await daemonFor(topic, groupId, database);

  await waitForCommittedToEnd(suite.env().brokers, groupId, topic);
  expect(await storedSpanIds(daemon, database)).toEqual([spans[0].spanId, spans[1].spanId].sort());
  expect(await metricValue(daemon, 'tracehouse_receiver_refused_spans_total', { receiver: 'kafka', reason: 'invalid_span' })).toBe(1);
});

test('otlp_json messages are read with encoding otlp_json', async () => {
  const topic = uniqueTopic('rcv-json');
  const groupId = uniqueTopic('group');
  const database = uniqueDatabase('kafka_rcv');
  await createTestTopic(suite.env().brokers, topic, 2);
  const messages = Array.from({ length: 6 }, (_, i) => ({ ...traceMessage(traceSpans(2), 'otlp_json'), partition: i % 2 }));
  await produce(suite.env().brokers, topic, messages);
  const expected = messages.flatMap((m) => m.spans.map((s) => s.spanId)).sort();

  const daemon = await daemonFor(topic, groupId, database, ['encoding: otlp_json']);

  await waitFor('all spans in ClickHouse', async () => (await storedSpanIds(daemon, database)).length === expected.length);
  expect(await storedSpanIds(daemon, database)).toEqual(expected);
  await waitForCommittedToEnd(suite.env().brokers, groupId, topic);
  const [row] = await queryRows<{ SpanName: string; ServiceName: string }>(
    daemon,
    `SELECT SpanName, ServiceName FROM otel_traces WHERE SpanId = '${messages[0].spans[0].spanId}'`,
    database,
  );
  expect(row).toEqual({ SpanName: 'agent run', ServiceName: 'kafka-receiver-test' });
});

test('consumption starts at the latest offset with initial_offset latest', async () => {
  const topic = uniqueTopic('rcv-latest');
  const groupId = uniqueTopic('group');
  const database = uniqueDatabase('kafka_rcv');
  await createTestTopic(suite.env().brokers, topic, 1);
  const before = traceMessage(traceSpans(1));
  await produce(suite.env().brokers, topic, [before]);

  const daemon = await daemonFor(topic, groupId, database, ['initial_offset: latest']);
  // The group has joined once it has a position: kafkajs commits nothing by itself (autoCommit is
  // off), so wait for the first delivery of a message produced after the join instead.
  const after = traceMessage(traceSpans(1));
  await waitFor('the receiver to deliver a message produced after it joined', async () => {
    await produce(suite.env().brokers, topic, [traceMessage(traceSpans(1))]);
    return (await storedSpanIds(daemon, database)).length > 0;
  });
  await produce(suite.env().brokers, topic, [after]);
  await waitFor('the last message stored', async () => (await storedSpanIds(daemon, database)).includes(after.spans[0].spanId));
  expect(await storedSpanIds(daemon, database)).not.toContain(before.spans[0].spanId);
});

test('start returns while the broker is down; the receiver joins when it is back and consumes without a restart', async () => {
  const broker = suite.env().broker;
  if (!broker) return; // needs the test broker's pause/resume
  const topic = uniqueTopic('rcv-down');
  const groupId = uniqueTopic('group');
  const database = uniqueDatabase('kafka_rcv');
  await createTestTopic(suite.env().brokers, topic, 1);
  const first = traceMessage(traceSpans(2));
  await produce(suite.env().brokers, topic, [first]);

  await broker.pause();
  // If start waited for the broker it would fail (or never return) here.
  const { logger, lines } = capturingLogger();
  const daemon = await startDaemon(receiverPipelineYaml({ brokers: suite.env().brokers, topics: [topic], groupId, database }), { logger });
  suite.track(daemon);
  await waitFor('the receiver to report the broker unreachable', () => lines.some((l) => l.code === 'RCV_KAFKA_CONNECT'));
  await broker.resume();

  await waitFor('the first message stored', async () => (await storedSpanIds(daemon, database)).length === 2, 60_000);
  await waitForCommittedToEnd(suite.env().brokers, groupId, topic);

  // The broker goes away once more while the receiver is running, and comes back.
  const seen = lines.length;
  await broker.pause();
  await waitFor('the consumer to notice the broker is gone', () => lines.slice(seen).some((l) => l.level === 40));
  await broker.resume();
  const second = traceMessage(traceSpans(2));
  await produce(suite.env().brokers, topic, [second]);
  await waitFor('the second message stored', async () => (await storedSpanIds(daemon, database)).length === 4, 60_000);
  expect(await storedSpanIds(daemon, database)).toEqual([...first.spans, ...second.spans].map((s) => s.spanId).sort());
  expect((await committedOffsets(suite.env().brokers, groupId, topic)).get(0)).toBe(2n);
}, 120_000);
