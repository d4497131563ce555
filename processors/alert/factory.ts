import type { ProcessorFactory } from '../../core/component';
import { AlertProcessor } from './alert-processor';
import { alertProcessorConfigSchema } from './config';

export const alertProcessorFactory: ProcessorFactory<typeof alertProcessorConfigSchema> = {
  type: 'alert',
  kind: 'processor',
  stability: 'alpha',
  summary: 'Raises incidents from per-span and windowed (ClickHouse) alert rules and notifies Slack, webhooks and email.',
  configSchema: alertProcessorConfigSchema,
  createProcessor: (config, settings, next) => new AlertProcessor(config, settings, next),
};
