/**
 * What a gateway and the rules that judge LLM calls share about the providers' wire formats: which
 * API a call speaks, the usage it reports (by the project's token rule: cached input inside
 * input tokens, reasoning inside output tokens), its output as GenAI messages, and the provider's
 * error envelopes.
 */
import type { GenAiMessage } from '../genai-messages';

/** The APIs a call can speak. */
export type LlmApi = 'chat' | 'responses' | 'completions' | 'embeddings' | 'messages';

/** The wire family of an upstream. */
export type ProviderKind = 'openai' | 'anthropic' | 'openai_compatible';

/** The gen_ai.operation.name of each API (Responses and Messages are chat calls). */
export const OPERATION_OF: Record<LlmApi, string> = {
  chat: 'chat',
  responses: 'chat',
  messages: 'chat',
  completions: 'text_completion',
  embeddings: 'embeddings',
};

/** Token counts by the project's rule: input includes cached (read and written), output includes reasoning. */
export interface LlmUsage {
  input?: number;
  output?: number;
  cacheRead?: number;
  cacheWrite?: number;
  reasoning?: number;
}

/** The error a provider answered, as its envelope says. */
export interface LlmError {
  message: string;
  type?: string;
  code?: string;
}

/** What one call produced, as far as it got. */
export interface LlmOutcome {
  responseId?: string;
  responseModel?: string;
  usage?: LlmUsage;
  /** Per choice (Chat, Completions) or one for the call. */
  finishReasons: string[];
  /** The Responses API status (completed, incomplete, failed) or the like. */
  status?: string;
  output: GenAiMessage[];
  /** Milliseconds (performance.now()) of the first content delta of a stream. */
  firstContentAt?: number;
  /** An error event in the stream, or the error envelope of an error answer. */
  error?: LlmError;
  /** True once output (a content delta) has been seen. */
  hasContent: boolean;
  /** The stream reached its documented end ([DONE], response.completed, message_stop). */
  complete: boolean;
  /**
   * The usage is the call's final count even if the stream ends early: Chat's usage chunk (no
   * choices, sent last), a Responses terminal event, Anthropic's message_delta with its stop reason.
   */
  usageFinal?: boolean;
}

export function emptyOutcome(): LlmOutcome {
  return { finishReasons: [], output: [], hasContent: false, complete: false };
}

export type Json = Record<string, unknown>;

export function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/** OpenAI's usage object (Chat, Completions, Embeddings: prompt_tokens; Responses: input_tokens). */
export function openaiUsage(usage: unknown): LlmUsage | undefined {
  if (!isRecord(usage)) return undefined;
  const input = count(usage.prompt_tokens) ?? count(usage.input_tokens);
  const output = count(usage.completion_tokens) ?? count(usage.output_tokens);
  const inDetails = isRecord(usage.prompt_tokens_details) ? usage.prompt_tokens_details : isRecord(usage.input_tokens_details) ? usage.input_tokens_details : {};
  const outDetails = isRecord(usage.completion_tokens_details) ? usage.completion_tokens_details : isRecord(usage.output_tokens_details) ? usage.output_tokens_details : {};
  if (input === undefined && output === undefined) return undefined;
  const out: LlmUsage = {};
  if (input !== undefined) out.input = input;
  // Embeddings report no output: none is spent.
  out.output = output ?? 0;
  const cached = count(inDetails.cached_tokens);
  if (cached !== undefined) out.cacheRead = cached;
  const reasoning = count(outDetails.reasoning_tokens);
  if (reasoning !== undefined) out.reasoning = reasoning;
  return out;
}

/**
 * Anthropic's usage: input_tokens leaves cache reads and writes out, so they are added to input;
 * output_tokens is cumulative in message_delta. `previous` is what message_start said.
 */
export function anthropicUsage(usage: unknown, previous?: LlmUsage): LlmUsage | undefined {
  if (!isRecord(usage)) return previous;
  const out: LlmUsage = { ...previous };
  const base = count(usage.input_tokens);
  const read = count(usage.cache_read_input_tokens);
  const write = count(usage.cache_creation_input_tokens);
  if (base !== undefined || read !== undefined || write !== undefined) {
    const prevRead = previous?.cacheRead ?? 0;
    const prevWrite = previous?.cacheWrite ?? 0;
    const prevBase = (previous?.input ?? 0) - prevRead - prevWrite;
    const r = read ?? prevRead;
    const w = write ?? prevWrite;
    out.input = (base ?? prevBase) + r + w;
    if (r > 0 || read !== undefined) out.cacheRead = r;
    if (w > 0 || write !== undefined) out.cacheWrite = w;
  }
  const output = count(usage.output_tokens);
  if (output !== undefined) out.output = output;
  return out;
}

/** The error of an OpenAI-style ({"error": {...}}) or Anthropic-style ({"type": "error", "error": {...}}) body. */
export function errorOf(body: unknown): LlmError | undefined {
  if (!isRecord(body)) return undefined;
  const err = body.error;
  if (isRecord(err)) {
    return { message: str(err.message) ?? 'error', type: str(err.type), code: str(err.code) ?? (typeof err.code === 'number' ? String(err.code) : undefined) };
  }
  if (typeof err === 'string') return { message: err };
  return undefined;
}

/** An error answer in the wire format of the API the client spoke. */
export function errorEnvelope(api: LlmApi | 'openai', error: { message: string; type: string; code: string }): unknown {
  if (api === 'messages') return { type: 'error', error: { type: error.type, message: error.message } };
  return { error: { message: error.message, type: error.type, param: null, code: error.code } };
}
