import { makeSpan } from '../core/span';
import type { Resource, Span } from '../core/span';
import { Placeholders } from './request-template';

/** Spans in one benchmark request, as the daemon-core issue specifies. */
export const SPANS_PER_REQUEST = 100;

/** Salt of this shape's ids (see Placeholders). */
export const GEN_AI_SALT = 0x6a1;

/** A text of exactly `length` characters that ends in a request stamp (`ticket 9000…`). */
export function stampedText(base: string, stamp: string, length: number): string {
  const tail = ` (ticket ${stamp})`;
  return base.repeat(Math.ceil(length / base.length)).slice(0, length - tail.length) + tail;
}

/**
 * The benchmark payload: one request of 100 LLM spans carrying gen_ai attributes (a 200-character
 * prompt, token counts, model, provider), as ten traces of ten spans (an agent run with its calls)
 * sharing one resource. Request n holds spans 100n..100n+99 and traces 10n..10n+9; the ids and the
 * 12-digit stamp in each prompt are placeholders that `compileTemplate` overwrites per request.
 */
export function buildGenAiSpans(ids = new Placeholders(GEN_AI_SALT)): Span[] {
  const resource: Resource = {
    attributes: { 'service.name': 'bench-llm-app', 'deployment.environment': 'bench' },
    droppedAttributesCount: 0,
    schemaUrl: '',
  };
  const prompt = 'Summarize the following support ticket in two sentences and list the action items. ';
  const spans: Span[] = [];
  for (let i = 0; i < SPANS_PER_REQUEST; i++) {
    const trace = Math.floor(i / 10);
    const root = trace * 10;
    const start = 1_763_900_000_000_000_000n + BigInt(i) * 1_000_000n;
    spans.push(
      makeSpan({
        traceId: ids.traceId(trace, (n) => 10 * n + trace),
        spanId: ids.spanId(i, (n) => 100 * n + i),
        parentSpanId: i === root ? '' : ids.spanId(root, (n) => 100 * n + root),
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
          // Every prompt is new (the stamp is the span's number): the same input again in a run
          // would be an agent loop, which evaluate_rules flags with an extra record row, and the
          // same text in every request would let any cache make it free.
          'gen_ai.prompt': stampedText(prompt, ids.stamp((n) => 100 * n + i), 200),
          'tracehouse.workspace': 'bench',
        },
      }),
    );
  }
  return spans;
}
