import { makeSpan } from '../core/span';
import type { Resource, Span } from '../core/span';

/** Spans in one benchmark request, as the daemon-core issue specifies. */
export const SPANS_PER_REQUEST = 100;

/**
 * The benchmark payload: one request of 100 LLM spans carrying gen_ai attributes (a 200-character
 * prompt, token counts, model, provider), as ten traces of ten spans (an agent run with its calls)
 * sharing one resource.
 */
export function buildGenAiSpans(): Span[] {
  const resource: Resource = {
    attributes: { 'service.name': 'bench-llm-app', 'deployment.environment': 'bench' },
    droppedAttributesCount: 0,
    schemaUrl: '',
  };
  const prompt = 'Summarize the following support ticket in two sentences and list the action items. '.repeat(3).slice(0, 200);
  const spans: Span[] = [];
  for (let i = 0; i < SPANS_PER_REQUEST; i++) {
    const trace = Math.floor(i / 10);
    const start = 1_763_900_000_000_000_000n + BigInt(i) * 1_000_000n;
    spans.push(
      makeSpan({
        traceId: `${'ab'.repeat(14)}${trace.toString(16).padStart(4, '0')}`,
        spanId: `${'cd'.repeat(6)}${i.toString(16).padStart(4, '0')}`,
        parentSpanId: i % 10 === 0 ? '' : `${'cd'.repeat(6)}${(trace * 10).toString(16).padStart(4, '0')}`,
        name: 'chat gpt-4o-mini',
        kind: 'client',
        startTimeUnixNano: start,
        endTimeUnixNano: start + 850_000_000n,
        resource,
        attributes: {
          'gen_ai.operation.name': 'chat',
          'gen_ai.provider.name': 'openai',
          'gen_ai.request.model': 'gpt-4o-mini',
          'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
          'gen_ai.usage.input_tokens': 412n,
          'gen_ai.usage.output_tokens': 96n,
          // Each call of a run has its own input: the same input again would be an agent loop,
          // which evaluate_rules flags with an extra record row.
          'gen_ai.prompt': `${prompt.slice(0, 190)} (step ${i % 10})`,
          'tracehouse.workspace': 'bench',
        },
      }),
    );
  }
  return spans;
}
