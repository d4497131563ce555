/**
 * The kafka receiver keeps the tracehouse.* attributes only of messages a Tracehouse kafka exporter
 * wrote (marked, or signed when a signing key is shared); spans of anything else on the topic (an
 * OpenTelemetry Collector forwarding applications' spans, any producer) are stamped as client
 * spans: their tracehouse.* moved to client.tracehouse.*, the workspace set to default_workspace.
 */
import { registry } from '../../../components';
import { originHeaders } from '../../../core/kafka/message-origin';
import type { Span } from '../../../core/span';
import { startDaemon } from '../../support/daemon';
import { uniqueTopic } from '../../support/kafka/brokers';
import { createTestTopic } from '../../support/kafka/clients';
import { createRecorder, recordingRegistry } from '../../support/recording-components';
import { waitFor } from '../../support/wait';
import { kafkaReceiverSuite, produce, receiverPipelineYaml, traceMessage, traceSpans } from './kafka-receiver-support';

const suite = kafkaReceiverSuite();
const KEY = 'a-shared-signing-key-of-the-tiers';

function spoofed(): Span[] {
  return traceSpans(1).map((span) => ({
    ...span,
    attributes: { ...span.attributes, 'tracehouse.workspace': 'victim', 'tracehouse.verdict': 'pass', 'tracehouse.source': 'forged' },
  }));
}

async function receive(receiverLines: string[], messages: { spans: Span[]; headers?: Record<string, string> }[]): Promise<Map<string, Span>> {
  const topic = uniqueTopic('rcv-reserved');
  await createTestTopic(suite.env().brokers, topic, 1);
  await produce(
    suite.env().brokers,
    topic,
    messages.map((m) => {
      const message = traceMessage(m.spans);
      return { key: message.key, value: message.value, partition: 0, headers: m.headers?.signFor ? originHeaders(message.value, m.headers.signFor) : m.headers };
    }),
  );
  const recorder = createRecorder();
  const yaml = receiverPipelineYaml({ brokers: suite.env().brokers, topics: [topic], groupId: uniqueTopic('group'), exporter: 'recording', receiver: receiverLines });
  suite.track(await startDaemon(yaml, { registry: recordingRegistry(recorder, registry) }));
  const expected = messages.reduce((n, m) => n + m.spans.length, 0);
  const spans = await waitFor('every span delivered', () => {
    const all = (recorder.batches.get('recording') ?? []).flat();
    return all.length >= expected && all;
  });
  return new Map(spans.map((s) => [s.spanId, s]));
}

test('a message without the exporter mark is a client message: its tracehouse.* are moved aside, the default workspace is set', async () => {
  const plain = spoofed();
  const marked = spoofed();
  const got = await receive(['default_workspace: shared-topic'], [{ spans: plain }, { spans: marked, headers: originHeaders(Buffer.alloc(0), undefined) }]);
  const scrubbed = got.get(plain[0].spanId)!.attributes;
  expect(scrubbed['tracehouse.workspace']).toBe('shared-topic');
  expect(scrubbed['tracehouse.source']).toBe('kafka');
  expect(scrubbed['tracehouse.verdict']).toBeUndefined();
  expect(scrubbed['client.tracehouse.workspace']).toBe('victim');
  expect(scrubbed['client.tracehouse.verdict']).toBe('pass');
  // Marked by a Tracehouse kafka exporter (no signing key shared): kept as the ingest tier stamped it.
  const kept = got.get(marked[0].spanId)!.attributes;
  expect(kept['tracehouse.workspace']).toBe('victim');
  expect(kept['tracehouse.verdict']).toBe('pass');
});

test('with a signing key, only messages signed with it keep their tracehouse.* attributes', async () => {
  const signed = spoofed();
  const markedOnly = spoofed();
  const wrongKey = spoofed();
  const got = await receive(
    [`signing_key: ${KEY}`],
    [
      { spans: signed, headers: { signFor: KEY } },
      { spans: markedOnly, headers: originHeaders(Buffer.alloc(0), undefined) },
      { spans: wrongKey, headers: { signFor: 'another-key-of-sixteen-chars' } },
    ],
  );
  expect(got.get(signed[0].spanId)!.attributes['tracehouse.workspace']).toBe('victim');
  for (const span of [markedOnly[0], wrongKey[0]]) {
    const attributes = got.get(span.spanId)!.attributes;
    expect(attributes['tracehouse.workspace']).toBe('default');
    expect(attributes['tracehouse.verdict']).toBeUndefined();
    expect(attributes['client.tracehouse.workspace']).toBe('victim');
  }
});

test('reserved_attributes: scrub trusts no message, trust trusts every one', async () => {
  const marked = spoofed();
  const scrubbed = await receive(['reserved_attributes: scrub'], [{ spans: marked, headers: originHeaders(Buffer.alloc(0), undefined) }]);
  expect(scrubbed.get(marked[0].spanId)!.attributes['tracehouse.workspace']).toBe('default');
  const plain = spoofed();
  const trusted = await receive(['reserved_attributes: trust'], [{ spans: plain }]);
  expect(trusted.get(plain[0].spanId)!.attributes['tracehouse.workspace']).toBe('victim');
});
