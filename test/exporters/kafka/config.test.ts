import path from 'node:path';
import { registry } from '../../../components';
import { formatDiagnostic } from '../../../core/config/diagnostics';
import { loadConfigFile } from '../../../core/config/load-config';
import { kafkaExporterConfigSchema } from '../../../exporters/kafka/config';
import { kafkaExporterFactory } from '../../../exporters/kafka/factory';
import { createKafkaExporter, rejectionOf, stubHost } from './support';

const load = (name: string, env: NodeJS.ProcessEnv = {}) =>
  loadConfigFile(path.join(__dirname, 'config', `${name}.yaml`), registry, { env });
const diagnostics = (name: string, env: NodeJS.ProcessEnv = {}) => load(name, env).diagnostics.map(formatDiagnostic);

test('the factory is registered and declares what the registry needs', () => {
  expect(registry.exporters).toContain(kafkaExporterFactory);
  expect(kafkaExporterFactory).toMatchObject({ type: 'kafka', kind: 'exporter', stability: 'beta' });
  expect(kafkaExporterFactory.configSchema).toBe(kafkaExporterConfigSchema);
});

test('an empty config parses to exactly the defaults', () => {
  const { config, diagnostics: found } = load('defaults');
  expect(found).toEqual([]);
  expect(config?.exporters.get('kafka')?.config).toEqual({
    brokers: ['localhost:9092'],
    client_id: 'tracehouse',
    topic: 'otlp_spans',
    encoding: 'otlp_proto',
    partition_traces_by_id: true,
    acks: 'all',
    compression: 'gzip',
    max_message_bytes: 1_000_000,
    timeout_ms: 10_000,
    max_retries: 5,
  });
});

test('a fully specified config parses to exactly what it says, the password from the environment', () => {
  const { config, diagnostics: found } = load('full', { KAFKA_PASSWORD: 's3cret' });
  expect(found).toEqual([]);
  expect(config?.exporters.get('kafka/full')?.config).toEqual({
    brokers: ['kafka-1:9092', '[::1]:9093'],
    client_id: 'ingest-a',
    topic: 'llm.spans_v2',
    encoding: 'otlp_json',
    partition_traces_by_id: false,
    acks: 'leader',
    compression: 'none',
    max_message_bytes: 500_000,
    timeout_ms: 2500,
    max_retries: 0,
    sasl: { mechanism: 'scram-sha-512', username: 'tracehouse', password: 's3cret' },
    tls: {
      enabled: true,
      ca_file: '/etc/kafka/ca.pem',
      cert_file: '/etc/kafka/client.pem',
      key_file: '/etc/kafka/client.key',
      insecure_skip_verify: false,
    },
  });
});

test('sasl without a password is refused at the sasl section', () => {
  expect(diagnostics('sasl-without-password')).toEqual([
    'sasl-without-password.yaml:6:5 error exporters.kafka.sasl missing required key "password" [CFG_MISSING_KEY]',
  ]);
});

test('bad values are each reported at their own line', () => {
  expect(diagnostics('bad-values')).toEqual([
    'bad-values.yaml:5:15 error exporters.kafka.brokers.0 must be "host:port", e.g. "kafka:9092" [CFG_INVALID_VALUE]',
    'bad-values.yaml:12:5 error exporters.kafka.tls.key_file cert_file and key_file go together (mutual TLS needs both) [CFG_INVALID_VALUE]',
    'bad-values.yaml:6:12 error exporters.kafka.topic must be 1-249 characters of letters, digits, ".", "_" and "-" [CFG_INVALID_VALUE]',
    'bad-values.yaml:7:15 error exporters.kafka.encoding Invalid option: expected one of "otlp_proto"|"otlp_json" [CFG_INVALID_VALUE]',
    'bad-values.yaml:8:11 error exporters.kafka.acks must be "all" or "leader" (no-ack would answer clients for spans nobody stored) [CFG_INVALID_VALUE]',
    'bad-values.yaml:9:18 error exporters.kafka.compression Invalid option: expected one of "gzip"|"none" [CFG_INVALID_VALUE]',
    'bad-values.yaml:10:24 error exporters.kafka.max_message_bytes Too small: expected number to be >=1024 [CFG_OUT_OF_RANGE]',
    'bad-values.yaml:11:17 error exporters.kafka.timeout_ms Too small: expected number to be >=1 [CFG_OUT_OF_RANGE]',
  ]);
});

test('an unknown key is refused', () => {
  expect(diagnostics('unknown-key')).toEqual([
    'unknown-key.yaml:6:5 error exporters.kafka unknown key "partition_by_trace_id" [CFG_UNKNOWN_KEY]',
  ]);
});

test('empty brokers and an unsupported SASL mechanism are refused', () => {
  expect(diagnostics('empty-brokers')).toEqual([
    'empty-brokers.yaml:5:5 error exporters.kafka.brokers Too small: expected array to have >=1 items [CFG_OUT_OF_RANGE]',
    'empty-brokers.yaml:7:18 error exporters.kafka.sasl.mechanism Invalid option: expected one of "plain"|"scram-sha-256"|"scram-sha-512" [CFG_INVALID_VALUE]',
  ]);
});

test('a password from an unset environment variable is reported, not sent empty', () => {
  expect(diagnostics('full')).toEqual([
    'full.yaml:19:17 error exporters.kafka/full.sasl.password environment variable KAFKA_PASSWORD is not set and has no default (use ${env:KAFKA_PASSWORD:-default}) [CFG_ENV_UNSET]',
  ]);
});

test('a TLS file that cannot be read fails start instead of retrying forever', async () => {
  const { exporter } = createKafkaExporter({ brokers: ['127.0.0.1:9'], tls: { ca_file: path.join(__dirname, 'config', 'missing-ca.pem') } });
  const err = await rejectionOf(exporter.start(stubHost));
  expect(err.code).toBe('CFG_KAFKA_TLS_FILE');
  expect(err.message).toContain('tls.ca_file');
  await exporter.shutdown();
});
