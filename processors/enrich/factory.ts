import type { ProcessorFactory } from '../../core/component';
import { enrichProcessorConfigSchema } from './config';
import { EnrichProcessor } from './enrich-processor';

export const enrichProcessorFactory: ProcessorFactory<typeof enrichProcessorConfigSchema> = {
  type: 'enrich',
  kind: 'processor',
  stability: 'beta',
  summary: 'Maps LLM tracing conventions onto the OpenTelemetry GenAI attributes, counts tokens one way, and prices each call.',
  configSchema: enrichProcessorConfigSchema,
  createProcessor: (config, settings, next) => new EnrichProcessor(config, settings, next),
};
