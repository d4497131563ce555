import type { ExporterFactory } from '../core/component';
import { clickhouseExporterFactory } from './clickhouse/factory';
import { debugExporterFactory } from './debug/factory';
import { kafkaExporterFactory } from './kafka/factory';

export const exporterFactories: readonly ExporterFactory[] = [clickhouseExporterFactory, debugExporterFactory, kafkaExporterFactory];
