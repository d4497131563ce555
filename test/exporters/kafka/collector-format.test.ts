/**
 * The topic format a Collector's kafka receiver expects: OTLP in through a daemon, read back with a
 * plain kafkajs consumer. Runs against the Kafka test broker, or a real one with KAFKA_BROKERS.
 */
import { decodeTraceRequestJson, decodeTraceRequestProto } from '../../../core/otlp/decode';
import { startDaemon } from '../../support/daemon';
import { kafkaBrokers, uniqueTopic, type KafkaBrokers } from '../../support/kafka/brokers';
import { spanKeys, traceSpans } from './spans';
import { capturingLogger, kafkaPipelineYaml, postSpans } from './support';
import { batchCompressions, readTopic } from './topic-reader';

const GZIP = 1;
const NONE = 0;

let kafka: KafkaBrokers;
beforeAll(async () => {
  kafka = await kafkaBrokers();
});
afterAll(async () => {
  await kafka.stop();
});

test('otlp_proto (default): one gzip-compressed message per trace, keyed by trace id, decoding as ExportTraceServiceRequest', async () => {
  const topic = uniqueTopic('otlp-proto');
  const logs = capturingLogger();
  const daemon = await startDaemon(kafkaPipelineYaml(kafka.brokers, topic), { logger: logs.logger });
  const spans = traceSpans(3, 4, 60);
  try {
    const res = await postSpans(daemon, spans);
    expect(res.status).toBe(200);
  } finally {
    await daemon.stop();
  }

  const messages = await readTopic(kafka.brokers, topic);
  expect(messages).toHaveLength(3);
  const received = messages.flatMap((message) => {
    expect(message.headers['content-type']).toBe('application/x-protobuf');
    const decoded = decodeTraceRequestProto(message.value ?? Buffer.alloc(0));
    expect(decoded.rejected).toBe(0);
    const key = message.key?.toString('utf8');
    expect(key).toMatch(/^[0-9a-f]{32}$/);
    for (const span of decoded.spans) expect(span.traceId).toBe(key);
    return decoded.spans;
  });
  expect(spanKeys(received)).toEqual(spanKeys(spans));
  // Content survives the hop, not only ids.
  const root = received.find((s) => s.spanId === spans[0].spanId);
  expect(root).toMatchObject({ name: 'agent run', kind: 'client', startTimeUnixNano: spans[0].startTimeUnixNano });
  expect(root?.attributes['gen_ai.usage.input_tokens']).toBe(12n);
  expect(root?.resource.attributes['service.name']).toBe('kafka-exporter-test');
  // All spans of a trace are in one partition.
  expect(new Set(messages.map((m) => `${m.key?.toString()}@${m.partition}`)).size).toBe(3);

  const codecs = await batchCompressions(kafka.brokers, topic);
  expect(codecs.length).toBeGreaterThan(0);
  expect(codecs.every((codec) => codec === GZIP)).toBe(true);

  // Logs say what happened without carrying span content.
  expect(logs.text()).toContain('kafka exporter started');
  expect(logs.text()).not.toContain('ppppp');
});

test('otlp_json without compression: values are OTLP/JSON requests, batches stored uncompressed', async () => {
  const topic = uniqueTopic('otlp-json');
  const daemon = await startDaemon(kafkaPipelineYaml(kafka.brokers, topic, ['encoding: otlp_json', 'compression: none']));
  const spans = traceSpans(3, 2);
  try {
    expect((await postSpans(daemon, spans)).status).toBe(200);
  } finally {
    await daemon.stop();
  }

  const messages = await readTopic(kafka.brokers, topic);
  expect(messages).toHaveLength(3);
  const received = messages.flatMap((message) => {
    expect(message.headers['content-type']).toBe('application/json');
    const text = message.value?.toString('utf8') ?? '';
    expect(JSON.parse(text)).toHaveProperty('resourceSpans');
    const decoded = decodeTraceRequestJson(text);
    expect(decoded.rejected).toBe(0);
    for (const span of decoded.spans) expect(span.traceId).toBe(message.key?.toString('utf8'));
    return decoded.spans;
  });
  expect(spanKeys(received)).toEqual(spanKeys(spans));
  expect(await batchCompressions(kafka.brokers, topic)).toEqual(expect.arrayContaining([NONE]));
  expect((await batchCompressions(kafka.brokers, topic)).every((codec) => codec === NONE)).toBe(true);
});

test('partition_traces_by_id: false writes unkeyed messages holding several traces', async () => {
  const topic = uniqueTopic('unkeyed');
  const daemon = await startDaemon(kafkaPipelineYaml(kafka.brokers, topic, ['partition_traces_by_id: false']));
  const spans = traceSpans(4, 3);
  try {
    expect((await postSpans(daemon, spans)).status).toBe(200);
  } finally {
    await daemon.stop();
  }
  const messages = await readTopic(kafka.brokers, topic);
  expect(messages).toHaveLength(1);
  expect(messages[0].key).toBeNull();
  expect(spanKeys(decodeTraceRequestProto(messages[0].value ?? Buffer.alloc(0)).spans)).toEqual(spanKeys(spans));
});
