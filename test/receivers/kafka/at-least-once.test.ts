/**
 * At-least-once delivery: nothing is committed while the pipeline refuses retryably (and only the
 * failing partition waits), everything is delivered once it accepts again, and shutdown commits
 * exactly what was delivered so that the next member of the group resumes from there.
 */
import { registry } from '../../../components';
import { startDaemon } from '../../support/daemon';
import type { TestDaemon } from '../../support/daemon';
import { uniqueTopic } from '../../support/kafka/brokers';
import { createTestTopic } from '../../support/kafka/clients';
import { waitFor } from '../../support/wait';
import { createRecorder, recordingRegistry } from '../../support/recording-components';
import {
  capturingLogger,
  committedOffsets,
  controlledRegistry,
  controlledSink,
  deliveredIds,
  metricValue,
  produce,
  receiverPipelineYaml,
  spanIds,
  traceMessage,
  traceSpans,
  waitForCommittedToEnd,
  kafkaReceiverSuite,
} from './kafka-receiver-support';

const suite = kafkaReceiverSuite();

const retries = (daemon: TestDaemon) => metricValue(daemon, 'tracehouse_receiver_requests_total', { receiver: 'kafka', outcome: 'retry' });

test('a retryable downstream failure commits nothing; once it clears everything is delivered and committed', async () => {
  const topic = uniqueTopic('rcv-retry');
  const groupId = uniqueTopic('group');
  await createTestTopic(suite.env().brokers, topic, 1);
  const messages = [traceMessage(traceSpans(2)), traceMessage(traceSpans(1)), traceMessage(traceSpans(3))];
  await produce(suite.env().brokers, topic, messages.map((m) => ({ ...m, partition: 0 })));
  const recorder = createRecorder();
  recorder.failures.set('recording', 'retryable');

  const daemon = await startDaemon(receiverPipelineYaml({ brokers: suite.env().brokers, topics: [topic], groupId, exporter: 'recording' }), {
    registry: recordingRegistry(recorder, registry),
  });
  suite.track(daemon);

  // Several refused attempts (the same messages fetched again after each backoff) ...
  await waitFor('three retryable failures', async () => (await retries(daemon)) >= 3);
  // ... and not one offset committed for them.
  expect((await committedOffsets(suite.env().brokers, groupId, topic)).get(0)).toBe(-1n);
  expect(recorder.batches.get('recording')).toBeUndefined();

  recorder.failures.delete('recording');
  expect((await waitForCommittedToEnd(suite.env().brokers, groupId, topic)).get(0)).toBe(3n);
  expect(spanIds((recorder.batches.get('recording') ?? []).flat())).toEqual(spanIds(messages.flatMap((m) => m.spans)));
  expect(await metricValue(daemon, 'tracehouse_receiver_accepted_spans_total', { receiver: 'kafka' })).toBe(6);
});

test('while one partition waits for a failing downstream, the others are delivered and committed', async () => {
  const topic = uniqueTopic('rcv-isolate');
  const groupId = uniqueTopic('group');
  await createTestTopic(suite.env().brokers, topic, 2);
  const stuck = [traceMessage(traceSpans(1)), traceMessage(traceSpans(1))];
  const flowing = [traceMessage(traceSpans(1)), traceMessage(traceSpans(1))];
  await produce(suite.env().brokers, topic, [...stuck.map((m) => ({ ...m, partition: 0 })), ...flowing.map((m) => ({ ...m, partition: 1 }))]);
  const stuckTraces = new Set(stuck.map((m) => m.key));
  const sink = controlledSink();
  sink.fail = (spans) => (spans.some((s) => stuckTraces.has(s.traceId)) ? new Error('store for partition 0 is down') : undefined);

  const daemon = await startDaemon(receiverPipelineYaml({ brokers: suite.env().brokers, topics: [topic], groupId, exporter: 'controlled' }), {
    registry: controlledRegistry(sink),
  });
  suite.track(daemon);

  await waitFor('partition 1 committed to its end', async () => (await committedOffsets(suite.env().brokers, groupId, topic)).get(1) === 2n);
  await waitFor('partition 0 refused at least twice', async () => (await retries(daemon)) >= 2);
  expect((await committedOffsets(suite.env().brokers, groupId, topic)).get(0)).toBe(-1n);
  expect(deliveredIds(sink)).toEqual(spanIds(flowing.flatMap((m) => m.spans)));

  sink.fail = undefined;
  await waitForCommittedToEnd(suite.env().brokers, groupId, topic);
  expect(deliveredIds(sink)).toEqual(spanIds([...stuck, ...flowing].flatMap((m) => m.spans)));
});

test.each([
  ['finishes during shutdown: it is committed', 'resolve', 4n],
  ['fails during shutdown: it is not committed', 'reject', 3n],
] as const)('shutdown commits only what was delivered; a batch in flight that %s', async (_name, settle, committedAfterShutdown) => {
  const topic = uniqueTopic('rcv-shutdown');
  const groupId = uniqueTopic('group');
  await createTestTopic(suite.env().brokers, topic, 1);
  const messages = Array.from({ length: 6 }, () => traceMessage(traceSpans(2)));
  await produce(suite.env().brokers, topic, messages.map((m) => ({ ...m, partition: 0 })));
  // One pipeline call per message, and the fourth one is held until the test settles it.
  const receiver = ['max_batch_spans: 2'];
  const first = controlledSink();
  first.hold = (spans) => spans[0].traceId === messages[3].key;

  const daemon = await startDaemon(receiverPipelineYaml({ brokers: suite.env().brokers, topics: [topic], groupId, exporter: 'controlled', receiver }), {
    registry: controlledRegistry(first),
  });
  await waitFor('the fourth message in flight', () => first.held.length === 1);
  const stopped = daemon.stop();
  if (settle === 'resolve') first.held[0].resolve();
  else first.held[0].reject(new Error('store went away'));
  await stopped;

  // What was delivered is committed, and nothing after it (messages 5 and 6 were fetched too).
  expect((await committedOffsets(suite.env().brokers, groupId, topic)).get(0)).toBe(committedAfterShutdown);
  const deliveredFirst = messages.slice(0, Number(committedAfterShutdown));
  expect(deliveredIds(first)).toEqual(spanIds(deliveredFirst.flatMap((m) => m.spans)));

  // The next member of the group resumes at the commit: it gets the rest, and only the rest.
  const second = controlledSink();
  const next = await startDaemon(receiverPipelineYaml({ brokers: suite.env().brokers, topics: [topic], groupId, exporter: 'controlled', receiver }), {
    registry: controlledRegistry(second),
  });
  suite.track(next);
  expect((await waitForCommittedToEnd(suite.env().brokers, groupId, topic)).get(0)).toBe(6n);
  expect(deliveredIds(second)).toEqual(spanIds(messages.slice(Number(committedAfterShutdown)).flatMap((m) => m.spans)));
});

test('a member joining rebalances the group: the partitions are shared and nothing committed is delivered again', async () => {
  const topic = uniqueTopic('rcv-rebalance');
  const groupId = uniqueTopic('group');
  await createTestTopic(suite.env().brokers, topic, 3);
  const perPartition = (n: number) => [0, 1, 2].flatMap((partition) => Array.from({ length: n }, () => ({ ...traceMessage(traceSpans(1)), partition })));
  const firstBatch = perPartition(2);
  await produce(suite.env().brokers, topic, firstBatch);
  const a = controlledSink();
  const yaml = receiverPipelineYaml({ brokers: suite.env().brokers, topics: [topic], groupId, exporter: 'controlled' });
  const logsA = capturingLogger();
  suite.track(await startDaemon(yaml, { registry: controlledRegistry(a), logger: logsA.logger }));
  await waitForCommittedToEnd(suite.env().brokers, groupId, topic);
  expect(deliveredIds(a)).toEqual(spanIds(firstBatch.flatMap((m) => m.spans)));

  const b = controlledSink();
  const logsB = capturingLogger();
  suite.track(await startDaemon(yaml, { registry: controlledRegistry(b), logger: logsB.logger }));
  // Keep producing until the second member has been given partitions and delivers from them.
  const secondBatch: typeof firstBatch = [];
  await waitFor(
    'the second member to deliver',
    async () => {
      const more = perPartition(1);
      secondBatch.push(...more);
      await produce(suite.env().brokers, topic, more);
      return b.delivered.length > 0;
    },
    60_000,
  );
  await waitForCommittedToEnd(suite.env().brokers, groupId, topic);
  const secondIds = spanIds(secondBatch.flatMap((m) => m.spans));
  // Every message of the second batch reached one member or the other ...
  expect([...new Set([...deliveredIds(a), ...deliveredIds(b)])].sort()).toEqual(spanIds([...firstBatch, ...secondBatch].flatMap((m) => m.spans)));
  // ... and the newcomer started at the commits: none of the first batch went to it.
  expect(deliveredIds(b).every((id) => secondIds.includes(id))).toBe(true);
  // Members rejoin through a rebalance; none crashes out of the group (which would rebalance it again).
  expect([...logsA.lines, ...logsB.lines].filter((l) => l.code === 'RCV_KAFKA_CRASH')).toEqual([]);
}, 90_000);
