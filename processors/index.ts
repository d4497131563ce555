import type { ProcessorFactory } from '../core/component';

export const processorFactories: readonly ProcessorFactory[] = [];
