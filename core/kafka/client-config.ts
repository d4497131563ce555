/**
 * The kafkajs client options both Kafka components share (brokers, client id, SASL, TLS), as zod
 * fields that component schemas spread into their own object, and the kafkajs config built from
 * them. Kept in core so the kafka exporter and receiver never import from each other.
 */
import { readFileSync } from 'node:fs';
import type { KafkaConfig, LogEntry, RetryOptions, SASLOptions } from 'kafkajs';
import { logLevel } from 'kafkajs';
import { z } from 'zod';
import { TracehouseError, errorMessage } from '../errors';
import type { Logger } from '../logger';

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

export const kafkaTlsSchema = z
  .strictObject({
    /** false keeps the section (e.g. for an environment toggle) but connects in plaintext. */
    enabled: z.boolean().default(true),
    /** PEM file of the CA(s) to trust instead of the system roots. */
    ca_file: z.string().min(1).optional(),
    /** PEM client certificate and key, for brokers that require mutual TLS. */
    cert_file: z.string().min(1).optional(),
    key_file: z.string().min(1).optional(),
    /** Accept any broker certificate. For testing only: it gives up the protection TLS offers. */
    insecure_skip_verify: z.boolean().default(false),
  })
  .superRefine((tls, ctx) => {
    if ((tls.cert_file === undefined) !== (tls.key_file === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [tls.cert_file === undefined ? 'cert_file' : 'key_file'],
        message: 'cert_file and key_file go together (mutual TLS needs both)',
      });
    }
  });

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

/** Reading the TLS files failed: a deployment mistake no retry fixes. */
export class KafkaTlsFileError extends TracehouseError {}

function readPem(file: string, option: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new KafkaTlsFileError('CFG_KAFKA_TLS_FILE', `tls.${option} ${file}: ${errorMessage(err)}`, { cause: err });
  }
}

function sslOptions(tls: KafkaClientOptions['tls']): KafkaConfig['ssl'] {
  if (!tls?.enabled) return undefined;
  return {
    rejectUnauthorized: !tls.insecure_skip_verify,
    ...(tls.ca_file ? { ca: [readPem(tls.ca_file, 'ca_file')] } : {}),
    ...(tls.cert_file ? { cert: readPem(tls.cert_file, 'cert_file') } : {}),
    ...(tls.key_file ? { key: readPem(tls.key_file, 'key_file') } : {}),
  };
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

/** The kafkajs client config for these options; throws KafkaTlsFileError when a PEM file is unreadable. */
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
