/**
 * Observation input/output objects are freeform; when they carry a conversation in one of the
 * common provider shapes (OpenAI chat / responses, Anthropic messages, plain prompt or text) it
 * becomes OpenTelemetry GenAI messages: [{ role, parts: [{ type: 'text', content } | tool_call |
 * tool_call_response], finish_reason? }].
 */
import { genAiMessageOf, genAiMessagesOf, genAiPartsOf, textMessage, type ChatMessageOptions, type GenAiMessage } from '../../core/genai-messages';

export type { GenAiMessage };

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

/** Observations are freeform: what is not text or a tool call is left out rather than refused. */
const INPUT: ChatMessageOptions = { defaultRole: 'user', otherBlocks: 'drop' };
const OUTPUT: ChatMessageOptions = { defaultRole: 'assistant', otherBlocks: 'drop' };

function without(object: Json, keys: readonly string[]): Json {
  const rest: Json = {};
  for (const [key, value] of Object.entries(object)) if (!keys.includes(key)) rest[key] = value;
  return rest;
}

/** { messages: [...] } (with Anthropic's separate `system`) or { prompt: "..." }. */
export function inputMessages(input: Json): FoundMessages | undefined {
  const system = input.system === undefined ? undefined : genAiPartsOf(input.system, INPUT);
  const head: GenAiMessage[] = system && system.length > 0 ? [{ role: 'system', parts: system }] : [];
  const used = system ? ['system'] : [];
  if (Array.isArray(input.messages)) {
    const messages = genAiMessagesOf(input.messages, INPUT);
    if (!messages) return undefined;
    return { messages: [...head, ...messages], finishReasons: [], rest: without(input, [...used, 'messages']) };
  }
  if (typeof input.prompt === 'string') {
    return { messages: [...head, textMessage('user', input.prompt)], finishReasons: [], rest: without(input, [...used, 'prompt']) };
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
    const messages = genAiMessagesOf(output.messages, OUTPUT);
    return messages && { messages, used: ['messages'] };
  }
  if (Array.isArray(output.choices)) {
    const messages: GenAiMessage[] = [];
    for (const choice of output.choices) {
      if (!isRecord(choice)) return undefined;
      const message = typeof choice.text === 'string' ? genAiMessageOf({ content: choice.text }, OUTPUT) : genAiMessageOf(choice.message, OUTPUT);
      if (!message) return undefined;
      if (typeof choice.finish_reason === 'string') message.finish_reason = choice.finish_reason;
      messages.push(message);
    }
    return { messages, used: ['choices'] };
  }
  if (isRecord(output.message)) {
    const message = genAiMessageOf(output.message, OUTPUT);
    return message && { messages: [message], used: ['message'] };
  }
  if (typeof output.content === 'string' || Array.isArray(output.content)) {
    const message = genAiMessageOf({ role: output.role, content: output.content, tool_calls: output.tool_calls }, OUTPUT);
    return message && { messages: [message], used: ['role', 'content', 'tool_calls'] };
  }
  if (typeof output.text === 'string') return { messages: [textMessage('assistant', output.text)], used: ['text'] };
  return undefined;
}
