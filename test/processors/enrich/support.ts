import { silentLogger } from '../../../core/logger';
import { makeSpan } from '../../../core/span';
import type { Attributes, Resource, Span, SpanBatch } from '../../../core/span';
import { Telemetry } from '../../../core/telemetry';
import { enrichProcessorConfigSchema } from '../../../processors/enrich/config';
import { enrichProcessorFactory } from '../../../processors/enrich/factory';

let spanCounter = 0;

export function llmSpan(attributes: Attributes, fields: { name?: string; resource?: Resource } = {}): Span {
  spanCounter += 1;
  return makeSpan({
    traceId: 'ab'.repeat(16),
    spanId: spanCounter.toString(16).padStart(16, '0'),
    name: fields.name ?? 'llm call',
    attributes,
    ...(fields.resource ? { resource: fields.resource } : {}),
  });
}

export function resource(attributes: Attributes): Resource {
  return { attributes, droppedAttributesCount: 0, schemaUrl: '' };
}

export interface Harness {
  /** Sends spans through a real enrich processor and returns the batch its next consumer got. */
  run(spans: SpanBatch): Promise<SpanBatch>;
  one(span: Span): Promise<Span>;
  /** Value of tracehouse_processor_events_total for this event and kind (0 when never counted). */
  events(event: string, kind?: string): Promise<number>;
  /** The whole Prometheus exposition, as /metrics serves it. */
  metrics(): Promise<string>;
}

export function harness(config: unknown = {}): Harness {
  const telemetry = new Telemetry();
  const received: SpanBatch[] = [];
  const processor = enrichProcessorFactory.createProcessor(
    enrichProcessorConfigSchema.parse(config),
    { id: 'enrich', logger: silentLogger(), telemetry: telemetry.forProcessor('enrich') },
    { consume: async (batch) => void received.push(batch) },
  );
  const run = async (spans: SpanBatch) => {
    await processor.consume(spans, new AbortController().signal);
    return received[received.length - 1];
  };
  return {
    run,
    one: async (span) => (await run([span]))[0],
    events: async (event, kind = '') => {
      const metric = await telemetry.registry.getSingleMetric('tracehouse_processor_events_total')?.get();
      const value = metric?.values.find((v) => v.labels.event === event && v.labels.kind === kind && v.labels.processor === 'enrich');
      return value?.value ?? 0;
    },
    metrics: () => telemetry.metricsText(),
  };
}
