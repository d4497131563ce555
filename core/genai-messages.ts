/**
 * Chat messages in the OpenTelemetry GenAI form (gen_ai.input.messages / gen_ai.output.messages):
 * [{ role, name?, parts: [{ type: 'text', content } | { type: 'tool_call', id?, name, arguments? }
 * | { type: 'tool_call_response', id?, response }], finish_reason? }], and the one conversion of a
 * provider chat message into it, so that every receiver and the enrich processor write the same
 * JSON for the same conversation.
 *
 * Understood: OpenAI Chat Completions messages (string or block content, `tool_calls`, role
 * `tool`, `refusal`), Responses API items (`message`, `function_call`, `function_call_output`) and
 * Anthropic messages (`tool_use` / `tool_result` blocks).
 */

export type GenAiPart =
  | { type: 'text'; content: string }
  | { type: 'tool_call'; id?: string; name: string; arguments?: unknown }
  | { type: 'tool_call_response'; id?: string; response: unknown };

/** The schema lets parts of other types (uri, blob, reasoning, ...) carry fields of their own. */
export interface GenAiOtherPart {
  type: string;
  [field: string]: unknown;
}

export interface GenAiMessage {
  role: string;
  name?: string;
  parts: (GenAiPart | GenAiOtherPart)[];
  finish_reason?: string;
}

export interface ChatMessageOptions {
  /** Freeform payloads often leave the role out; without a default such a message is not understood. */
  defaultRole?: string;
  /**
   * Content blocks that are not text nor a tool call or result (images, audio, files): `drop`
   * leaves them out, `keep` passes them on as parts of their own type. Under `keep` a block that
   * cannot be passed on (no type, or a text block without text) makes the message not understood,
   * so that the caller can keep the original rather than lose part of it.
   */
  otherBlocks: 'drop' | 'keep';
}

type Json = Record<string, unknown>;

// Some SDKs leave the type out of a text block.
const TEXT_BLOCKS: readonly unknown[] = [undefined, 'text', 'input_text', 'output_text'];

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function optionalId(value: unknown): { id?: string } {
  const id = nonEmpty(value);
  return id === undefined ? {} : { id };
}

/** Tool arguments travel as JSON text in OpenAI; they are kept structured when they parse. */
export function structuredArguments(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

export function textMessage(role: string, content: string, finishReason?: string): GenAiMessage {
  const message: GenAiMessage = { role, parts: [{ type: 'text', content }] };
  if (finishReason) message.finish_reason = finishReason;
  return message;
}

function toolCall(id: unknown, name: string, args: unknown): GenAiPart {
  return { type: 'tool_call', ...optionalId(id), name, ...(args === undefined ? {} : { arguments: args }) };
}

function toolResponse(id: unknown, response: unknown): GenAiPart {
  return { type: 'tool_call_response', ...optionalId(id), response: response ?? null };
}

function knownBlock(block: Json): GenAiPart | undefined {
  if (TEXT_BLOCKS.includes(block.type)) return typeof block.text === 'string' ? { type: 'text', content: block.text } : undefined;
  if (block.type === 'refusal') return typeof block.refusal === 'string' ? { type: 'text', content: block.refusal } : undefined;
  const name = nonEmpty(block.name);
  if (block.type === 'tool_use' && name !== undefined) return toolCall(block.id, name, block.input);
  if (block.type === 'tool_result') return toolResponse(block.tool_use_id, block.content);
  return undefined;
}

/** Passed on as it is, a text or refusal block without its text would be a text part without content. */
function isOtherPart(block: Json): block is GenAiOtherPart {
  return typeof block.type === 'string' && !TEXT_BLOCKS.includes(block.type) && block.type !== 'refusal';
}

/** Content as a string or an array of content blocks; undefined when it is neither, or not understood. */
export function genAiPartsOf(content: unknown, options: ChatMessageOptions): GenAiMessage['parts'] | undefined {
  if (content === null || content === undefined) return [];
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', content }];
  if (!Array.isArray(content)) return undefined;
  const parts: GenAiMessage['parts'] = [];
  for (const block of content) {
    if (typeof block === 'string') {
      parts.push({ type: 'text', content: block });
      continue;
    }
    if (!isRecord(block)) return undefined;
    const part = knownBlock(block);
    if (part) parts.push(part);
    else if (options.otherBlocks === 'keep') {
      if (!isOtherPart(block)) return undefined;
      parts.push(block);
    }
  }
  return parts;
}

function toolCallParts(calls: unknown): GenAiPart[] {
  if (!Array.isArray(calls)) return [];
  const parts: GenAiPart[] = [];
  for (const call of calls) {
    if (!isRecord(call) || !isRecord(call.function)) continue;
    const name = nonEmpty(call.function.name);
    if (name !== undefined) parts.push(toolCall(call.id, name, structuredArguments(call.function.arguments)));
  }
  return parts;
}

/** One chat message or Responses API item; undefined when it is not one. */
export function genAiMessageOf(value: unknown, options: ChatMessageOptions): GenAiMessage | undefined {
  if (!isRecord(value)) return undefined;
  const name = nonEmpty(value.name);
  if (value.type === 'function_call' && name !== undefined) {
    return { role: 'assistant', parts: [toolCall(nonEmpty(value.call_id) ?? value.id, name, structuredArguments(value.arguments))] };
  }
  if (value.type === 'function_call_output') return { role: 'tool', parts: [toolResponse(value.call_id, value.output)] };
  const role = nonEmpty(value.role) ?? options.defaultRole;
  if (role === undefined) return undefined;
  // A tool message's content is the result as the tool gave it, whatever its shape.
  const parts: GenAiMessage['parts'] | undefined = role === 'tool' ? [toolResponse(value.tool_call_id, value.content)] : genAiPartsOf(value.content, options);
  if (!parts) return undefined;
  if (parts.length === 0 && typeof value.refusal === 'string') parts.push({ type: 'text', content: value.refusal });
  parts.push(...toolCallParts(value.tool_calls));
  const message: GenAiMessage = { role, parts };
  if (name !== undefined) message.name = name;
  const finishReason = nonEmpty(value.finish_reason);
  if (finishReason !== undefined) message.finish_reason = finishReason;
  return message;
}

/** Every message of the list, or undefined when one is not understood: a partial conversation would mislead. */
export function genAiMessagesOf(values: readonly unknown[], options: ChatMessageOptions): GenAiMessage[] | undefined {
  const messages: GenAiMessage[] = [];
  for (const value of values) {
    const message = genAiMessageOf(value, options);
    if (!message) return undefined;
    messages.push(message);
  }
  return messages;
}
