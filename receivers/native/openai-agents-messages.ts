/**
 * The OpenAI Agents SDK's generation `input` / `output` as OpenTelemetry GenAI messages
 * ([{ role, parts: [...] , finish_reason? }]). The SDK records what it sent to and got from the
 * model: Chat Completions messages for input, and for output either messages (the Python SDK) or
 * whole `chat.completion` objects (the JS SDK). Responses API items (`type: message`,
 * `function_call`, `function_call_output`) are understood as well, since other model adapters
 * record those.
 */

interface Part {
  type: string;
  [key: string]: unknown;
}

export interface GenAiMessage {
  role: string;
  name?: string;
  parts: Part[];
  finish_reason?: string;
}

/** What a chat.completion in the output says about the response beyond its messages. */
export interface CompletionFacts {
  responseId?: string;
  responseModel?: string;
  finishReasons: string[];
  usage?: Record<string, unknown>;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Tool arguments travel as JSON text; kept structured when they parse, as enrich does. */
function structured(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

/** One content part of a Chat Completions or Responses message. */
function contentPart(raw: unknown): Part | undefined {
  if (typeof raw === 'string') return { type: 'text', content: raw };
  const part = record(raw);
  if (!part || typeof part.type !== 'string') return undefined;
  switch (part.type) {
    case 'text':
    case 'input_text':
    case 'output_text':
      return typeof part.text === 'string' ? { type: 'text', content: part.text } : undefined;
    case 'refusal':
      return typeof part.refusal === 'string' ? { type: 'text', content: part.refusal } : undefined;
    default:
      // Images, audio, files: the GenAI schema allows other part types with their own fields.
      return part as Part;
  }
}

function contentParts(content: unknown): Part[] | undefined {
  if (content === null || content === undefined) return [];
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', content }];
  if (!Array.isArray(content)) return undefined;
  const parts: Part[] = [];
  for (const raw of content) {
    const part = contentPart(raw);
    if (!part) return undefined;
    parts.push(part);
  }
  return parts;
}

function toolCallParts(calls: unknown): Part[] {
  if (!Array.isArray(calls)) return [];
  const parts: Part[] = [];
  for (const raw of calls) {
    const call = record(raw);
    const fn = record(call?.function);
    const name = nonEmpty(fn?.name);
    if (!call || !name) continue;
    const id = nonEmpty(call.id);
    parts.push({ type: 'tool_call', ...(id ? { id } : {}), name, ...(fn?.arguments !== undefined ? { arguments: structured(fn.arguments) } : {}) });
  }
  return parts;
}

/** A Chat Completions message, or a Responses API item; undefined when it is neither. */
function message(raw: unknown, finishReason?: string): GenAiMessage | undefined {
  const item = record(raw);
  if (!item) return undefined;
  if (item.type === 'function_call' && typeof item.name === 'string') {
    const id = nonEmpty(item.call_id) ?? nonEmpty(item.id);
    return { role: 'assistant', parts: [{ type: 'tool_call', ...(id ? { id } : {}), name: item.name, arguments: structured(item.arguments) }] };
  }
  if (item.type === 'function_call_output') {
    const id = nonEmpty(item.call_id);
    return { role: 'tool', parts: [{ type: 'tool_call_response', ...(id ? { id } : {}), response: item.output ?? null }] };
  }
  if (typeof item.role !== 'string' || (item.type !== undefined && item.type !== 'message')) return undefined;
  let parts: Part[] | undefined;
  if (item.role === 'tool') {
    const id = nonEmpty(item.tool_call_id);
    parts = [{ type: 'tool_call_response', ...(id ? { id } : {}), response: item.content ?? null }];
  } else {
    parts = contentParts(item.content);
    if (!parts) return undefined;
    if (parts.length === 0 && typeof item.refusal === 'string') parts.push({ type: 'text', content: item.refusal });
    parts.push(...toolCallParts(item.tool_calls));
  }
  const out: GenAiMessage = { role: item.role, parts };
  const name = nonEmpty(item.name);
  if (name) out.name = name;
  if (finishReason) out.finish_reason = finishReason;
  return out;
}

/**
 * The messages of an input or output list, or undefined when some item is of a shape this does
 * not know (the caller then keeps the list as JSON text rather than lose part of it).
 */
export function genAiMessages(list: unknown, facts?: CompletionFacts): GenAiMessage[] | undefined {
  if (!Array.isArray(list)) return undefined;
  const out: GenAiMessage[] = [];
  for (const raw of list) {
    const item = record(raw);
    if (facts && item && item.object === 'chat.completion' && Array.isArray(item.choices)) {
      facts.responseId ??= nonEmpty(item.id);
      facts.responseModel ??= nonEmpty(item.model);
      facts.usage ??= record(item.usage);
      for (const rawChoice of item.choices) {
        const choice = record(rawChoice);
        const finish = nonEmpty(choice?.finish_reason);
        if (finish) facts.finishReasons.push(finish);
        const converted = message(choice?.message, finish);
        if (!converted) return undefined;
        out.push(converted);
      }
      continue;
    }
    const converted = message(raw);
    if (!converted) return undefined;
    out.push(converted);
  }
  return out;
}
