import type { ExporterFactory } from '../../core/component';
import { debugExporterConfigSchema } from './config';
import { DebugExporter } from './debug-exporter';

export const debugExporterFactory: ExporterFactory<typeof debugExporterConfigSchema> = {
  type: 'debug',
  kind: 'exporter',
  stability: 'stable',
  summary: 'Logs spans through the daemon log at a chosen verbosity (for trying pipelines out).',
  configSchema: debugExporterConfigSchema,
  createExporter: (config, settings) => new DebugExporter(config, settings),
};
