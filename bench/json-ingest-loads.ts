/**
 * Request bodies for the JSON ingest routes in `npm run bench`: an OpenAI Agents SDK export of 100
 * spans (one trace: an agent run with generations and tool calls, as the SDK batches them) and an
 * AITracer-style single LLM call on /api/traces. Ids, prompts and completions carry the request
 * number, so every span and every text is new.
 */
export const AGENTS_SPANS_PER_REQUEST = 100;

const prompt = 'Summarize the following support ticket in two sentences and list the action items. '.repeat(3).slice(0, 200);

export function agentsExportBody(n: number): Buffer {
  const hex = n.toString(16).padStart(8, '0');
  const traceId = `trace_${'ab'.repeat(12)}${hex}`;
  const spanId = (i: number) => `span_${hex}${'cd'.repeat(6)}${i.toString(16).padStart(4, '0')}`;
  const data: unknown[] = [{ object: 'trace', id: traceId, workflow_name: 'Support agent', group_id: `conv_${hex}`, metadata: null }];
  const at = (ms: number) => new Date(1_763_900_000_000 + ms).toISOString();
  data.push({ object: 'trace.span', id: spanId(0), trace_id: traceId, parent_id: null, started_at: at(0), ended_at: at(9_000), span_data: { type: 'agent', name: 'Support agent', tools: ['lookup_order'], handoffs: [] }, error: null });
  for (let i = 1; i < AGENTS_SPANS_PER_REQUEST - 1; i++) {
    const span_data =
      i % 2 === 1
        ? {
            type: 'generation',
            model: 'gpt-4o-mini',
            input: [{ role: 'user', content: `${prompt} (ticket ${n}, turn ${i})` }],
            output: [{ role: 'assistant', content: `Ticket ${n}: customer asks for a refund; action: issue refund.` }],
            usage: { input_tokens: 412, output_tokens: 96 },
          }
        : { type: 'function', name: 'lookup_order', input: `{"order_id":"A-${1000 + i}"}`, output: '{"status":"shipped"}' };
    data.push({ object: 'trace.span', id: spanId(i), trace_id: traceId, parent_id: spanId(0), started_at: at(i * 80), ended_at: at(i * 80 + 70), span_data, error: null });
  }
  return Buffer.from(JSON.stringify({ data }));
}

export function nativeTraceBody(n: number): Buffer {
  return Buffer.from(
    JSON.stringify({
      actionName: 'support-reply',
      environment: 'bench',
      status: 'completed',
      requestId: `req_bench_${n}`,
      model: 'gpt-4o-mini',
      prompt: `${prompt} (ticket ${n})`,
      response: `Ticket ${n}: customer asks for a refund; action: issue refund.`,
      metrics: { promptTokens: 412, completionTokens: 96, totalTokens: 508, latencyMs: 850, estimatedCostUsd: 0.00012, finishReason: 'stop' },
    }),
  );
}

/** A log-evaluation API record (POST /api/logs): one LLM output with its input, keyed by its id. */
export function logBody(n: number): Buffer {
  return Buffer.from(
    JSON.stringify({
      id: `log_bench_${n}`,
      project: 'support-bot',
      task: 'support-reply',
      model: 'gpt-4o-mini',
      input: `${prompt} (ticket ${n})`,
      output: `Ticket ${n}: customer asks for a refund; action: issue refund.`,
      latencyMs: 850,
      costUsd: 0.00012,
      metadata: { sessionId: `conv_${n % 1000}`, tags: ['bench'] },
    }),
  );
}
