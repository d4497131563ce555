import type { ProcessorFactory } from '../core/component';
import { alertProcessorFactory } from './alert/factory';
import { enrichProcessorFactory } from './enrich/factory';
import { evaluateRulesProcessorFactory } from './evaluate_rules/factory';
import { redactProcessorFactory } from './redact/factory';

export const processorFactories: readonly ProcessorFactory[] = [redactProcessorFactory, enrichProcessorFactory, evaluateRulesProcessorFactory, alertProcessorFactory];
