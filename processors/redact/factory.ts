import type { ProcessorFactory } from '../../core/component';
import { redactProcessorConfigSchema } from './config';
import { RedactProcessor } from './redact-processor';

export const redactProcessorFactory: ProcessorFactory<typeof redactProcessorConfigSchema> = {
  type: 'redact',
  kind: 'processor',
  stability: 'beta',
  summary: 'Masks, hashes or drops personal data and secrets (emails, phones, cards, IBANs, API keys, ...) in span strings.',
  configSchema: redactProcessorConfigSchema,
  createProcessor: (config, settings, next) => new RedactProcessor(config, settings, next),
};
