/**
 * Reading what a call produced: the JSON answer of each API, or its SSE stream event by event on
 * the side (usage, finish reasons, output text and tool calls assembled from deltas, the time of
 * the first content delta). Captured text is bounded by `maxCaptureChars` per call.
 */
import { genAiMessageOf, genAiMessagesOf, structuredArguments, textMessage } from '../genai-messages';
import type { GenAiMessage, GenAiPart } from '../genai-messages';
import { anthropicUsage, count, emptyOutcome, errorOf, isRecord, openaiUsage, str } from './protocol';
import type { Json, LlmApi, LlmOutcome } from './protocol';
import type { SseEvent } from './sse';

const MESSAGE_OPTIONS = { otherBlocks: 'keep' } as const;

/** What one stream event means to the gateway. */
export interface EventVerdict {
  /** Output reached the client with this event (text, a tool call, reasoning). */
  content: boolean;
  /** An error event. */
  error: boolean;
  /** Chat: the extra chunk `stream_options.include_usage` adds (empty choices, usage set). */
  usageChunk: boolean;
  /** Chat: a chunk carrying `"usage": null` only because the option was set. */
  usageNull: boolean;
}

const NOTHING: EventVerdict = { content: false, error: false, usageChunk: false, usageNull: false };

/** Text and tool calls of one choice or output item, assembled from deltas. */
class Assembly {
  text = '';
  readonly tools = new Map<string | number, { id?: string; name?: string; args: string }>();
  finish: string | undefined;
}

export abstract class StreamReader {
  protected readonly outcome: LlmOutcome = emptyOutcome();
  private captured = 0;

  constructor(
    private readonly maxCaptureChars: number,
    protected readonly now: () => number = () => performance.now(),
  ) {}

  abstract onEvent(event: SseEvent): EventVerdict;

  /** The outcome so far (output messages are built on each call). */
  abstract result(): LlmOutcome;

  protected capture(current: string, more: string): string {
    const room = this.maxCaptureChars - this.captured;
    if (room <= 0 || more === '') return current;
    const piece = more.length > room ? more.slice(0, room) : more;
    this.captured += piece.length;
    return current + piece;
  }

  protected contentSeen(): void {
    if (!this.outcome.hasContent) {
      this.outcome.hasContent = true;
      this.outcome.firstContentAt = this.now();
    }
  }

  protected parse(data: string): Json | undefined {
    try {
      const value: unknown = JSON.parse(data);
      return isRecord(value) ? value : undefined;
    } catch {
      return undefined;
    }
  }

  protected assistantMessage(a: Assembly): GenAiMessage {
    const parts: GenAiPart[] = [];
    if (a.text !== '') parts.push({ type: 'text', content: a.text });
    for (const tool of a.tools.values()) {
      parts.push({ type: 'tool_call', ...(tool.id ? { id: tool.id } : {}), name: tool.name ?? '', arguments: structuredArguments(tool.args) });
    }
    const message: GenAiMessage = { role: 'assistant', parts };
    if (a.finish) message.finish_reason = a.finish;
    return message;
  }
}

/** Chat Completions (and legacy Completions) chunks: choices by index, tool calls by index. */
export class ChatStreamReader extends StreamReader {
  private readonly choices = new Map<number, Assembly>();

  onEvent(event: SseEvent): EventVerdict {
    if (event.data === '[DONE]') {
      this.outcome.complete = true;
      return NOTHING;
    }
    const chunk = this.parse(event.data);
    if (!chunk) return NOTHING;
    const error = errorOf(chunk);
    if (error) {
      this.outcome.error = error;
      return { ...NOTHING, error: true };
    }
    this.outcome.responseId ??= str(chunk.id);
    this.outcome.responseModel ??= str(chunk.model);
    let content = false;
    const choices = Array.isArray(chunk.choices) ? chunk.choices : [];
    for (const choice of choices) {
      if (!isRecord(choice)) continue;
      const index = count(choice.index) ?? 0;
      let a = this.choices.get(index);
      if (!a) {
        if (this.choices.size >= 128) continue;
        a = new Assembly();
        this.choices.set(index, a);
      }
      const delta = isRecord(choice.delta) ? choice.delta : undefined;
      const text = typeof choice.text === 'string' ? choice.text : delta && typeof delta.content === 'string' ? delta.content : undefined;
      if (text) {
        a.text = this.capture(a.text, text);
        content = true;
      }
      if (delta && (str(delta.refusal) || str(delta.reasoning_content) || str(delta.reasoning))) content = true;
      if (delta && Array.isArray(delta.tool_calls)) {
        for (const call of delta.tool_calls) {
          if (!isRecord(call)) continue;
          const key = count(call.index) ?? a.tools.size;
          let tool = a.tools.get(key);
          if (!tool) {
            if (a.tools.size >= 128) continue;
            tool = { args: '' };
            a.tools.set(key, tool);
          }
          tool.id ??= str(call.id);
          const fn = isRecord(call.function) ? call.function : {};
          tool.name ??= str(fn.name);
          if (typeof fn.arguments === 'string') tool.args = this.capture(tool.args, fn.arguments);
          content = true;
        }
      }
      const finish = str(choice.finish_reason);
      if (finish) a.finish = finish;
    }
    if (content) this.contentSeen();
    const usage = openaiUsage(chunk.usage);
    if (usage) {
      this.outcome.usage = usage;
      // The include_usage chunk comes last and has no choices; usage on every chunk is a running count.
      if (Array.isArray(chunk.choices) && chunk.choices.length === 0) this.outcome.usageFinal = true;
    }
    return {
      content,
      error: false,
      usageChunk: usage !== undefined && choices.length === 0,
      usageNull: 'usage' in chunk && chunk.usage === null,
    };
  }

  result(): LlmOutcome {
    const indexes = [...this.choices.keys()].sort((x, y) => x - y);
    return {
      ...this.outcome,
      finishReasons: indexes.map((i) => this.choices.get(i)?.finish).filter((f): f is string => f !== undefined),
      output: indexes.map((i) => this.assistantMessage(this.choices.get(i) as Assembly)),
    };
  }
}

/** Responses API events: output items by id, usage and status from the terminal event. */
export class ResponsesStreamReader extends StreamReader {
  private readonly items = new Map<string, { type: string; a: Assembly }>();
  private final: Json | undefined;

  onEvent(event: SseEvent): EventVerdict {
    const body = this.parse(event.data);
    if (!body) return NOTHING;
    const type = str(body.type) ?? event.event;
    const response = isRecord(body.response) ? body.response : undefined;
    switch (type) {
      case 'response.created':
      case 'response.in_progress':
        if (response) {
          this.outcome.responseId ??= str(response.id);
          this.outcome.responseModel ??= str(response.model);
        }
        return NOTHING;
      case 'response.output_item.added': {
        const item = isRecord(body.item) ? body.item : undefined;
        const id = item ? str(item.id) : undefined;
        if (item && id && this.items.size < 256) {
          const a = new Assembly();
          if (item.type === 'function_call') a.tools.set(id, { id: str(item.call_id), name: str(item.name), args: '' });
          this.items.set(id, { type: str(item.type) ?? '', a });
        }
        return NOTHING;
      }
      case 'response.output_text.delta':
      case 'response.refusal.delta': {
        const delta = typeof body.delta === 'string' ? body.delta : '';
        const entry = this.itemOf(body.item_id);
        if (entry) entry.a.text = this.capture(entry.a.text, delta);
        if (delta !== '') this.contentSeen();
        return { ...NOTHING, content: delta !== '' };
      }
      case 'response.reasoning_summary_text.delta':
      case 'response.reasoning_text.delta':
        this.contentSeen();
        return { ...NOTHING, content: true };
      case 'response.function_call_arguments.delta': {
        const entry = this.itemOf(body.item_id);
        const tool = entry?.a.tools.values().next().value;
        if (tool && typeof body.delta === 'string') tool.args = this.capture(tool.args, body.delta);
        this.contentSeen();
        return { ...NOTHING, content: true };
      }
      case 'response.output_item.done': {
        const item = isRecord(body.item) ? body.item : undefined;
        const entry = item ? this.itemOf(item.id) : undefined;
        if (item && entry && item.type === 'function_call' && typeof item.arguments === 'string') {
          const tool = entry.a.tools.values().next().value;
          if (tool) {
            // The full arguments, when the deltas did not arrive (or were cut by the capture bound).
            if (tool.args === '') tool.args = this.capture('', item.arguments);
            tool.name ??= str(item.name);
          }
        }
        return NOTHING;
      }
      case 'response.completed':
      case 'response.incomplete':
      case 'response.failed':
        this.outcome.complete = true;
        if (response) this.finish(response);
        return { ...NOTHING, error: type === 'response.failed' && !this.outcome.hasContent };
      case 'error': {
        this.outcome.error = { message: str(body.message) ?? 'error', type: str(body.type) === 'error' ? undefined : str(body.type), code: str(body.code) };
        return { ...NOTHING, error: true };
      }
      default:
        return NOTHING;
    }
  }

  private itemOf(id: unknown) {
    return typeof id === 'string' ? this.items.get(id) : undefined;
  }

  private finish(response: Json): void {
    this.final = response;
    this.outcome.responseId ??= str(response.id);
    this.outcome.responseModel = str(response.model) ?? this.outcome.responseModel;
    const usage = openaiUsage(response.usage);
    if (usage) {
      this.outcome.usage = usage;
      this.outcome.usageFinal = true;
    }
    this.outcome.status = str(response.status);
    const err = isRecord(response.error) ? response.error : undefined;
    if (err) this.outcome.error = { message: str(err.message) ?? 'error', code: str(err.code) };
  }

  result(): LlmOutcome {
    const output: GenAiMessage[] = [];
    let tools = false;
    for (const { type, a } of this.items.values()) {
      if (type === 'function_call') tools = true;
      if (type === 'message' || type === 'function_call') output.push(this.assistantMessage(a));
    }
    const finish = responsesFinishReason(this.outcome.status, this.final, tools);
    if (finish && output.length > 0) output[output.length - 1].finish_reason = finish;
    return { ...this.outcome, output, finishReasons: finish ? [finish] : [] };
  }
}

/** The finish reason of a Responses call: stop, tool_calls, length (max_output_tokens), incomplete or failed. */
export function responsesFinishReason(status: string | undefined, response: Json | undefined, tools: boolean): string | undefined {
  if (status === 'completed') return tools ? 'tool_calls' : 'stop';
  if (status === 'incomplete') {
    const details = response && isRecord(response.incomplete_details) ? response.incomplete_details : undefined;
    return details?.reason === 'max_output_tokens' ? 'length' : 'incomplete';
  }
  if (status === 'failed' || status === 'cancelled') return status;
  return undefined;
}

/** Anthropic Messages events: usage from message_start and the last message_delta, blocks by index. */
export class MessagesStreamReader extends StreamReader {
  private readonly a = new Assembly();
  private readonly blocks = new Map<number, string>();

  onEvent(event: SseEvent): EventVerdict {
    const body = this.parse(event.data);
    if (!body) return NOTHING;
    const type = str(body.type) ?? event.event;
    switch (type) {
      case 'message_start': {
        const message = isRecord(body.message) ? body.message : {};
        this.outcome.responseId ??= str(message.id);
        this.outcome.responseModel ??= str(message.model);
        this.outcome.usage = anthropicUsage(message.usage, this.outcome.usage);
        return NOTHING;
      }
      case 'content_block_start': {
        const index = count(body.index) ?? 0;
        const block = isRecord(body.content_block) ? body.content_block : {};
        const kind = str(block.type) ?? '';
        if (this.blocks.size < 256) this.blocks.set(index, kind);
        if (kind === 'tool_use' && this.a.tools.size < 128) {
          this.a.tools.set(index, { id: str(block.id), name: str(block.name), args: '' });
          this.contentSeen();
          return { ...NOTHING, content: true };
        }
        return NOTHING;
      }
      case 'content_block_delta': {
        const delta = isRecord(body.delta) ? body.delta : {};
        if (delta.type === 'text_delta' && typeof delta.text === 'string') this.a.text = this.capture(this.a.text, delta.text);
        else if (delta.type === 'input_json_delta' && typeof delta.partial_json === 'string') {
          const tool = this.a.tools.get(count(body.index) ?? 0);
          if (tool) tool.args = this.capture(tool.args, delta.partial_json);
        }
        this.contentSeen();
        return { ...NOTHING, content: true };
      }
      case 'message_delta': {
        const delta = isRecord(body.delta) ? body.delta : {};
        const stop = str(delta.stop_reason);
        if (stop) this.a.finish = stop;
        this.outcome.usage = anthropicUsage(body.usage, this.outcome.usage);
        if (stop && this.outcome.usage) this.outcome.usageFinal = true;
        return NOTHING;
      }
      case 'message_stop':
        this.outcome.complete = true;
        return NOTHING;
      case 'error': {
        this.outcome.error = errorOf(body) ?? { message: 'error' };
        return { ...NOTHING, error: true };
      }
      default:
        return NOTHING;
    }
  }

  result(): LlmOutcome {
    const hasOutput = this.a.text !== '' || this.a.tools.size > 0;
    return {
      ...this.outcome,
      finishReasons: this.a.finish ? [this.a.finish] : [],
      output: hasOutput || this.a.finish ? [this.assistantMessage(this.a)] : [],
    };
  }
}

export function streamReaderFor(api: LlmApi, maxCaptureChars: number): StreamReader {
  if (api === 'responses') return new ResponsesStreamReader(maxCaptureChars);
  if (api === 'messages') return new MessagesStreamReader(maxCaptureChars);
  return new ChatStreamReader(maxCaptureChars);
}

/** The outcome of a JSON (non-streamed) answer of `api`. */
export function outcomeOfJson(api: LlmApi, body: unknown): LlmOutcome {
  const outcome = emptyOutcome();
  outcome.complete = true;
  if (!isRecord(body)) return outcome;
  outcome.error = errorOf(body);
  outcome.responseId = str(body.id);
  outcome.responseModel = str(body.model);
  if (api === 'messages') {
    outcome.usage = anthropicUsage(body.usage);
    const stop = str(body.stop_reason);
    if (stop) outcome.finishReasons = [stop];
    if (Array.isArray(body.content)) {
      const message = genAiMessageOf({ role: 'assistant', content: body.content }, MESSAGE_OPTIONS);
      if (message) outcome.output = [{ ...message, ...(stop ? { finish_reason: stop } : {}) }];
    }
    outcome.hasContent = outcome.output.length > 0;
    return outcome;
  }
  outcome.usage = openaiUsage(body.usage);
  if (api === 'responses') {
    outcome.status = str(body.status);
    const items = Array.isArray(body.output) ? body.output.filter((i) => isRecord(i) && (i.type === 'message' || i.type === 'function_call')) : [];
    const messages = genAiMessagesOf(items.map((i) => (isRecord(i) && i.type === 'message' ? { ...i, role: 'assistant' } : i)), MESSAGE_OPTIONS) ?? [];
    const finish = responsesFinishReason(outcome.status, body, items.some((i) => isRecord(i) && i.type === 'function_call'));
    if (finish) {
      outcome.finishReasons = [finish];
      if (messages.length > 0) messages[messages.length - 1].finish_reason = finish;
    }
    outcome.output = messages;
  } else if (api === 'chat' || api === 'completions') {
    const choices = Array.isArray(body.choices) ? body.choices.filter(isRecord) : [];
    for (const choice of choices) {
      const finish = str(choice.finish_reason);
      if (finish) outcome.finishReasons.push(finish);
      const message =
        api === 'chat'
          ? genAiMessageOf({ ...(isRecord(choice.message) ? choice.message : {}), role: 'assistant', finish_reason: finish }, MESSAGE_OPTIONS)
          : typeof choice.text === 'string'
            ? textMessage('assistant', choice.text, finish)
            : undefined;
      if (message) outcome.output.push(message);
    }
  }
  outcome.hasContent = outcome.output.length > 0;
  return outcome;
}

/** The input messages of a request body of `api` (instructions and system prompts as system messages). */
export function inputMessagesOf(api: LlmApi, body: Json): GenAiMessage[] | undefined {
  const system: GenAiMessage[] = [];
  switch (api) {
    case 'chat':
      return Array.isArray(body.messages) ? genAiMessagesOf(body.messages, MESSAGE_OPTIONS) : undefined;
    case 'messages': {
      if (typeof body.system === 'string') system.push(textMessage('system', body.system));
      else if (Array.isArray(body.system)) {
        const m = genAiMessageOf({ role: 'system', content: body.system }, MESSAGE_OPTIONS);
        if (m) system.push(m);
      }
      const rest = Array.isArray(body.messages) ? genAiMessagesOf(body.messages, MESSAGE_OPTIONS) : [];
      return rest ? [...system, ...rest] : undefined;
    }
    case 'responses': {
      if (typeof body.instructions === 'string') system.push(textMessage('system', body.instructions));
      if (typeof body.input === 'string') return [...system, textMessage('user', body.input)];
      const rest = Array.isArray(body.input) ? genAiMessagesOf(body.input, { ...MESSAGE_OPTIONS, defaultRole: 'user' }) : [];
      return rest ? [...system, ...rest] : undefined;
    }
    case 'completions':
    case 'embeddings': {
      const value = api === 'completions' ? body.prompt : body.input;
      if (typeof value === 'string') return [textMessage('user', value)];
      if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.map((v) => textMessage('user', v as string));
      return undefined;
    }
  }
}
