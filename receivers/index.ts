import type { ReceiverFactory } from '../core/component';
import { eventsReceiverFactory } from './events/factory';
import { jsonapiReceiverFactory } from './jsonapi/factory';
import { kafkaReceiverFactory } from './kafka/factory';
import { logsReceiverFactory } from './logs/factory';
import { nativeReceiverFactory } from './native/factory';
import { otlpReceiverFactory } from './otlp/factory';
import { proxyReceiverFactory } from './proxy/factory';
import { webhookReceiverFactory } from './webhook/factory';

export const receiverFactories: readonly ReceiverFactory[] = [otlpReceiverFactory, eventsReceiverFactory, logsReceiverFactory, nativeReceiverFactory, webhookReceiverFactory, jsonapiReceiverFactory, kafkaReceiverFactory, proxyReceiverFactory];
