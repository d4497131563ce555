/**
 * The knobs of the fake LLM provider and what it records. The fields of the contract (used by the
 * proxy receiver's tests) are kept exactly; fields marked "extension" were added on top.
 */

export interface FakeBehaviour {
  /** Milliseconds before the status line and headers are sent (or, with dropBeforeHeaders, before the socket is destroyed). */
  latencyMs?: number;
  /** Milliseconds between the headers (and the stream's preamble events) and the first content delta. JSON answers wait latencyMs + ttftMs. */
  ttftMs?: number;
  /** Milliseconds between two content deltas of a stream. */
  chunkGapMs?: number;
  /** The text, one streamed delta per piece. Default: DEFAULT_CHUNKS, or none when toolCalls are given. */
  chunks?: string[];
  /** Tool calls after the text; `arguments` is streamed in pieces of toolArgumentChunkSize characters. */
  toolCalls?: { name: string; arguments: string }[];
  /**
   * Token counts as the protocol reports them. OpenAI: prompt/input tokens include `cached`
   * (prompt_tokens_details.cached_tokens / input_tokens_details.cached_tokens), completion/output tokens
   * include `reasoning`. Anthropic: input_tokens excludes `cached` (cache_read_input_tokens), as the API does.
   * Default: input 12, output = number of content deltas (at least 1), cached 0, reasoning 0.
   */
  usage?: { input: number; output: number; cached?: number; reasoning?: number };
  /**
   * Chat/completions: the finish_reason as given (default stop, or tool_calls with toolCalls).
   * Responses: stop/completed -> response.completed; length/max_output_tokens -> response.incomplete
   * (max_output_tokens); content_filter -> response.incomplete (content_filter); failed -> response.failed.
   * Anthropic: stop -> end_turn, length -> max_tokens, tool_calls -> tool_use, anything else as given
   * (default end_turn, or tool_use with toolCalls).
   */
  finishReason?: string;
  /** An HTTP status. >= 400: an error answer in the protocol's envelope instead of a completion. */
  status?: number;
  /** The value of the `retry-after` header on an error answer. */
  retryAfter?: string;
  /** The message of an error answer or of a mid-stream error event. */
  errorMessage?: string;
  /** Streams: after this many content deltas stop sending, keep the socket open. JSON: headers, then nothing. */
  stallAfterChunks?: number;
  /** Streams: after this many content deltas destroy the socket. JSON: headers, then the socket is destroyed. */
  dropAfterChunks?: number;
  /** Streams: after this many content deltas send the protocol's error event and end the response. */
  errorEventAfterChunks?: number;
  /** Destroy the socket (after latencyMs) without answering. */
  dropBeforeHeaders?: boolean;
  /** Streams: destroy the socket instead of sending the stream's last event (Chat's `[DONE]`, Anthropic's `message_stop`). */
  dropBeforeLastEvent?: boolean;
  /** The model named in the answer. Default: the request's `model`, else "fake-model". */
  model?: string;
  /** Extension: unix seconds for `created`/`created_at`. Default FIXED_CREATED, so answers are byte-identical. */
  created?: number;
  /** Extension: the characters per streamed tool-argument delta. Default 8. */
  toolArgumentChunkSize?: number;
  /** Extension: the error type (OpenAI `type` / Anthropic `error.type`) of an error answer or event. Default by status. */
  errorType?: string;
  /** Extension: extra response headers (lowercase names), on every answer. */
  headers?: Record<string, string>;
  /** Extension: a base path the provider is served under (OpenRouter's `/api`): `/api/v1/...` is answered as `/v1/...`. */
  pathPrefix?: string;
}

export interface FakeRequest {
  method: string;
  /** The request target as sent (path and query string). */
  path: string;
  /** Lowercased names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** The body as UTF-8. */
  raw: string;
  /** The body parsed as JSON, or undefined when it is empty or not JSON. */
  body: any;
  /** Date.now() when the request arrived. */
  startedAt: number;
  /** Date.now() when the client closed the connection before the answer was complete. */
  abortedAt?: number;
  /** Date.now() when the answer was completely written. */
  finishedAt?: number;
  /** Extension: the status sent, once the headers are out. */
  status?: number;
  /** Extension: content deltas (text and tool-argument pieces) written so far. */
  chunksSent: number;
  /** Extension: Date.now() when the fake destroyed the socket on purpose (drop knobs); not an abort. */
  droppedAt?: number;
  /** Extension: 1-based number of the request since start or the last reset(); used in the ids of the answer. */
  seq: number;
}

export const DEFAULT_CHUNKS = ['Hello', ' from', ' the', ' fake', ' provider', '.'];
/** 2023-11-14T22:13:20Z: a constant `created`, so that the same request gets the same bytes. */
export const FIXED_CREATED = 1_700_000_000;

/** A behaviour with every default applied, as the protocol handlers see it. */
export interface Resolved {
  latencyMs: number;
  ttftMs: number;
  chunkGapMs: number;
  chunks: string[];
  toolCalls: { name: string; arguments: string }[];
  usage: { input: number; output: number; cached: number; reasoning: number };
  finishReason?: string;
  status: number;
  retryAfter?: string;
  errorMessage?: string;
  stallAfterChunks?: number;
  dropAfterChunks?: number;
  errorEventAfterChunks?: number;
  dropBeforeHeaders: boolean;
  dropBeforeLastEvent: boolean;
  model?: string;
  created: number;
  toolArgumentChunkSize: number;
  errorType?: string;
  headers: Record<string, string>;
  pathPrefix?: string;
}

export function resolveBehaviour(b: FakeBehaviour): Resolved {
  const toolCalls = b.toolCalls ?? [];
  const chunks = b.chunks ?? (toolCalls.length ? [] : DEFAULT_CHUNKS);
  const size = Math.max(1, b.toolArgumentChunkSize ?? 8);
  const deltas = chunks.length + toolCalls.reduce((n, t) => n + splitPieces(t.arguments, size).length, 0);
  return {
    latencyMs: b.latencyMs ?? 0,
    ttftMs: b.ttftMs ?? 0,
    chunkGapMs: b.chunkGapMs ?? 0,
    chunks,
    toolCalls,
    usage: {
      input: b.usage?.input ?? 12,
      output: b.usage?.output ?? Math.max(1, deltas),
      cached: b.usage?.cached ?? 0,
      reasoning: b.usage?.reasoning ?? 0,
    },
    finishReason: b.finishReason,
    status: b.status ?? 200,
    retryAfter: b.retryAfter,
    errorMessage: b.errorMessage,
    stallAfterChunks: b.stallAfterChunks,
    dropAfterChunks: b.dropAfterChunks,
    errorEventAfterChunks: b.errorEventAfterChunks,
    dropBeforeHeaders: b.dropBeforeHeaders ?? false,
    dropBeforeLastEvent: b.dropBeforeLastEvent ?? false,
    model: b.model,
    created: b.created ?? FIXED_CREATED,
    toolArgumentChunkSize: size,
    errorType: b.errorType,
    headers: b.headers ?? {},
    pathPrefix: b.pathPrefix,
  };
}

/** `text` cut into pieces of `size` characters (code points are not split); "" gives no pieces. */
export function splitPieces(text: string, size: number): string[] {
  const chars = Array.from(text);
  const out: string[] = [];
  for (let i = 0; i < chars.length; i += size) out.push(chars.slice(i, i + size).join(''));
  return out;
}
