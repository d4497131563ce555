import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { registry } from '../../../components';
import type { Host } from '../../../core/component';
import { formatDiagnostic } from '../../../core/config/diagnostics';
import { loadConfigText } from '../../../core/config/load-config';
import { kafkaClientConfig } from '../../../core/kafka/client-config';
import { silentLogger } from '../../../core/logger';
import { Telemetry } from '../../../core/telemetry';
import { kafkaReceiverConfigSchema as schema, deadLetterTopicFor } from '../../../receivers/kafka/config';
import { kafkaReceiverFactory } from '../../../receivers/kafka/factory';

const read = (name: string) => fs.readFileSync(path.join(__dirname, 'config', name), 'utf8');

/** The one receiver config in a scenario file under ./config. */
function scenario(name: string): unknown {
  const doc = parse(read(name)) as { receivers: Record<string, unknown> };
  return Object.values(doc.receivers)[0];
}

function issues(input: unknown) {
  const result = schema.safeParse(input);
  if (result.success) throw new Error('expected the config to be rejected');
  return result.error.issues.map((issue) => ({ path: issue.path.join('.'), code: issue.code, message: issue.message }));
}

test('the factory is registered, listens nowhere and declares what the registry needs', () => {
  expect(registry.receivers).toContain(kafkaReceiverFactory);
  expect(kafkaReceiverFactory).toMatchObject({ type: 'kafka', kind: 'receiver', stability: 'beta' });
  expect(kafkaReceiverFactory.configSchema).toBe(schema);
  expect(kafkaReceiverFactory.claimedRoutes(schema.parse(scenario('full.yaml')))).toEqual([]);
});

test('an empty config parses to the documented defaults', () => {
  const config = schema.parse(scenario('defaults.yaml'));
  expect(config).toEqual({
    brokers: ['localhost:9092'],
    client_id: 'tracehouse',
    topics: ['otlp_spans'],
    group_id: 'tracehouse',
    encoding: 'otlp_proto',
    initial_offset: 'earliest',
    session_timeout_ms: 30000,
    heartbeat_interval_ms: 3000,
    max_fetch_wait_ms: 250,
    max_partition_fetch_bytes: 1048576,
    max_concurrent_partitions: 4,
    max_batch_spans: 10000,
    retry: { initial_backoff_ms: 500, max_backoff_ms: 30000 },
    reserved_attributes: 'auto',
    default_workspace: 'default',
  });
  // The dead-letter topic follows the topic a message was read from.
  expect(deadLetterTopicFor(config, 'otlp_spans')).toBe('otlp_spans.dlq');
});

test('a fully specified config parses to exactly what it says', () => {
  const config = schema.parse(scenario('full.yaml'));
  expect(config).toEqual({
    brokers: ['kafka-1:9092', 'kafka-2:9092'],
    topics: ['otlp_spans', 'otlp_spans_eu'],
    group_id: 'tracehouse-store',
    encoding: 'otlp_json',
    initial_offset: 'latest',
    dead_letter_topic: 'tracehouse-dlq',
    client_id: 'store-1',
    sasl: { mechanism: 'scram-sha-512', username: 'tracehouse', password: '${env:KAFKA_PASSWORD}' },
    tls: { enabled: true, ca_file: '/etc/tracehouse/ca.pem', insecure_skip_verify: false },
    session_timeout_ms: 45000,
    heartbeat_interval_ms: 15000,
    max_fetch_wait_ms: 500,
    max_partition_fetch_bytes: 4194304,
    max_concurrent_partitions: 8,
    max_batch_spans: 2000,
    reserved_attributes: 'auto',
    default_workspace: 'default',
    retry: { initial_backoff_ms: 1000, max_backoff_ms: 60000 },
  });
  expect(deadLetterTopicFor(config, 'otlp_spans_eu')).toBe('tracehouse-dlq');
});

test('dead_letter_topic none turns dead-lettering off', () => {
  expect(deadLetterTopicFor(schema.parse(scenario('dead-letter-none.yaml')), 'otlp_spans')).toBeUndefined();
});

test('bad values are rejected, every problem at once', () => {
  expect(issues(scenario('bad-values.yaml'))).toEqual([
    { path: 'brokers.0', code: 'invalid_format', message: 'must be "host:port", e.g. "kafka:9092"' },
    { path: 'sasl.password', code: 'invalid_type', message: 'Invalid input: expected string, received undefined' },
    { path: 'tls.key_file', code: 'custom', message: 'cert_file and key_file go together (mutual TLS needs both)' },
    { path: 'topics', code: 'too_small', message: 'Too small: expected array to have >=1 items' },
    { path: 'encoding', code: 'invalid_value', message: 'Invalid option: expected one of "otlp_proto"|"otlp_json"' },
    { path: 'initial_offset', code: 'invalid_value', message: 'Invalid option: expected one of "earliest"|"latest"' },
    { path: 'dead_letter_topic', code: 'invalid_format', message: 'must be a Kafka topic name: letters, digits, ".", "_" and "-"' },
    { path: 'retry.max_backoff_ms', code: 'custom', message: 'must be at least initial_backoff_ms' },
  ]);
});

test('the heartbeat must be shorter than the session, and the dead-letter topic must not be consumed', () => {
  expect(issues({ session_timeout_ms: 6000, heartbeat_interval_ms: 6000 })).toEqual([
    { path: 'heartbeat_interval_ms', code: 'custom', message: 'must be less than session_timeout_ms (a third of it is usual)' },
  ]);
  expect(issues(scenario('dead-letter-loop.yaml'))).toEqual([
    { path: 'dead_letter_topic', code: 'custom', message: 'must not be one of the consumed topics' },
  ]);
});

test('an unknown key is rejected', () => {
  expect(issues(scenario('unknown-key.yaml'))).toEqual([{ path: '', code: 'unrecognized_keys', message: 'Unrecognized key: "group"' }]);
});

test('in pipelines.yaml an unknown key is reported at its line with a stable code', () => {
  const { config, diagnostics } = loadConfigText(read('pipeline.yaml'), 'pipelines.yaml', registry, { env: { KAFKA_BROKER: 'kafka:9092' } });
  expect(config).toBeUndefined();
  expect(diagnostics.map(formatDiagnostic)).toEqual(['pipelines.yaml:5:5 error receivers.kafka unknown key "auto_commit" [CFG_UNKNOWN_KEY]']);
});

test('in pipelines.yaml brokers and the SASL password come from the environment', () => {
  const { config, diagnostics } = loadConfigText(read('pipeline-valid.yaml'), 'pipelines.yaml', registry, {
    env: { KAFKA_BROKER: 'kafka:9092', KAFKA_PASSWORD: 's3cret' },
  });
  expect(diagnostics).toEqual([]);
  expect(config?.receivers.get('kafka')?.config).toMatchObject({
    brokers: ['kafka:9092'],
    sasl: { mechanism: 'plain', username: 'tracehouse', password: 's3cret' },
  });
});

test('sasl and tls become the kafkajs client options; an unreadable TLS file stops the receiver from starting', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kafka-tls-'));
  const ca = path.join(dir, 'ca.pem');
  fs.writeFileSync(ca, '-----BEGIN CERTIFICATE-----\ntest\n-----END CERTIFICATE-----\n');
  const config = schema.parse({
    brokers: ['kafka:9093'],
    sasl: { mechanism: 'scram-sha-256', username: 'th', password: 'pw' },
    tls: { ca_file: ca, insecure_skip_verify: true },
  });
  expect(kafkaClientConfig(config, silentLogger())).toMatchObject({
    brokers: ['kafka:9093'],
    clientId: 'tracehouse',
    sasl: { mechanism: 'scram-sha-256', username: 'th', password: 'pw' },
    ssl: { rejectUnauthorized: false, ca: [fs.readFileSync(ca)] },
  });
  expect(kafkaClientConfig(schema.parse({ tls: { enabled: false } }), silentLogger()).ssl).toBeUndefined();

  const missing = schema.parse({ tls: { ca_file: path.join(dir, 'missing.pem') } });
  const receiver = kafkaReceiverFactory.createReceiver(
    missing,
    { id: 'kafka', logger: silentLogger(), telemetry: new Telemetry().forReceiver('kafka') },
    { consume: async () => undefined },
  );
  await expect(receiver.start({} as Host)).rejects.toMatchObject({ code: 'CFG_KAFKA_TLS_FILE' });
  await receiver.shutdown();
});

test('one brokers entry may carry a comma-separated list, as ${env:KAFKA_BROKERS} does', () => {
  expect(schema.parse({ brokers: ['kafka-1:9092, kafka-2:9092', 'kafka-3:9092'] }).brokers).toEqual(['kafka-1:9092', 'kafka-2:9092', 'kafka-3:9092']);
  expect(schema.safeParse({ brokers: ['kafka-1:9092,'] }).success).toBe(true);
  expect(schema.safeParse({ brokers: ['kafka-1'] }).success).toBe(false);
});
