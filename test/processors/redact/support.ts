import type { SpanConsumer } from '../../../core/component';
import type { Logger } from '../../../core/logger';
import { silentLogger } from '../../../core/logger';
import { makeSpan } from '../../../core/span';
import type { AttributeValue, Span, SpanBatch } from '../../../core/span';
import { Telemetry } from '../../../core/telemetry';
import { redactProcessorFactory } from '../../../processors/redact/factory';

export interface RedactHarness {
  /** Runs one batch through the processor and returns what it handed downstream. */
  run(batch: SpanBatch): Promise<SpanBatch>;
  telemetry: Telemetry;
  shutdown(): Promise<void>;
}

/** A redact processor built from a raw (unparsed) config, feeding a recording consumer. */
export function createRedact(config: unknown = {}, logger: Logger = silentLogger()): RedactHarness {
  const telemetry = new Telemetry();
  let last: SpanBatch | undefined;
  const next: SpanConsumer = {
    consume: async (batch) => {
      last = batch;
    },
  };
  const processor = redactProcessorFactory.createProcessor(
    redactProcessorFactory.configSchema.parse(config),
    { id: 'redact', logger, telemetry: telemetry.forProcessor('redact') },
    next,
  );
  const signal = new AbortController().signal;
  return {
    telemetry,
    run: async (batch) => {
      last = undefined;
      await processor.consume(batch, signal);
      if (last === undefined) throw new Error('the processor did not pass the batch on');
      return last;
    },
    shutdown: () => processor.shutdown(),
  };
}

let nextSpanId = 1;

export function span(fields: Partial<Span> = {}): Span {
  return makeSpan({
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: (nextSpanId++).toString(16).padStart(16, '0'),
    name: 'chat gpt-4o',
    ...fields,
  });
}

/** The `msg` attribute after redaction (undefined when it was dropped). */
export async function redactText(text: string, config: unknown = {}): Promise<AttributeValue | undefined> {
  const [out] = await createRedact(config).run([span({ attributes: { msg: text } })]);
  return out.attributes.msg;
}

/** The value of a counter line in /metrics text, or undefined when absent. */
export function metric(text: string, labels: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`tracehouse_processor_events_total{${labels}}`));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}
