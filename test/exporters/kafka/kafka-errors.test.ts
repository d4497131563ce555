/**
 * How kafkajs failures map onto the pipeline's contract, using kafkajs's own error factory and
 * retrier so the wrapping is exactly what a producer send rejects with. The broker-side refusal
 * itself runs against a real broker (the test broker does not enforce message.max.bytes).
 */
import { randomBytes } from 'node:crypto';
import { KafkaJSConnectionError, KafkaJSRequestTimeoutError } from 'kafkajs';
import { PermanentError, TracehouseError } from '../../../core/errors';
import { classifyKafkaError } from '../../../exporters/kafka/kafka-errors';
import { kafkaBrokers, uniqueTopic } from '../../support/kafka/brokers';
import { traceSpans } from './spans';
import { createKafkaExporter, neverAborted, rejectionOf, stubHost } from './support';

// kafkajs internals, untyped: the error factory its response parsers use and its retrier.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createErrorFromCode } = require('kafkajs/src/protocol/error') as { createErrorFromCode(code: number): Error };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const createRetry = require('kafkajs/src/retry') as (options: object) => (fn: () => Promise<never>) => Promise<never>;

/** What a send rejects with when the broker answers `code` to every attempt. */
function afterRetries(code: number): Promise<unknown> {
  const retry = createRetry({ retries: 2, initialRetryTime: 1, maxRetryTime: 2 });
  return rejectionOf(
    retry(async () => {
      throw createErrorFromCode(code);
    }),
  );
}

const MESSAGE_TOO_LARGE = 10;
const CORRUPT_MESSAGE = 2;
const RECORD_LIST_TOO_LARGE = 18;
const INVALID_RECORD = 87;
const NOT_LEADER_FOR_PARTITION = 6;
const TOPIC_AUTHORIZATION_FAILED = 29;

test.each([
  ['MESSAGE_TOO_LARGE', MESSAGE_TOO_LARGE],
  ['CORRUPT_MESSAGE (retried by kafkajs first)', CORRUPT_MESSAGE],
  ['RECORD_LIST_TOO_LARGE', RECORD_LIST_TOO_LARGE],
  ['INVALID_RECORD', INVALID_RECORD],
])('a broker refusing the records (%s) is a PermanentError EXP_KAFKA_REJECTED', async (_name, code) => {
  const raw = createErrorFromCode(code);
  for (const err of [raw, await afterRetries(code)]) {
    const mapped = classifyKafkaError(err, 'otlp_spans');
    expect(mapped).toBeInstanceOf(PermanentError);
    expect(mapped.code).toBe('EXP_KAFKA_REJECTED');
    expect(mapped.message).toContain('otlp_spans');
  }
});

test.each([
  ['NOT_LEADER_FOR_PARTITION', () => afterRetries(NOT_LEADER_FOR_PARTITION)],
  ['TOPIC_AUTHORIZATION_FAILED', () => afterRetries(TOPIC_AUTHORIZATION_FAILED)],
  ['a refused connection', async () => new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9')],
  ['a request timeout', async () => new KafkaJSRequestTimeoutError('Request Produce(key: 0, version: 7) timed out')],
  ['anything else', async () => new Error('socket hang up')],
])('%s is retryable: EXP_KAFKA_UNAVAILABLE', async (_name, make) => {
  const mapped = classifyKafkaError(await make(), 'otlp_spans');
  expect(mapped).toBeInstanceOf(TracehouseError);
  expect(mapped).not.toBeInstanceOf(PermanentError);
  expect(mapped.code).toBe('EXP_KAFKA_UNAVAILABLE');
});

// Kafka's default message.max.bytes is 1048588; this value is over it and incompressible.
const realBroker = process.env.KAFKA_BROKERS ? test : test.skip;
realBroker('a real broker refusing a record batch over message.max.bytes rejects with EXP_KAFKA_REJECTED', async () => {
  const kafka = await kafkaBrokers();
  const { exporter } = createKafkaExporter({
    brokers: kafka.brokers,
    topic: uniqueTopic('refused'),
    compression: 'none',
    max_message_bytes: 4_000_000,
  });
  await exporter.start(stubHost);
  const [span] = traceSpans(1, 1);
  const huge = { ...span, attributes: { ...span.attributes, blob: randomBytes(1_500_000).toString('base64') } };
  try {
    const err = await rejectionOf(exporter.consume([huge], neverAborted()));
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.code).toBe('EXP_KAFKA_REJECTED');
  } finally {
    await exporter.shutdown();
    await kafka.stop();
  }
});
