/** Shared pieces of the kafka exporter tests: daemon configs, OTLP posts, direct exporters, log capture. */
import { Writable } from 'node:stream';
import pino from 'pino';
import type { Exporter, Host } from '../../../core/component';
import { ObjectCatalog } from '../../../core/control/catalog';
import { silentLogger } from '../../../core/logger';
import type { Logger } from '../../../core/logger';
import { encodeTraceRequestProto } from '../../../core/otlp/encode';
import type { SpanBatch } from '../../../core/span';
import { Telemetry } from '../../../core/telemetry';
import { WorkspaceDirectory } from '../../../core/workspaces';
import { kafkaExporterConfigSchema } from '../../../exporters/kafka/config';
import { kafkaExporterFactory } from '../../../exporters/kafka/factory';
import type { TestDaemon } from '../../support/daemon';

/** The otlp receiver (HTTP and gRPC on ephemeral ports) into the kafka exporter. */
export function kafkaPipelineYaml(brokers: string[], topic: string, exporterLines: string[] = []): string {
  return `receivers:
  otlp:
    http: { listen: 127.0.0.1:0 }
    grpc: { listen: 127.0.0.1:0 }
exporters:
  kafka:
    brokers: [${brokers.map((b) => `"${b}"`).join(', ')}]
    topic: ${topic}
${exporterLines.map((line) => `    ${line}\n`).join('')}service:
  admin:
    listen: 127.0.0.1:0
  pipelines:
    traces: { receivers: [otlp], exporters: [kafka] }
`;
}

/** POSTs spans as OTLP/HTTP protobuf to the daemon's otlp receiver. */
export async function postSpans(daemon: TestDaemon, spans: SpanBatch): Promise<Response> {
  const res = await fetch(`${daemon.receiverUrl('otlp')}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf' },
    body: encodeTraceRequestProto(spans),
  });
  await res.arrayBuffer();
  return res;
}

/** A host for components started outside a daemon (the kafka exporter uses none of it). */
export const stubHost: Host = {
  acquireHttpListener: () => Promise.reject(new Error('no listeners in this test')),
  registerQueryBackend: () => {},
  store: () => undefined,
  registerAdminAction: () => {},
  objects: ObjectCatalog.detached(silentLogger()),
  provide: () => {},
  capability: () => undefined,
  workspaces: new WorkspaceDirectory({}),
};

export interface DirectExporter {
  exporter: Exporter;
  telemetry: Telemetry;
}

/** A kafka exporter built from (and validated by) its schema, not yet started. */
export function createKafkaExporter(config: Record<string, unknown>, logger: Logger = pino({ level: 'silent' })): DirectExporter {
  const telemetry = new Telemetry();
  const exporter = kafkaExporterFactory.createExporter(kafkaExporterConfigSchema.parse(config), {
    id: 'kafka',
    logger,
    telemetry: telemetry.forExporter('kafka'),
  });
  return { exporter, telemetry };
}

/** The value of one exporter metric for exporter "kafka", 0 when absent. */
export async function metric(telemetry: Telemetry, name: string, labels = ''): Promise<number> {
  const text = await telemetry.metricsText();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{exporter="kafka"${labels}}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

/** A debug-level logger whose JSON lines the test can read. */
export function capturingLogger(): { logger: Logger; text: () => string; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString('utf8'));
      callback();
    },
  });
  return { logger: pino({ level: 'trace' }, stream), text: () => lines.join(''), lines };
}

export const neverAborted = (): AbortSignal => new AbortController().signal;

/** The rejection of a promise that must reject. */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected a rejection');
}
