/**
 * Shared pieces of the kafka receiver tests: spans and OTLP messages to produce with a plain
 * kafkajs producer, the daemon config (kafka receiver -> one exporter), what the group committed,
 * what a topic holds, and a test exporter whose calls the test controls one by one.
 */
import { randomBytes } from 'node:crypto';
import type { IHeaders } from 'kafkajs';
import { Writable } from 'node:stream';
import pino from 'pino';
import { z } from 'zod';
import { registry } from '../../../components';
import type { ComponentRegistry, Exporter, ExporterFactory } from '../../../core/component';
import type { Logger } from '../../../core/logger';
import { encodeTraceRequestJson, encodeTraceRequestProto } from '../../../core/otlp/encode';
import { makeSpan } from '../../../core/span';
import type { Resource, Span, SpanBatch } from '../../../core/span';
import { queryRows } from '../../support/daemon';
import type { TestDaemon } from '../../support/daemon';
import { kafkaBrokers } from '../../support/kafka/brokers';
import type { KafkaBrokers } from '../../support/kafka/brokers';
import { testKafka } from '../../support/kafka/clients';
import { waitFor } from '../../support/wait';

const resource: Resource = { attributes: { 'service.name': 'kafka-receiver-test' }, droppedAttributesCount: 0, schemaUrl: '' };
const scope = { name: 'kafka-receiver-test', version: '1.0.0', attributes: {}, droppedAttributesCount: 0 };
const hex = (bytes: number): string => randomBytes(bytes).toString('hex');

/** One trace of `spans` GenAI spans with fresh ids. */
export function traceSpans(spans = 2): Span[] {
  const traceId = hex(16);
  const rootId = hex(8);
  return Array.from({ length: spans }, (_, i) =>
    makeSpan({
      traceId,
      spanId: i === 0 ? rootId : hex(8),
      parentSpanId: i === 0 ? '' : rootId,
      name: i === 0 ? 'agent run' : `chat gpt-4o ${i}`,
      kind: 'client',
      startTimeUnixNano: 1_763_900_000_000_000_000n + BigInt(i),
      endTimeUnixNano: 1_763_900_000_250_000_000n + BigInt(i),
      attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 7n },
      resource,
      scope,
    }),
  );
}

/** A message as the kafka exporter writes it: one trace, keyed by its trace id. */
export interface TraceMessage {
  key: string;
  value: Buffer;
  spans: Span[];
}

export function traceMessage(spans: Span[], encoding: 'otlp_proto' | 'otlp_json' = 'otlp_proto'): TraceMessage {
  const value = encoding === 'otlp_json' ? Buffer.from(encodeTraceRequestJson(spans)) : Buffer.from(encodeTraceRequestProto(spans));
  return { key: spans[0].traceId, value, spans };
}

/** Bytes that are not an ExportTraceServiceRequest: field 1 claims 100 bytes, 12 random ones follow. */
export function poisonValue(): Buffer {
  return Buffer.concat([Buffer.from([0x0a, 0x64]), randomBytes(12)]);
}

/** Produces with acks=all, in order, to `partition` when given (else by key). */
export async function produce(
  brokers: string[],
  topic: string,
  messages: readonly { key?: string | null; value: Buffer; partition?: number; headers?: IHeaders }[],
): Promise<void> {
  const producer = testKafka(brokers).producer();
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: messages.map((m) => ({ ...m, key: m.key ?? null })) });
  } finally {
    await producer.disconnect();
  }
}

export interface ReceiverPipelineOptions {
  brokers: string[];
  topics: string[];
  groupId: string;
  /** clickhouse (embedded, in `database`), or a test exporter of the registry the test passes. */
  exporter?: 'clickhouse' | 'recording' | 'controlled';
  database?: string;
  /** Extra YAML lines under receivers.kafka, as `key: value`. */
  receiver?: string[];
}

export function receiverPipelineYaml(options: ReceiverPipelineOptions): string {
  const exporter = options.exporter ?? 'clickhouse';
  const exporterYaml =
    exporter === 'clickhouse'
      ? `  clickhouse:\n    path: \${env:TEST_DATA_DIR}\n    database: ${options.database ?? 'default'}\n    timeout_ms: 10\n`
      : `  ${exporter}: {}\n`;
  const extra = (options.receiver ?? []).map((line) => `    ${line}\n`).join('');
  return `receivers:
  kafka:
    brokers: [${options.brokers.map((b) => JSON.stringify(b)).join(', ')}]
    topics: [${options.topics.join(', ')}]
    group_id: ${options.groupId}
    heartbeat_interval_ms: 500
    retry: { initial_backoff_ms: 50, max_backoff_ms: 400 }
${extra}exporters:
${exporterYaml}service:
  admin:
    listen: 127.0.0.1:0
  pipelines:
    traces: { receivers: [kafka], exporters: [${exporter}] }
`;
}

/** The group's committed offset per partition (-1 where nothing is committed), as the broker says. */
export async function committedOffsets(brokers: string[], groupId: string, topic: string): Promise<Map<number, bigint>> {
  const admin = testKafka(brokers).admin();
  await admin.connect();
  try {
    const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map(entry.partitions.map((p) => [p.partition, BigInt(p.offset)]));
  } finally {
    await admin.disconnect();
  }
}

/** The end (high watermark) of every partition of the topic. */
export async function endOffsets(brokers: string[], topic: string): Promise<Map<number, bigint>> {
  const admin = testKafka(brokers).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return new Map(offsets.map((p) => [p.partition, BigInt(p.high)]));
  } finally {
    await admin.disconnect();
  }
}

/**
 * Polls until the group has committed every partition of the topic up to its end. Every partition
 * must hold messages: a group commits nothing for a partition it has read nothing from (the broker
 * answers -1 there, never 0), so a test must not leave one empty, e.g. by the keys' hash.
 */
export async function waitForCommittedToEnd(brokers: string[], groupId: string, topic: string): Promise<Map<number, bigint>> {
  const end = await endOffsets(brokers, topic);
  const empty = [...end].filter(([, high]) => high === 0n).map(([partition]) => partition);
  if (empty.length > 0) throw new Error(`${topic} has no messages on partition ${empty.join(', ')}: the group never commits there`);
  return waitFor(`group ${groupId} to commit ${topic} to its end`, async () => {
    const committed = await committedOffsets(brokers, groupId, topic);
    return [...end].every(([partition, high]) => committed.get(partition) === high) && committed;
  });
}

export interface ReadMessage {
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/** Reads `count` messages of a topic from its beginning with a throwaway consumer group. */
export async function readTopic(brokers: string[], topic: string, count: number): Promise<ReadMessage[]> {
  const consumer = testKafka(brokers).consumer({ groupId: `reader-${hex(6)}`, maxWaitTimeInMs: 200 });
  const messages: ReadMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = String(value);
        messages.push({ partition, offset: message.offset, key: message.key, value: message.value, headers });
      },
    });
    await waitFor(`${count} messages in ${topic}`, () => messages.length >= count);
    return messages;
  } finally {
    await consumer.disconnect();
  }
}

/** A sample of a Prometheus counter on the daemon's /metrics (0 when absent). */
export async function metricValue(daemon: TestDaemon, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${daemon.adminUrl}/metrics`)).text();
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const labelText = line.slice(name.length + 1, line.indexOf('}'));
    if (wanted.every((l) => labelText.split(',').includes(l))) return Number(line.slice(line.indexOf('}') + 1));
  }
  return 0;
}

export const spanIds = (spans: SpanBatch): string[] => spans.map((s) => s.spanId).sort();

/** One call to the controlled exporter, held until the test settles it. */
export interface HeldCall {
  spans: SpanBatch;
  signal: AbortSignal;
  resolve(): void;
  reject(err: Error): void;
}

/**
 * An exporter the test drives: `fail` may reject a call at once; `hold` decides per call whether
 * it waits for the test (a HeldCall pushed to `held`) or resolves at once; resolved calls land in
 * `delivered`.
 */
export interface ControlledSink {
  delivered: SpanBatch[];
  held: HeldCall[];
  hold: (spans: SpanBatch) => boolean;
  /** An error to reject the call with at once (before any hold), or undefined. */
  fail?: (spans: SpanBatch) => Error | undefined;
}

export function controlledSink(): ControlledSink {
  return { delivered: [], held: [], hold: () => false };
}

export function controlledRegistry(sink: ControlledSink): ComponentRegistry {
  const configSchema = z.strictObject({});
  const factory: ExporterFactory<typeof configSchema> = {
    type: 'controlled',
    kind: 'exporter',
    stability: 'development',
    summary: 'test exporter whose calls the test settles',
    configSchema,
    createExporter: (): Exporter => ({
      start: async () => undefined,
      shutdown: async () => undefined,
      consume: async (spans, signal) => {
        const failure = sink.fail?.(spans);
        if (failure) throw failure;
        if (sink.hold(spans)) {
          await new Promise<void>((resolve, reject) => sink.held.push({ spans, signal, resolve, reject }));
        }
        sink.delivered.push(spans);
      },
    }),
  };
  return { ...registry, exporters: [...registry.exporters, factory] };
}

/** The span ids of everything the sink received (one entry per delivery, so replays show twice). */
export const deliveredIds = (sink: ControlledSink): string[] => spanIds(sink.delivered.flat());

/** A daemon logger that keeps its JSON lines for the test to look at. */
export function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, destination), lines };
}

/**
 * The shared frame of the receiver tests: one broker (or KAFKA_BROKERS) per file, and the daemons a
 * test started stopped after it. `env()` is valid inside tests.
 */
export function kafkaReceiverSuite(): { env: () => KafkaBrokers; track: (daemon: TestDaemon) => TestDaemon } {
  let env: KafkaBrokers | undefined;
  const daemons: TestDaemon[] = [];
  beforeAll(async () => {
    env = await kafkaBrokers();
  });
  afterEach(async () => {
    await Promise.all(daemons.splice(0).map((d) => d.stop()));
  });
  afterAll(async () => {
    await env?.stop();
  });
  return {
    env: () => {
      if (!env) throw new Error('the Kafka brokers are not started yet');
      return env;
    },
    track: (daemon) => {
      daemons.push(daemon);
      return daemon;
    },
  };
}

/** The distinct span ids stored in `database`, sorted. */
export async function storedSpanIds(daemon: TestDaemon, database: string): Promise<string[]> {
  const rows = await queryRows<{ SpanId: string }>(daemon, 'SELECT DISTINCT SpanId FROM otel_traces ORDER BY SpanId', database);
  return rows.map((r) => r.SpanId);
}
