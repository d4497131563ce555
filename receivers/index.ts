import type { ReceiverFactory } from '../core/component';
import { otlpReceiverFactory } from './otlp/factory';

export const receiverFactories: readonly ReceiverFactory[] = [otlpReceiverFactory];
