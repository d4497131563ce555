/**
 * Chat messages in the OpenTelemetry GenAI form (gen_ai.input.messages / gen_ai.output.messages):
 * a JSON array of { role, parts: [{ type: 'text', content } | { type: 'tool_call', id, name,
 * arguments } | { type: 'tool_call_response', id, response }], finish_reason? }, built from the
 * shapes other conventions use.
 */
import { structuredArguments, type GenAiMessage, type GenAiPart } from '../../core/genai-messages';
import { attributeToString, type AttributeValue, type Attributes } from '../../core/span';

function text(value: AttributeValue | undefined): string | undefined {
  if (value === undefined || value === null) return undefined;
  return typeof value === 'string' ? value : attributeToString(value);
}

/** `<prefix><i>.<rest>` attributes grouped by index i, in index order. */
function groupByIndex(attrs: Attributes, prefix: string): Map<string, AttributeValue>[] {
  const groups = new Map<number, Map<string, AttributeValue>>();
  for (const key in attrs) {
    if (!key.startsWith(prefix)) continue;
    const dot = key.indexOf('.', prefix.length);
    if (dot < 0) continue;
    const index = Number(key.slice(prefix.length, dot));
    if (!Number.isInteger(index) || index < 0) continue;
    let group = groups.get(index);
    if (!group) groups.set(index, (group = new Map()));
    group.set(key.slice(dot + 1), attrs[key]);
  }
  if (groups.size === 0) return [];
  return [...groups.entries()].sort((a, b) => a[0] - b[0]).map(([, group]) => group);
}

/** Within one message, `<prefix><j>.<rest>` sub-items (content parts, tool calls) by index. */
function subItems(group: Map<string, AttributeValue>, prefix: string): Map<string, AttributeValue>[] {
  const flat: Attributes = {};
  for (const [key, value] of group) if (key.startsWith(prefix)) flat[key] = value;
  return groupByIndex(flat, prefix);
}

interface FlatShape {
  role: string;
  content: string;
  name?: string;
  toolCallId: string;
  finishReason?: string;
  contents?: { prefix: string; type: string; text: string };
  toolCalls: { prefix: string; id: string; name: string; arguments: string };
}

function flatMessage(group: Map<string, AttributeValue>, shape: FlatShape, defaultRole: string): GenAiMessage | undefined {
  const role = text(group.get(shape.role)) ?? defaultRole;
  const parts: GenAiPart[] = [];
  const content = group.get(shape.content);
  const toolCallId = text(group.get(shape.toolCallId));
  if (role === 'tool' && content !== undefined) {
    parts.push({ type: 'tool_call_response', ...(toolCallId ? { id: toolCallId } : {}), response: text(content) ?? '' });
  } else if (content !== undefined && content !== null && content !== '') {
    parts.push({ type: 'text', content: text(content) ?? '' });
  }
  if (shape.contents) {
    for (const item of subItems(group, shape.contents.prefix)) {
      const type = text(item.get(shape.contents.type)) ?? 'text';
      const itemText = text(item.get(shape.contents.text));
      if (type === 'text' && itemText !== undefined) parts.push({ type: 'text', content: itemText });
    }
  }
  for (const call of subItems(group, shape.toolCalls.prefix)) {
    const name = text(call.get(shape.toolCalls.name));
    if (name === undefined) continue;
    const id = text(call.get(shape.toolCalls.id));
    const args = call.get(shape.toolCalls.arguments);
    parts.push({ type: 'tool_call', ...(id ? { id } : {}), name, ...(args !== undefined ? { arguments: structuredArguments(args) } : {}) });
  }
  if (parts.length === 0) return undefined;
  const message: GenAiMessage = { role, parts };
  const name = shape.name ? text(group.get(shape.name)) : undefined;
  if (name) message.name = name;
  const finish = shape.finishReason ? text(group.get(shape.finishReason)) : undefined;
  if (finish) message.finish_reason = finish;
  return message;
}

function flatMessages(attrs: Attributes, prefix: string, shape: FlatShape, defaultRole: string): string | undefined {
  const groups = groupByIndex(attrs, prefix);
  // Most spans carry none: nothing more to build for them.
  if (groups.length === 0) return undefined;
  const messages = groups
    .map((group) => flatMessage(group, shape, defaultRole))
    .filter((m): m is GenAiMessage => m !== undefined);
  return messages.length > 0 ? JSON.stringify(messages) : undefined;
}

const OPENINFERENCE_SHAPE: FlatShape = {
  role: 'message.role',
  content: 'message.content',
  name: 'message.name',
  toolCallId: 'message.tool_call_id',
  contents: { prefix: 'message.contents.', type: 'message_content.type', text: 'message_content.text' },
  toolCalls: { prefix: 'message.tool_calls.', id: 'tool_call.id', name: 'tool_call.function.name', arguments: 'tool_call.function.arguments' },
};

const OPENLLMETRY_SHAPE: FlatShape = {
  role: 'role',
  content: 'content',
  toolCallId: 'tool_call_id',
  finishReason: 'finish_reason',
  toolCalls: { prefix: 'tool_calls.', id: 'id', name: 'name', arguments: 'arguments' },
};

/** OpenInference `llm.input_messages.N.message.*` / `llm.output_messages.N.message.*`. */
export function openInferenceMessages(attrs: Attributes, direction: 'input' | 'output'): string | undefined {
  return flatMessages(attrs, `llm.${direction}_messages.`, OPENINFERENCE_SHAPE, direction === 'input' ? 'user' : 'assistant');
}

/** OpenLLMetry `gen_ai.prompt.N.*` / `gen_ai.completion.N.*`. */
export function openLlmetryMessages(attrs: Attributes, direction: 'prompt' | 'completion'): string | undefined {
  return flatMessages(attrs, `gen_ai.${direction}.`, OPENLLMETRY_SHAPE, direction === 'prompt' ? 'user' : 'assistant');
}

/** Both directions of an OpenLLMetry span: gen_ai.input.messages and gen_ai.output.messages. */
export function openLlmetryConversation(attrs: Attributes): { input: string | undefined; output: string | undefined } {
  return textOnlyConversation(attrs) ?? { input: openLlmetryMessages(attrs, 'prompt'), output: openLlmetryMessages(attrs, 'completion') };
}

const PROMPT = 'gen_ai.prompt.';
const COMPLETION = 'gen_ai.completion.';
/** Longest message index the one-pass reading takes (more messages go the general way). */
const MAX_INDEX_DIGITS = 3;

interface TextOnlyMessage {
  role?: AttributeValue;
  content?: AttributeValue;
  finish?: AttributeValue;
}

/**
 * The usual OpenLLMetry span, read in one pass with nothing built but the JSON: every message is
 * `role`, `content` and `finish_reason` under a plain decimal index. Anything else (tool calls, a
 * tool role, other fields, odd indices) answers undefined, and the general reading above runs; a
 * test checks that both give the same JSON.
 */
function textOnlyConversation(attrs: Attributes): { input: string | undefined; output: string | undefined } | undefined {
  const prompt: TextOnlyMessage[] = [];
  const completion: TextOnlyMessage[] = [];
  for (const key in attrs) {
    let list: TextOnlyMessage[];
    let at: number;
    if (key.startsWith(PROMPT)) {
      list = prompt;
      at = PROMPT.length;
    } else if (key.startsWith(COMPLETION)) {
      list = completion;
      at = COMPLETION.length;
    } else continue;
    const dot = key.indexOf('.', at);
    if (dot < 0) continue;
    const digits = dot - at;
    if (digits === 0 || digits > MAX_INDEX_DIGITS) return undefined;
    let index = 0;
    for (let i = at; i < dot; i++) {
      const code = key.charCodeAt(i);
      if (code < 48 || code > 57) return undefined;
      index = index * 10 + code - 48;
    }
    const message = (list[index] ??= {});
    const value = attrs[key];
    switch (key.slice(dot + 1)) {
      case 'role':
        message.role = value;
        break;
      case 'content':
        message.content = value;
        break;
      case 'finish_reason':
        message.finish = value;
        break;
      default:
        return undefined;
    }
  }
  const input = textOnlyJson(prompt, 'user');
  const output = textOnlyJson(completion, 'assistant');
  if (input === null || output === null) return undefined;
  return { input, output };
}

/** The messages as JSON, undefined when none has content, null when one needs the general reading. */
function textOnlyJson(list: readonly (TextOnlyMessage | undefined)[], defaultRole: string): string | undefined | null {
  let json = '';
  for (const message of list) {
    if (message === undefined) continue;
    const role = text(message.role) ?? defaultRole;
    const content = message.content;
    if (role === 'tool' && content !== undefined) return null;
    if (content === undefined || content === null || content === '') continue;
    json += `${json === '' ? '[' : ','}{"role":${JSON.stringify(role)},"parts":[{"type":"text","content":${JSON.stringify(text(content) ?? '')}}]`;
    const finish = text(message.finish);
    json += finish ? `,"finish_reason":${JSON.stringify(finish)}}` : '}';
  }
  return json === '' ? undefined : `${json}]`;
}

/** A single plain-text message (OpenInference input.value / output.value on an LLM span). */
export function textMessages(role: string, content: string, finishReason?: string): string {
  const message: GenAiMessage = { role, parts: [{ type: 'text', content }] };
  if (finishReason) message.finish_reason = finishReason;
  return JSON.stringify([message]);
}

function parseJsonArray(value: AttributeValue | undefined): unknown[] | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    return Array.isArray(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function record(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : {};
}

function optionalId(value: unknown): { id?: string } {
  return typeof value === 'string' && value !== '' ? { id: value } : {};
}

/** One AI SDK content part: text, tool-call (v4 `args`, v5 `input`), tool-result (`result` / `output`). */
function aiSdkPart(raw: unknown): GenAiPart | undefined {
  const part = record(raw);
  switch (part.type) {
    case 'text':
      return typeof part.text === 'string' ? { type: 'text', content: part.text } : undefined;
    case 'tool-call':
      return typeof part.toolName === 'string'
        ? { type: 'tool_call', ...optionalId(part.toolCallId), name: part.toolName, arguments: structuredArguments(part.input ?? part.args) }
        : undefined;
    case 'tool-result':
      return { type: 'tool_call_response', ...optionalId(part.toolCallId), response: part.output ?? part.result ?? null };
    default:
      return undefined;
  }
}

/** Vercel AI SDK `ai.prompt.messages`: JSON [{ role, content: string | part[] }]. */
export function aiSdkInputMessages(value: AttributeValue | undefined): string | undefined {
  const list = parseJsonArray(value);
  if (!list) return undefined;
  const messages: GenAiMessage[] = [];
  for (const raw of list) {
    const item = record(raw);
    if (typeof item.role !== 'string') continue;
    const parts: GenAiPart[] =
      typeof item.content === 'string'
        ? [{ type: 'text', content: item.content }]
        : Array.isArray(item.content)
          ? item.content.map(aiSdkPart).filter((p): p is GenAiPart => p !== undefined)
          : [];
    if (parts.length > 0) messages.push({ role: item.role, parts });
  }
  return messages.length > 0 ? JSON.stringify(messages) : undefined;
}

/** Vercel AI SDK `ai.response.text` + `ai.response.toolCalls` + `ai.response.finishReason`. */
export function aiSdkOutputMessages(attrs: Attributes): string | undefined {
  const parts: GenAiPart[] = [];
  const responseText = attrs['ai.response.text'];
  if (typeof responseText === 'string' && responseText !== '') parts.push({ type: 'text', content: responseText });
  for (const raw of parseJsonArray(attrs['ai.response.toolCalls']) ?? []) {
    const call = record(raw);
    if (typeof call.toolName !== 'string') continue;
    parts.push({ type: 'tool_call', ...optionalId(call.toolCallId), name: call.toolName, arguments: structuredArguments(call.input ?? call.args) });
  }
  if (parts.length === 0) return undefined;
  const message: GenAiMessage = { role: 'assistant', parts };
  const finish = attrs['ai.response.finishReason'];
  if (typeof finish === 'string' && finish !== '') message.finish_reason = finish;
  return JSON.stringify([message]);
}
