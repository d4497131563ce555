import type { ExporterFactory } from '../core/component';
import { clickhouseExporterFactory } from './clickhouse/factory';
import { debugExporterFactory } from './debug/factory';

export const exporterFactories: readonly ExporterFactory[] = [clickhouseExporterFactory, debugExporterFactory];
