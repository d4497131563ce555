/**
 * When consume resolves and how it fails: splitting, broker outages (through a daemon, answered 503
 * and UNAVAILABLE), brokers that never answer, shutdown. Against the Kafka test broker, or a real
 * one with KAFKA_BROKERS (the outage tests need the test broker's pause/resume and are skipped there).
 */
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { PermanentError } from '../../../core/errors';
import { decodeTraceRequestProto } from '../../../core/otlp/decode';
import { encodeTraceRequestProto } from '../../../core/otlp/encode';
import { startDaemon } from '../../support/daemon';
import { kafkaBrokers, uniqueTopic, type KafkaBrokers } from '../../support/kafka/brokers';
import { closeGrpcClients, exportCall, grpcClient } from '../../support/otlp-grpc-client';
import { hex, spanKeys, traceSpans } from './spans';
import { capturingLogger, createKafkaExporter, kafkaPipelineYaml, metric, neverAborted, postSpans, rejectionOf, stubHost } from './support';
import { readTopic } from './topic-reader';

let kafka: KafkaBrokers;
beforeAll(async () => {
  kafka = await kafkaBrokers();
});
afterAll(async () => {
  closeGrpcClients();
  await kafka.stop();
});

/** Tests that stop and restart the broker can only run against the in-process test broker. */
const withTestBroker = process.env.KAFKA_BROKERS ? test.skip : test;

/** Polls `attempt` until it returns true (generous deadline, no timing assertion). */
async function eventually(attempt: () => Promise<boolean>, what: string, deadlineMs = 30_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!(await attempt())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test('a trace larger than max_message_bytes arrives as several messages within the bound, nothing lost', async () => {
  const topic = uniqueTopic('split');
  const { exporter, telemetry } = createKafkaExporter({ brokers: kafka.brokers, topic, max_message_bytes: 2048 });
  await exporter.start(stubHost);
  const big = traceSpans(1, 40, 200);
  const small = traceSpans(1, 2);
  try {
    await exporter.consume([...big, ...small], neverAborted());
  } finally {
    await exporter.shutdown();
  }
  const messages = await readTopic(kafka.brokers, topic);
  const pieces = messages.filter((m) => m.key?.toString() === big[0].traceId);
  expect(pieces.length).toBeGreaterThan(2);
  expect(new Set(pieces.map((m) => m.partition)).size).toBe(1);
  for (const message of messages) expect(message.value?.length).toBeLessThanOrEqual(2048);
  expect(messages.filter((m) => m.key?.toString() === small[0].traceId)).toHaveLength(1);
  const received = messages.flatMap((m) => decodeTraceRequestProto(m.value ?? Buffer.alloc(0)).spans);
  expect(spanKeys(received)).toEqual(spanKeys([...big, ...small]));
  expect(await metric(telemetry, 'tracehouse_exporter_sent_spans_total')).toBe(42);
  expect(await metric(telemetry, 'tracehouse_exporter_batch_spans_count')).toBe(1);
});

test('a span larger than max_message_bytes is refused permanently and nothing of its batch is sent', async () => {
  const topic = uniqueTopic('too-large');
  const { exporter, telemetry } = createKafkaExporter({ brokers: kafka.brokers, topic, max_message_bytes: 2048 });
  await exporter.start(stubHost);
  const fine = traceSpans(1, 2);
  try {
    const err = await rejectionOf(exporter.consume([...traceSpans(1, 1, 4000), ...traceSpans(1, 2)], neverAborted()));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.code).toBe('EXP_KAFKA_MESSAGE_TOO_LARGE');
    await exporter.consume(fine, neverAborted());
  } finally {
    await exporter.shutdown();
  }
  const messages = await readTopic(kafka.brokers, topic);
  expect(spanKeys(messages.flatMap((m) => decodeTraceRequestProto(m.value ?? Buffer.alloc(0)).spans))).toEqual(spanKeys(fine));
  expect(await metric(telemetry, 'tracehouse_exporter_failed_spans_total', ',reason="too_large"')).toBe(3);
});

withTestBroker('broker down: OTLP/HTTP gets 503 with Retry-After, gRPC UNAVAILABLE; after it returns a retry succeeds without a restart', async () => {
  const broker = kafka.broker!;
  const topic = uniqueTopic('outage');
  const daemon = await startDaemon(kafkaPipelineYaml(kafka.brokers, topic, ['timeout_ms: 5000', 'max_retries: 2']));
  const before = traceSpans(1, 2);
  const during = traceSpans(2, 2);
  const viaGrpc = traceSpans(1, 1);
  try {
    expect((await postSpans(daemon, before)).status).toBe(200);

    await broker.pause();
    const refused = await postSpans(daemon, during);
    expect(refused.status).toBe(503);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    const call = await exportCall(grpcClient(daemon), encodeTraceRequestProto(viaGrpc));
    expect(call.ok ? 'OK' : grpc.status[call.error.code]).toBe('UNAVAILABLE');

    await broker.resume();
    await eventually(async () => (await postSpans(daemon, during)).status === 200, 'the HTTP retry to succeed');
    await eventually(async () => (await exportCall(grpcClient(daemon), encodeTraceRequestProto(viaGrpc))).ok, 'the gRPC retry to succeed');
  } finally {
    await daemon.stop();
  }
  const received = (await readTopic(kafka.brokers, topic)).flatMap((m) => decodeTraceRequestProto(m.value ?? Buffer.alloc(0)).spans);
  // At least once: every acknowledged span is there (a retry may have written one twice).
  expect([...new Set(spanKeys(received))]).toEqual(spanKeys([...before, ...during, ...viaGrpc]));
});

withTestBroker('start returns while the broker is down; consume rejects retryably, then connects on demand', async () => {
  const broker = kafka.broker!;
  const topic = uniqueTopic('late-broker');
  await broker.pause();
  const { exporter, telemetry } = createKafkaExporter({ brokers: kafka.brokers, topic, timeout_ms: 5000, max_retries: 1 });
  const spans = traceSpans(2, 2);
  try {
    await exporter.start(stubHost);
    const err = await rejectionOf(exporter.consume(spans, neverAborted()));
    expect(err).not.toBeInstanceOf(PermanentError);
    expect(err.code).toBe('EXP_KAFKA_UNAVAILABLE');
    expect(await metric(telemetry, 'tracehouse_exporter_failed_spans_total', ',reason="unavailable"')).toBe(4);

    await broker.resume();
    await exporter.consume(spans, neverAborted());
  } finally {
    await broker.resume();
    await exporter.shutdown();
  }
  const received = (await readTopic(kafka.brokers, topic)).flatMap((m) => decodeTraceRequestProto(m.value ?? Buffer.alloc(0)).spans);
  expect(spanKeys(received)).toEqual(spanKeys(spans));
  expect(await metric(telemetry, 'tracehouse_exporter_sent_spans_total')).toBe(4);
});

describe('a broker that accepts connections but never answers', () => {
  let server: net.Server;
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  let address: string;
  beforeAll(async () => {
    server = net.createServer((socket) => {
      sockets.add(socket);
      accepted += 1;
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    address = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  test('consume rejects retryably at timeout_ms while kafkajs is still retrying', async () => {
    // Six attempts of up to 300 ms each cannot end within 300 ms: the exporter's own bound answers.
    const { exporter } = createKafkaExporter({ brokers: [address], topic: 'never', timeout_ms: 300, max_retries: 5 });
    await exporter.start(stubHost);
    const err = await rejectionOf(exporter.consume(traceSpans(1, 1), neverAborted()));
    expect(err.code).toBe('EXP_KAFKA_UNAVAILABLE');
    expect(err.message).toBe('kafka did not acknowledge within timeout_ms (300 ms)');
    expect(err).not.toBeInstanceOf(PermanentError);
    await exporter.shutdown();
  });

  test("the caller's abort signal ends the wait with EXP_ABORTED", async () => {
    const { exporter } = createKafkaExporter({ brokers: [address], topic: 'never', timeout_ms: 600_000, max_retries: 0 });
    const before = accepted;
    await exporter.start(stubHost);
    const controller = new AbortController();
    const pending = rejectionOf(exporter.consume(traceSpans(1, 1), controller.signal));
    controller.abort();
    expect((await pending).code).toBe('EXP_ABORTED');
    // Closing the silent connection lets the hung connect fail, so shutdown can finish.
    await eventually(async () => accepted > before, 'the exporter to connect');
    for (const socket of sockets) socket.destroy();
    await exporter.shutdown();
  });
});

test('the SASL password and span content never reach the logs', async () => {
  const logs = capturingLogger();
  const marker = `secret-${hex(8)}`;
  const { exporter } = createKafkaExporter(
    {
      brokers: kafka.brokers,
      topic: uniqueTopic('sasl'),
      timeout_ms: 3000,
      max_retries: 0,
      sasl: { mechanism: 'plain', username: 'tracehouse', password: marker },
    },
    logs.logger,
  );
  await exporter.start(stubHost);
  const spans = traceSpans(1, 1).map((s) => ({ ...s, name: `name-${marker}` }));
  // The broker has no SASL for these credentials: whatever it answers, the spans are not accepted.
  const err = await rejectionOf(exporter.consume(spans, neverAborted()));
  expect(err).not.toBeInstanceOf(PermanentError);
  await exporter.shutdown();
  expect(logs.lines.length).toBeGreaterThan(0);
  expect(logs.text()).not.toContain(marker);
});

test('lifecycle: consume before start and after shutdown is refused; shutdown waits for the send in flight', async () => {
  const topic = uniqueTopic('lifecycle');
  const { exporter } = createKafkaExporter({ brokers: kafka.brokers, topic });
  expect((await rejectionOf(exporter.consume(traceSpans(1, 1), neverAborted()))).code).toBe('EXP_NOT_STARTED');
  await exporter.start(stubHost);
  const spans = traceSpans(2, 3);
  const order: string[] = [];
  const sending = exporter.consume(spans, neverAborted()).then(() => order.push('consume resolved'));
  const stopping = exporter.shutdown().then(() => order.push('shutdown resolved'));
  await Promise.all([sending, stopping]);
  expect(order).toEqual(['consume resolved', 'shutdown resolved']);
  expect((await rejectionOf(exporter.consume(spans, neverAborted()))).code).toBe('SVC_SHUTTING_DOWN');
  await exporter.shutdown();
  const received = (await readTopic(kafka.brokers, topic)).flatMap((m) => decodeTraceRequestProto(m.value ?? Buffer.alloc(0)).spans);
  expect(spanKeys(received)).toEqual(spanKeys(spans));
});
