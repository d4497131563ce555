import type { ExporterFactory } from '../../core/component';
import { kafkaExporterConfigSchema } from './config';
import { KafkaExporter } from './kafka-exporter';

export const kafkaExporterFactory: ExporterFactory<typeof kafkaExporterConfigSchema> = {
  type: 'kafka',
  kind: 'exporter',
  stability: 'beta',
  summary:
    'Writes spans to a Kafka topic as OTLP ExportTraceServiceRequest messages keyed by trace id (the Collector\'s topic format), acknowledged by the brokers before consume resolves.',
  configSchema: kafkaExporterConfigSchema,
  createExporter: (config, settings) => new KafkaExporter(config, settings),
};
