/** Spans for the kafka exporter tests: whole traces with GenAI attributes and unique ids. */
import { randomBytes } from 'node:crypto';
import { makeSpan, type Resource, type Span } from '../../../core/span';

const resource: Resource = {
  attributes: { 'service.name': 'kafka-exporter-test', 'deployment.environment.name': 'test' },
  droppedAttributesCount: 0,
  schemaUrl: '',
};
const scope = { name: 'kafka-test', version: '1.0.0', attributes: {}, droppedAttributesCount: 0 };

export const hex = (bytes: number): string => randomBytes(bytes).toString('hex');

/** `traces` traces of `spansPerTrace` spans each; `promptBytes` pads each span's prompt. */
export function traceSpans(traces: number, spansPerTrace: number, promptBytes = 40): Span[] {
  const spans: Span[] = [];
  for (let t = 0; t < traces; t++) {
    const traceId = hex(16);
    const rootId = hex(8);
    for (let s = 0; s < spansPerTrace; s++) {
      spans.push(
        makeSpan({
          traceId,
          spanId: s === 0 ? rootId : hex(8),
          parentSpanId: s === 0 ? '' : rootId,
          name: s === 0 ? 'agent run' : `chat gpt-4o ${s}`,
          kind: 'client',
          startTimeUnixNano: 1_700_000_000_000_000_000n + BigInt(s),
          endTimeUnixNano: 1_700_000_000_500_000_000n + BigInt(s),
          attributes: {
            'gen_ai.operation.name': 'chat',
            'gen_ai.request.model': 'gpt-4o',
            'gen_ai.usage.input_tokens': 12n,
            'gen_ai.prompt': `${'p'.repeat(promptBytes)} ${s}`,
          },
          resource,
          scope,
        }),
      );
    }
  }
  return spans;
}

/** "traceId/spanId" of each span, sorted, to compare what went in with what came out. */
export function spanKeys(spans: readonly Pick<Span, 'traceId' | 'spanId'>[]): string[] {
  return spans.map((s) => `${s.traceId}/${s.spanId}`).sort();
}
