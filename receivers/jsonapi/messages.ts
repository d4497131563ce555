/**
 * Observation input/output objects are freeform; when they carry a conversation in one of the
 * common provider shapes (OpenAI chat / responses, Anthropic messages, plain prompt or text) it
 * becomes OpenTelemetry GenAI messages: [{ role, parts: [{ type: 'text', content } | tool_call |
 * tool_call_response], finish_reason? }].
 */

type Part =
  | { type: 'text'; content: string }
  | { type: 'tool_call'; id?: string; name: string; arguments?: unknown }
  | { type: 'tool_call_response'; id?: string; response: unknown };

export interface GenAiMessage {
  role: string;
  parts: Part[];
  finish_reason?: string;
}

/** The messages found, and the members of the object that were not part of them. */
export interface FoundMessages {
  messages: GenAiMessage[];
  finishReasons: string[];
  rest: Record<string, unknown>;
}

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalId(value: unknown): { id?: string } {
  return typeof value === 'string' && value !== '' ? { id: value } : {};
}

/** Tool arguments travel as JSON text in OpenAI; they are kept structured when they parse. */
function structured(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

/** Content as a string or an array of content blocks; undefined when it is neither. */
function partsOf(content: unknown): Part[] | undefined {
  if (content === null || content === undefined) return [];
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', content }];
  if (!Array.isArray(content)) return undefined;
  const parts: Part[] = [];
  for (const block of content) {
    if (typeof block === 'string') parts.push({ type: 'text', content: block });
    else if (!isRecord(block)) return undefined;
    else if (typeof block.text === 'string' && (block.type === undefined || block.type === 'text' || block.type === 'input_text' || block.type === 'output_text')) {
      parts.push({ type: 'text', content: block.text });
    } else if (block.type === 'tool_use' && typeof block.name === 'string') {
      parts.push({ type: 'tool_call', ...optionalId(block.id), name: block.name, arguments: block.input });
    } else if (block.type === 'tool_result') {
      parts.push({ type: 'tool_call_response', ...optionalId(block.tool_use_id), response: block.content });
    }
    // Images, audio and files have no text; they stay out of the message parts.
  }
  return parts;
}

function messageOf(value: unknown, defaultRole?: string): GenAiMessage | undefined {
  if (!isRecord(value)) return undefined;
  const role = typeof value.role === 'string' && value.role !== '' ? value.role : defaultRole;
  if (role === undefined) return undefined;
  let parts = partsOf(value.content);
  if (parts === undefined) return undefined;
  if (role === 'tool') parts = [{ type: 'tool_call_response', ...optionalId(value.tool_call_id), response: value.content }];
  if (Array.isArray(value.tool_calls)) {
    for (const call of value.tool_calls) {
      const fn = isRecord(call) && isRecord(call.function) ? call.function : undefined;
      if (fn && typeof fn.name === 'string') parts.push({ type: 'tool_call', ...optionalId(call.id), name: fn.name, arguments: structured(fn.arguments) });
    }
  }
  const message: GenAiMessage = { role, parts };
  if (typeof value.finish_reason === 'string') message.finish_reason = value.finish_reason;
  return message;
}

function messagesOf(values: unknown[], defaultRole?: string): GenAiMessage[] | undefined {
  const messages: GenAiMessage[] = [];
  for (const value of values) {
    const message = messageOf(value, defaultRole);
    if (!message) return undefined;
    messages.push(message);
  }
  return messages;
}

function without(object: Json, keys: readonly string[]): Json {
  const rest: Json = {};
  for (const [key, value] of Object.entries(object)) if (!keys.includes(key)) rest[key] = value;
  return rest;
}

/** { messages: [...] } (with Anthropic's separate `system`) or { prompt: "..." }. */
export function inputMessages(input: Json): FoundMessages | undefined {
  const system = input.system === undefined ? undefined : partsOf(input.system);
  const head: GenAiMessage[] = system && system.length > 0 ? [{ role: 'system', parts: system }] : [];
  const used = system ? ['system'] : [];
  if (Array.isArray(input.messages)) {
    const messages = messagesOf(input.messages, 'user');
    if (!messages) return undefined;
    return { messages: [...head, ...messages], finishReasons: [], rest: without(input, [...used, 'messages']) };
  }
  if (typeof input.prompt === 'string') {
    return { messages: [...head, { role: 'user', parts: [{ type: 'text', content: input.prompt }] }], finishReasons: [], rest: without(input, [...used, 'prompt']) };
  }
  return undefined;
}

/** { messages }, OpenAI { choices }, { message }, an Anthropic message { role?, content }, or { text }. */
export function outputMessages(output: Json): FoundMessages | undefined {
  const found = outputShape(output);
  if (!found) return undefined;
  const shared = typeof output.finish_reason === 'string' ? output.finish_reason : typeof output.stop_reason === 'string' ? output.stop_reason : undefined;
  if (shared !== undefined) for (const message of found.messages) message.finish_reason ??= shared;
  const finishReasons = found.messages.flatMap((m) => (m.finish_reason === undefined ? [] : [m.finish_reason]));
  return { messages: found.messages, finishReasons, rest: without(output, [...found.used, 'finish_reason', 'stop_reason']) };
}

function outputShape(output: Json): { messages: GenAiMessage[]; used: string[] } | undefined {
  if (Array.isArray(output.messages)) {
    const messages = messagesOf(output.messages, 'assistant');
    return messages && { messages, used: ['messages'] };
  }
  if (Array.isArray(output.choices)) {
    const messages: GenAiMessage[] = [];
    for (const choice of output.choices) {
      if (!isRecord(choice)) return undefined;
      const message = typeof choice.text === 'string' ? messageOf({ content: choice.text }, 'assistant') : messageOf(choice.message, 'assistant');
      if (!message) return undefined;
      if (typeof choice.finish_reason === 'string') message.finish_reason = choice.finish_reason;
      messages.push(message);
    }
    return { messages, used: ['choices'] };
  }
  if (isRecord(output.message)) {
    const message = messageOf(output.message, 'assistant');
    return message && { messages: [message], used: ['message'] };
  }
  if (typeof output.content === 'string' || Array.isArray(output.content)) {
    const message = messageOf({ role: output.role, content: output.content, tool_calls: output.tool_calls }, 'assistant');
    return message && { messages: [message], used: ['role', 'content', 'tool_calls'] };
  }
  if (typeof output.text === 'string') return { messages: [{ role: 'assistant', parts: [{ type: 'text', content: output.text }] }], used: ['text'] };
  return undefined;
}
