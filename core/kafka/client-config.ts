/**
 * The kafkajs client options both Kafka components share (brokers, client id, SASL, TLS), as zod
 * fields that component schemas spread into their own object, and the kafkajs config built from
 * them. Kept in core so the kafka exporter and receiver never import from each other.
 */
import type { KafkaConfig, LogEntry, RetryOptions, SASLOptions } from 'kafkajs';
import { logLevel } from 'kafkajs';
import { z } from 'zod';
import type { Logger } from '../logger';
import { tlsFileOptions, tlsSchema } from '../tls';

/** "host:port" of a bootstrap broker; the port is required, as every Kafka client wants it. */
const brokerAddressSchema = z
  .string()
  .regex(/^(?:\[[^\]]+\]|[^:\s]+):\d{1,5}$/, 'must be "host:port", e.g. "kafka:9092"');

export const kafkaSaslSchema = z.strictObject({
  mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
  username: z.string().min(1),
  /** Put it in the environment: `password: ${env:KAFKA_PASSWORD}`. Never logged. */
  password: z.string().min(1),
});

/** TLS to the brokers: enabled, ca_file, cert_file + key_file (mutual TLS), insecure_skip_verify. */
export const kafkaTlsSchema = tlsSchema({});

/** Spread into a component's strictObject: `z.strictObject({ ...kafkaClientFields, topic: ... })`. */
export const kafkaClientFields = {
  /**
   * Bootstrap brokers; the client discovers the rest of the cluster from them. An entry may list
   * several, comma-separated, so that one `${env:KAFKA_BROKERS}` can carry the whole list.
   */
  brokers: z.preprocess(
    (value) => (Array.isArray(value) ? value.flatMap((b) => (typeof b === 'string' ? b.split(',').map((x) => x.trim()).filter(Boolean) : [b])) : value),
    z.array(brokerAddressSchema).min(1),
  ),
  /** Client id the brokers see in their logs and quotas. */
  client_id: z.string().min(1).default('tracehouse'),
  sasl: kafkaSaslSchema.optional(),
  tls: kafkaTlsSchema.optional(),
};

export interface KafkaClientOptions {
  brokers: string[];
  client_id: string;
  sasl?: z.output<typeof kafkaSaslSchema>;
  tls?: z.output<typeof kafkaTlsSchema>;
}

function sslOptions(tls: KafkaClientOptions['tls']): KafkaConfig['ssl'] {
  if (!tls?.enabled) return undefined;
  return tlsFileOptions(tls, 'tls', 'CFG_KAFKA_TLS_FILE');
}

function saslOptions(sasl: KafkaClientOptions['sasl']): SASLOptions | undefined {
  if (!sasl) return undefined;
  return { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password };
}

/**
 * Routes kafkajs's own log lines into the component's pino logger. kafkajs logs every failed
 * connection attempt as an ERROR with a stack, while the components log each outage once in their
 * own words (with a stable code), so kafkajs errors and warnings become warnings without stacks,
 * and its routine INFO lines (joins, pauses) debug lines. Its log objects carry broker addresses,
 * group and error details, never message payloads or SASL secrets.
 */
export function kafkaLogCreator(logger: Logger): KafkaConfig['logCreator'] {
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      const { message, timestamp: _timestamp, logger: _name, stack: _stack, ...extra } = log as LogEntry['log'] & {
        logger?: string;
        stack?: string;
      };
      const fields = { kafkajs: namespace, ...extra };
      if (level === logLevel.ERROR || level === logLevel.WARN) logger.warn(fields, message);
      else logger.debug(fields, message);
    };
}

/** The kafkajs client config for these options; throws TlsFileError when a PEM file is unreadable. */
export function kafkaClientConfig(
  options: KafkaClientOptions,
  logger: Logger,
  extra: { retry?: RetryOptions; requestTimeout?: number; connectionTimeout?: number } = {},
): KafkaConfig {
  return {
    brokers: options.brokers,
    clientId: options.client_id,
    ssl: sslOptions(options.tls),
    sasl: saslOptions(options.sasl),
    logLevel: logLevel.INFO,
    logCreator: kafkaLogCreator(logger),
    ...extra,
  };
}
