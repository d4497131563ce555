import type { ExporterFactory } from '../../core/component';
import { clickhouseExporterConfigSchema } from './config';
import { ClickhouseExporter } from './exporter';

export const clickhouseExporterFactory: ExporterFactory<typeof clickhouseExporterConfigSchema> = {
  type: 'clickhouse',
  kind: 'exporter',
  stability: 'beta',
  summary:
    'Writes spans to ClickHouse (a server over HTTP, or the embedded engine) in an otel_traces-compatible table with typed AI columns.',
  configSchema: clickhouseExporterConfigSchema,
  createExporter: (config, settings) => new ClickhouseExporter(config, settings),
};
