/**
 * The OpenAI Agents SDK's generation `input` / `output` as OpenTelemetry GenAI messages
 * ([{ role, parts: [...] , finish_reason? }]). The SDK records what it sent to and got from the
 * model: Chat Completions messages for input, and for output either messages (the Python SDK) or
 * whole `chat.completion` objects (the JS SDK). Responses API items (`type: message`,
 * `function_call`, `function_call_output`) are understood as well, since other model adapters
 * record those.
 */
import { genAiMessageOf, type ChatMessageOptions, type GenAiMessage } from '../../core/genai-messages';

export type { GenAiMessage };

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

/** Images, audio and files stay as parts of their own type: the SDK's record is all there is. */
const OPTIONS: ChatMessageOptions = { otherBlocks: 'keep' };

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
        const converted = genAiMessageOf(choice?.message, OPTIONS);
        if (!converted) return undefined;
        if (finish) converted.finish_reason = finish;
        out.push(converted);
      }
      continue;
    }
    const converted = genAiMessageOf(raw, OPTIONS);
    if (!converted) return undefined;
    out.push(converted);
  }
  return out;
}
