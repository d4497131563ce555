import type { ProcessorFactory } from '../core/component';
import { enrichProcessorFactory } from './enrich/factory';

export const processorFactories: readonly ProcessorFactory[] = [enrichProcessorFactory];
