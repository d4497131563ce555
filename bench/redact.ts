/**
 * Micro-benchmark of the redact processor on one core: the benchmark payload (100 gen_ai spans,
 * 200-character prompt, one shared resource) goes through a redact processor with every default
 * detector N times. A second run adds personal data and a gen_ai.input.messages JSON attribute to
 * every tenth span, so the cost of actually replacing something shows too.
 *
 *   compile with tsc, then: node dist/bench/redact.js [iterations]
 */
import type { SpanConsumer } from '../core/component';
import { silentLogger } from '../core/logger';
import type { Span, SpanBatch } from '../core/span';
import { Telemetry } from '../core/telemetry';
import { redactProcessorFactory } from '../processors/redact/factory';
import { buildGenAiSpans, SPANS_PER_REQUEST } from './gen-ai-spans';

function withPersonalData(spans: Span[]): Span[] {
  return spans.map((span, i) =>
    i % 10 !== 0
      ? span
      : {
          ...span,
          attributes: {
            ...span.attributes,
            'gen_ai.input.messages': JSON.stringify([
              { role: 'system', content: 'You are a support assistant.' },
              { role: 'user', content: `I am jane.doe${i}@example.com, call me on +44 20 7946 0958 about card 4111 1111 1111 1111.` },
            ]),
            'enduser.id': `user-${i}@example.org`,
          },
        },
  );
}

async function measure(label: string, iterations: number, batch: SpanBatch): Promise<string> {
  const next: SpanConsumer = { consume: async () => {} };
  const processor = redactProcessorFactory.createProcessor(
    redactProcessorFactory.configSchema.parse({}),
    { id: 'redact', logger: silentLogger(), telemetry: new Telemetry().forProcessor('redact') },
    next,
  );
  const signal = new AbortController().signal;
  // Warm-up lets the JIT settle before timing.
  for (let i = 0; i < Math.min(2000, iterations); i++) await processor.consume(batch, signal);
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) await processor.consume(batch, signal);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const spans = iterations * batch.length;
  return `${label}: ${Math.round(spans / seconds).toLocaleString('en-US')} spans/s (${((seconds * 1e6) / iterations).toFixed(1)} µs/request)`;
}

export async function main(iterations = Number(process.argv[2] ?? 20000)): Promise<void> {
  const spans = buildGenAiSpans();
  const lines = [
    `redact processor, all default detectors, ${SPANS_PER_REQUEST} gen_ai spans/request, ${iterations} iterations`,
    await measure('benchmark payload (nothing to redact)', iterations, spans),
    await measure('every 10th span with an email, phone and card in JSON messages', iterations, withPersonalData(spans)),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

if (require.main === module) void main();
