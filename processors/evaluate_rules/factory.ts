import type { ProcessorFactory } from '../../core/component';
import { evaluateRulesProcessorConfigSchema } from './config';
import { EvaluateRulesProcessor } from './evaluate-rules-processor';

export const evaluateRulesProcessorFactory: ProcessorFactory<typeof evaluateRulesProcessorConfigSchema> = {
  type: 'evaluate_rules',
  kind: 'processor',
  stability: 'alpha',
  summary: 'Gives AI spans a verdict (pass, flagged, error) from configured rules and agent-run detections, and posts it to log callbacks.',
  configSchema: evaluateRulesProcessorConfigSchema,
  createProcessor: (config, settings, next) => new EvaluateRulesProcessor(config, settings, next),
};
