import { Exchange, Step, sseEvent } from './exchange';
import { splitPieces } from './types';

/** The Anthropic Messages API: POST /v1/messages (JSON and SSE) and GET /v1/models, with its error envelope. */

export function anthropicHeaders(ex: Exchange, rateLimited = false): Record<string, string> {
  return {
    'request-id': `req_fake_${ex.record.seq}`,
    'anthropic-ratelimit-requests-limit': '4000',
    'anthropic-ratelimit-requests-remaining': rateLimited ? '0' : '3999',
    'anthropic-ratelimit-tokens-limit': '400000',
    'anthropic-ratelimit-tokens-remaining': rateLimited ? '0' : '399000',
  };
}

const TYPES: Record<number, [string, string]> = {
  400: ['invalid_request_error', 'Invalid request.'],
  401: ['authentication_error', 'invalid x-api-key'],
  402: ['billing_error', 'Your credit balance is too low to access the Anthropic API.'],
  403: ['permission_error', 'Your API key does not have permission to use the specified resource.'],
  404: ['not_found_error', 'Not found'],
  413: ['request_too_large', 'Request exceeds the maximum allowed number of bytes.'],
  429: ['rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit.'],
  500: ['api_error', 'Internal server error'],
  504: ['timeout_error', 'Request timed out'],
  529: ['overloaded_error', 'Overloaded'],
};

/** `{"type":"error","error":{"type","message"}}`. */
export function anthropicErrorBody(ex: Exchange, status: number, message?: string) {
  const [type, text] = TYPES[status] ?? (status >= 500 ? TYPES[500] : TYPES[400]);
  return { type: 'error', error: { type: ex.b.errorType ?? type, message: message ?? ex.b.errorMessage ?? text } };
}

export function sendAnthropicError(ex: Exchange, status: number, message?: string): void {
  const headers = anthropicHeaders(ex, status === 429);
  if (ex.b.retryAfter !== undefined) headers['retry-after'] = ex.b.retryAfter;
  ex.sendJson(status, headers, anthropicErrorBody(ex, status, message));
}

const STOP: Record<string, string> = { stop: 'end_turn', length: 'max_tokens', tool_calls: 'tool_use' };

function parseInput(args: string): unknown {
  try {
    return args ? JSON.parse(args) : {};
  } catch {
    return {};
  }
}

export async function messages(ex: Exchange): Promise<void> {
  const b = ex.b;
  const body = ex.record.body ?? {};
  const seq = ex.record.seq;
  const model = b.model ?? (typeof body.model === 'string' && body.model ? body.model : 'fake-model');
  const stopReason = b.finishReason !== undefined ? (STOP[b.finishReason] ?? b.finishReason) : b.toolCalls.length ? 'tool_use' : 'end_turn';
  const toolId = (i: number) => `toolu_fake_${seq}_${i}`;
  const headers = anthropicHeaders(ex);
  const hasText = b.chunks.length > 0;
  const message = (content: unknown[], stop: string | null, usage: Record<string, number>) => ({
    id: `msg_fake_${seq}`,
    type: 'message',
    role: 'assistant',
    model,
    content,
    stop_reason: stop,
    stop_sequence: null,
    usage,
  });
  const usage = (output: number) => ({
    input_tokens: b.usage.input,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: b.usage.cached,
    output_tokens: output,
  });

  if (body.stream !== true) {
    const content: unknown[] = [];
    if (hasText) content.push({ type: 'text', text: b.chunks.join('') });
    b.toolCalls.forEach((t, i) => content.push({ type: 'tool_use', id: toolId(i), name: t.name, input: parseInput(t.arguments) }));
    return ex.answerJson(headers, message(content, stopReason, usage(b.usage.output)));
  }

  const steps: Step[] = [];
  const add = (kind: Step['kind'], type: string, fields: Record<string, unknown>) => steps.push({ kind, data: sseEvent(type, { type, ...fields }) });
  add('pre', 'message_start', { message: message([], null, usage(Math.min(1, b.usage.output))) });
  let index = 0;
  if (hasText) {
    add('pre', 'content_block_start', { index, content_block: { type: 'text', text: '' } });
    add('pre', 'ping', {});
    for (const piece of b.chunks) add('delta', 'content_block_delta', { index, delta: { type: 'text_delta', text: piece } });
    add('mid', 'content_block_stop', { index });
    index += 1;
  } else {
    add('pre', 'ping', {});
  }
  b.toolCalls.forEach((t, i) => {
    add('mid', 'content_block_start', { index, content_block: { type: 'tool_use', id: toolId(i), name: t.name, input: {} } });
    for (const piece of splitPieces(t.arguments, b.toolArgumentChunkSize)) {
      add('delta', 'content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: piece } });
    }
    add('mid', 'content_block_stop', { index });
    index += 1;
  });
  add('post', 'message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: b.usage.output } });
  add('post', 'message_stop', {});
  const errorEvent = () =>
    sseEvent('error', { type: 'error', error: { type: b.errorType ?? 'overloaded_error', message: b.errorMessage ?? 'Overloaded' } });
  return ex.stream(headers, steps, errorEvent);
}

const MODELS: [string, string][] = [
  ['claude-sonnet-4-5', 'Claude Sonnet 4.5'],
  ['claude-haiku-4-5', 'Claude Haiku 4.5'],
  ['claude-opus-4-1', 'Claude Opus 4.1'],
];

/** GET /v1/models as Anthropic lists them (chosen when the request carries anthropic-version). */
export async function listModels(ex: Exchange): Promise<void> {
  const createdAt = new Date(ex.b.created * 1000).toISOString();
  const data = MODELS.map(([id, name]) => ({ type: 'model', id, display_name: name, created_at: createdAt }));
  return ex.answerJson(anthropicHeaders(ex), { data, has_more: false, first_id: data[0].id, last_id: data[data.length - 1].id });
}
