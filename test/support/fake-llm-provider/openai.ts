import { createHash } from 'node:crypto';
import { Exchange, Step, sseData, sseEvent } from './exchange';
import { Resolved, splitPieces } from './types';

/**
 * The OpenAI API: /v1/chat/completions, /v1/responses, /v1/completions, /v1/embeddings, /v1/models,
 * answered in its JSON and SSE formats, with its error envelope and headers.
 */

const FINGERPRINT = 'fp_fake';

export function openaiHeaders(ex: Exchange, rateLimited = false): Record<string, string> {
  return {
    'x-request-id': `req_fake_${ex.record.seq}`,
    'openai-version': '2020-10-01',
    'openai-processing-ms': String(ex.b.latencyMs),
    'x-ratelimit-limit-requests': '10000',
    'x-ratelimit-limit-tokens': '30000000',
    'x-ratelimit-remaining-requests': rateLimited ? '0' : '9999',
    'x-ratelimit-remaining-tokens': rateLimited ? '0' : '29999000',
    'x-ratelimit-reset-requests': rateLimited ? '1s' : '6ms',
    'x-ratelimit-reset-tokens': rateLimited ? '1s' : '2ms',
  };
}

function defaultError(status: number, ex: Exchange): { message: string; type: string; code: string | null } {
  const model = String(ex.record.body?.model ?? ex.b.model ?? 'fake-model');
  if (status === 401) return { message: 'Incorrect API key provided.', type: 'invalid_request_error', code: 'invalid_api_key' };
  if (status === 403) return { message: 'You are not allowed to access this resource.', type: 'invalid_request_error', code: 'permission_denied' };
  if (status === 404) {
    return { message: `The model \`${model}\` does not exist or you do not have access to it.`, type: 'invalid_request_error', code: 'model_not_found' };
  }
  if (status === 429) {
    return { message: `Rate limit reached for ${model} on requests per min (RPM): Limit 10000, Used 10000, Requested 1.`, type: 'requests', code: 'rate_limit_exceeded' };
  }
  if (status === 503) return { message: 'The engine is currently overloaded, please try again later', type: 'server_error', code: null };
  if (status >= 500) return { message: 'The server had an error while processing your request. Sorry about that!', type: 'server_error', code: null };
  return { message: 'Invalid request.', type: 'invalid_request_error', code: null };
}

/** `{"error":{"message","type","param","code"}}`. */
export function openaiErrorBody(ex: Exchange, status: number, override?: { message?: string; type?: string; code?: string | null; param?: string | null }) {
  const d = defaultError(status, ex);
  return {
    error: {
      message: override?.message ?? ex.b.errorMessage ?? d.message,
      type: override?.type ?? ex.b.errorType ?? d.type,
      param: override?.param ?? null,
      code: override?.code !== undefined ? override.code : d.code,
    },
  };
}

export function sendOpenaiError(ex: Exchange, status: number, override?: Parameters<typeof openaiErrorBody>[2]): void {
  const headers = openaiHeaders(ex, status === 429);
  if (ex.b.retryAfter !== undefined) headers['retry-after'] = ex.b.retryAfter;
  ex.sendJson(status, headers, openaiErrorBody(ex, status, override));
}

function modelOf(ex: Exchange, fallback = 'fake-model'): string {
  const m = ex.b.model ?? ex.record.body?.model;
  return typeof m === 'string' && m ? m : fallback;
}

function midStreamError(ex: Exchange) {
  return { error: { message: ex.b.errorMessage ?? 'The server had an error while processing your request. Sorry about that!', type: ex.b.errorType ?? 'server_error', param: null, code: null } };
}

function chatUsage(b: Resolved) {
  return {
    prompt_tokens: b.usage.input,
    completion_tokens: b.usage.output,
    total_tokens: b.usage.input + b.usage.output,
    prompt_tokens_details: { cached_tokens: b.usage.cached, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: b.usage.reasoning, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

function toolCallId(seq: number, i: number): string {
  return `call_fake_${seq}_${i}`;
}

export async function chatCompletions(ex: Exchange): Promise<void> {
  const b = ex.b;
  const body = ex.record.body ?? {};
  const seq = ex.record.seq;
  const id = `chatcmpl-fake-${seq}`;
  const model = modelOf(ex);
  const finish = b.finishReason ?? (b.toolCalls.length ? 'tool_calls' : 'stop');
  const text = b.chunks.join('');
  const headers = openaiHeaders(ex);

  if (body.stream !== true) {
    const message: Record<string, unknown> = { role: 'assistant', content: b.chunks.length ? text : null, refusal: null, annotations: [] };
    if (b.toolCalls.length) {
      message.tool_calls = b.toolCalls.map((t, i) => ({ id: toolCallId(seq, i), type: 'function', function: { name: t.name, arguments: t.arguments } }));
    }
    return ex.answerJson(headers, {
      id,
      object: 'chat.completion',
      created: b.created,
      model,
      choices: [{ index: 0, message, logprobs: null, finish_reason: finish }],
      usage: chatUsage(b),
      service_tier: 'default',
      system_fingerprint: FINGERPRINT,
    });
  }

  const includeUsage = body.stream_options?.include_usage === true;
  const chunk = (choices: unknown[], usage?: unknown) => {
    const c: Record<string, unknown> = { id, object: 'chat.completion.chunk', created: b.created, model, service_tier: 'default', system_fingerprint: FINGERPRINT, choices };
    if (includeUsage) c.usage = usage ?? null;
    return sseData(c);
  };
  const choice = (delta: unknown, finishReason: string | null = null) => ({ index: 0, delta, logprobs: null, finish_reason: finishReason });

  const steps: Step[] = [{ kind: 'pre', data: chunk([choice({ role: 'assistant', content: b.chunks.length ? '' : null, refusal: null })]) }];
  for (const piece of b.chunks) steps.push({ kind: 'delta', data: chunk([choice({ content: piece })]) });
  b.toolCalls.forEach((t, i) => {
    steps.push({ kind: 'mid', data: chunk([choice({ tool_calls: [{ index: i, id: toolCallId(seq, i), type: 'function', function: { name: t.name, arguments: '' } }] })]) });
    for (const piece of splitPieces(t.arguments, b.toolArgumentChunkSize)) {
      steps.push({ kind: 'delta', data: chunk([choice({ tool_calls: [{ index: i, function: { arguments: piece } }] })]) });
    }
  });
  steps.push({ kind: 'post', data: chunk([choice({}, finish)]) });
  if (includeUsage) steps.push({ kind: 'post', data: chunk([], chatUsage(b)) });
  steps.push({ kind: 'post', data: sseData('[DONE]') });
  return ex.stream(headers, steps, () => sseData(midStreamError(ex)));
}

export async function completions(ex: Exchange): Promise<void> {
  const b = ex.b;
  const body = ex.record.body ?? {};
  const id = `cmpl-fake-${ex.record.seq}`;
  const model = modelOf(ex);
  const finish = b.finishReason ?? 'stop';
  const usage = { prompt_tokens: b.usage.input, completion_tokens: b.usage.output, total_tokens: b.usage.input + b.usage.output };
  const headers = openaiHeaders(ex);
  const obj = (choices: unknown[], extra: Record<string, unknown> = {}) => ({
    id,
    object: 'text_completion',
    created: b.created,
    model,
    system_fingerprint: FINGERPRINT,
    choices,
    ...extra,
  });
  const choice = (text: string, finishReason: string | null) => ({ text, index: 0, logprobs: null, finish_reason: finishReason });

  if (body.stream !== true) return ex.answerJson(headers, obj([choice(b.chunks.join(''), finish)], { usage }));

  const includeUsage = body.stream_options?.include_usage === true;
  const withUsage = (u: unknown): Record<string, unknown> => (includeUsage ? { usage: u } : {});
  const steps: Step[] = b.chunks.map((piece) => ({ kind: 'delta' as const, data: sseData(obj([choice(piece, null)], withUsage(null))) }));
  steps.push({ kind: 'post', data: sseData(obj([choice('', finish)], withUsage(null))) });
  if (includeUsage) steps.push({ kind: 'post', data: sseData(obj([], { usage })) });
  steps.push({ kind: 'post', data: sseData('[DONE]') });
  return ex.stream(headers, steps, () => sseData(midStreamError(ex)));
}

export async function responses(ex: Exchange): Promise<void> {
  const b = ex.b;
  const body = ex.record.body ?? {};
  const seq = ex.record.seq;
  const model = modelOf(ex);
  const headers = openaiHeaders(ex);
  const reason = b.finishReason ?? 'stop';
  const status = reason === 'failed' ? 'failed' : reason === 'length' || reason === 'max_output_tokens' || reason === 'content_filter' ? 'incomplete' : 'completed';
  const text = b.chunks.join('');
  const msgId = `msg_fake_${seq}_0`;
  const part = (t: string) => ({ type: 'output_text', annotations: [], logprobs: [], text: t });
  const messageItem = (itemStatus: string, t: string) => ({ id: msgId, type: 'message', status: itemStatus, content: itemStatus === 'in_progress' ? [] : [part(t)], role: 'assistant' });
  const fcItem = (i: number, itemStatus: string, args: string) => ({
    id: `fc_fake_${seq}_${i}`,
    type: 'function_call',
    status: itemStatus,
    arguments: args,
    call_id: toolCallId(seq, i),
    name: b.toolCalls[i].name,
  });
  const hasMessage = b.chunks.length > 0;
  const finalItemStatus = status === 'incomplete' ? 'incomplete' : 'completed';
  const finalOutput: unknown[] = [];
  if (hasMessage) finalOutput.push(messageItem(finalItemStatus, text));
  b.toolCalls.forEach((t, i) => finalOutput.push(fcItem(i, finalItemStatus, t.arguments)));
  const usage = {
    input_tokens: b.usage.input,
    input_tokens_details: { cached_tokens: b.usage.cached },
    output_tokens: b.usage.output,
    output_tokens_details: { reasoning_tokens: b.usage.reasoning },
    total_tokens: b.usage.input + b.usage.output,
  };
  const response = (st: string, output: unknown[], u: unknown) => ({
    id: `resp_fake_${seq}`,
    object: 'response',
    created_at: b.created,
    status: st,
    background: false,
    error: st === 'failed' ? { code: 'server_error', message: b.errorMessage ?? 'The server had an error while processing your request. Sorry about that!' } : null,
    incomplete_details: st === 'incomplete' ? { reason: reason === 'content_filter' ? 'content_filter' : 'max_output_tokens' } : null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    model,
    output,
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: body.previous_response_id ?? null,
    reasoning: { effort: body.reasoning?.effort ?? null, summary: body.reasoning?.summary ?? null },
    service_tier: 'default',
    store: body.store ?? true,
    temperature: body.temperature ?? 1,
    text: body.text ?? { format: { type: 'text' } },
    tool_choice: body.tool_choice ?? 'auto',
    tools: body.tools ?? [],
    top_p: body.top_p ?? 1,
    truncation: body.truncation ?? 'disabled',
    usage: u,
    user: body.user ?? null,
    metadata: body.metadata ?? {},
  });

  if (body.stream !== true) return ex.answerJson(headers, response(status, finalOutput, usage));

  const steps: Step[] = [];
  const add = (kind: Step['kind'], type: string, fields: Record<string, unknown>) =>
    steps.push({ kind, data: sseEvent(type, { type, sequence_number: steps.length, ...fields }) });
  add('pre', 'response.created', { response: response('in_progress', [], null) });
  add('pre', 'response.in_progress', { response: response('in_progress', [], null) });
  if (hasMessage) {
    add('pre', 'response.output_item.added', { output_index: 0, item: messageItem('in_progress', '') });
    add('pre', 'response.content_part.added', { item_id: msgId, output_index: 0, content_index: 0, part: part('') });
    for (const piece of b.chunks) add('delta', 'response.output_text.delta', { item_id: msgId, output_index: 0, content_index: 0, delta: piece, logprobs: [] });
    add('mid', 'response.output_text.done', { item_id: msgId, output_index: 0, content_index: 0, text, logprobs: [] });
    add('mid', 'response.content_part.done', { item_id: msgId, output_index: 0, content_index: 0, part: part(text) });
    add('mid', 'response.output_item.done', { output_index: 0, item: messageItem(finalItemStatus, text) });
  }
  b.toolCalls.forEach((t, i) => {
    const outputIndex = i + (hasMessage ? 1 : 0);
    const itemId = `fc_fake_${seq}_${i}`;
    add('mid', 'response.output_item.added', { output_index: outputIndex, item: fcItem(i, 'in_progress', '') });
    for (const piece of splitPieces(t.arguments, b.toolArgumentChunkSize)) {
      add('delta', 'response.function_call_arguments.delta', { item_id: itemId, output_index: outputIndex, delta: piece });
    }
    add('mid', 'response.function_call_arguments.done', { item_id: itemId, output_index: outputIndex, name: t.name, arguments: t.arguments });
    add('mid', 'response.output_item.done', { output_index: outputIndex, item: fcItem(i, finalItemStatus, t.arguments) });
  });
  add('post', `response.${status}`, { response: response(status, finalOutput, usage) });
  const errorEvent = (n: number) =>
    sseEvent('error', {
      type: 'error',
      code: b.errorType ?? 'server_error',
      message: b.errorMessage ?? 'The server had an error while processing your request. Sorry about that!',
      param: null,
      sequence_number: n,
    });
  return ex.stream(headers, steps, errorEvent);
}

/** Deterministic vectors with float32-exact components (k/1024), so base64 and float answers agree. */
function vectorFor(input: unknown, dimensions: number): number[] {
  const out: number[] = [];
  for (let block = 0; out.length < dimensions; block++) {
    const digest = createHash('sha256').update(`${JSON.stringify(input)}#${block}`).digest();
    for (let i = 0; i + 1 < digest.length && out.length < dimensions; i += 2) out.push((digest.readUInt16BE(i) % 2049) / 1024 - 1);
  }
  return out;
}

export async function embeddings(ex: Exchange): Promise<void> {
  const b = ex.b;
  const body = ex.record.body ?? {};
  const input = body.input;
  const items: unknown[] = typeof input === 'string' ? [input] : Array.isArray(input) && input.length && typeof input[0] !== 'number' ? input : [input];
  const dimensions = Number.isInteger(body.dimensions) && body.dimensions > 0 ? body.dimensions : 8;
  const base64 = body.encoding_format === 'base64';
  const data = items.map((item, index) => {
    const v = vectorFor(item, dimensions);
    const embedding = base64 ? Buffer.from(new Float32Array(v).buffer).toString('base64') : v;
    return { object: 'embedding', index, embedding };
  });
  return ex.answerJson(openaiHeaders(ex), {
    object: 'list',
    data,
    model: modelOf(ex, 'text-embedding-3-small'),
    usage: { prompt_tokens: b.usage.input, total_tokens: b.usage.input },
  });
}

const MODELS = ['gpt-4o', 'gpt-4o-mini', 'gpt-4.1', 'o3-mini', 'gpt-3.5-turbo-instruct', 'text-embedding-3-small'];

function modelObject(id: string, created: number) {
  return { id, object: 'model', created, owned_by: 'system' };
}

export async function listModels(ex: Exchange): Promise<void> {
  const ids = ex.b.model && !MODELS.includes(ex.b.model) ? [ex.b.model, ...MODELS] : MODELS;
  return ex.answerJson(openaiHeaders(ex), { object: 'list', data: ids.map((id) => modelObject(id, ex.b.created)) });
}

export async function retrieveModel(ex: Exchange, id: string): Promise<void> {
  if (!MODELS.includes(id) && id !== ex.b.model) {
    return sendOpenaiError(ex, 404, { message: `The model '${id}' does not exist`, code: 'model_not_found', param: 'model' });
  }
  return ex.answerJson(openaiHeaders(ex), modelObject(id, ex.b.created));
}
