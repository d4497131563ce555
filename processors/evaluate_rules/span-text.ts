import { messagesText as textOfMessages } from '../../core/rules/text-rules';
import type { AttributeValue, Attributes } from '../../core/span';
import type { RuleTarget } from './rule-config';

/**
 * The text a rule reads from a span: absent (the rule does not apply), the text, or a reason it
 * cannot be read (the rule errs).
 */
export type TargetText = { kind: 'absent' } | { kind: 'text'; text: string } | { kind: 'unreadable'; reason: string };

const ABSENT: TargetText = { kind: 'absent' };

// The first key present wins: the GenAI messages, then the older and OpenInference conventions.
const OUTPUT_KEYS = ['gen_ai.output.messages', 'gen_ai.completion', 'output.value'] as const;
const INPUT_KEYS = ['gen_ai.input.messages', 'gen_ai.prompt', 'input.value', 'tracehouse.input_text'] as const;
const MESSAGE_KEYS: ReadonlySet<string> = new Set(['gen_ai.output.messages', 'gen_ai.input.messages']);

/** The texts of one span, each read (and its messages JSON parsed) once however many rules use it. */
export class SpanTexts {
  private output: TargetText | undefined;
  private input: TargetText | undefined;

  constructor(private readonly attributes: Attributes) {}

  of(target: RuleTarget): TargetText {
    if (target === 'output') return (this.output ??= firstText(this.attributes, OUTPUT_KEYS));
    if (target === 'input') return (this.input ??= firstText(this.attributes, INPUT_KEYS));
    const value = this.attributes[target.attribute];
    if (value === undefined) return ABSENT;
    if (typeof value === 'string') return { kind: 'text', text: value };
    return { kind: 'unreadable', reason: `attribute ${target.attribute} is ${typeName(value)}, not a string` };
  }
}

function firstText(attributes: Attributes, keys: readonly string[]): TargetText {
  for (const key of keys) {
    const value = attributes[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string') return { kind: 'unreadable', reason: `attribute ${key} is ${typeName(value)}, not a string` };
    return MESSAGE_KEYS.has(key) ? messagesText(key, value) : { kind: 'text', text: value };
  }
  return ABSENT;
}

/**
 * The text parts of a GenAI messages document, joined by newlines. Messages without any text part
 * (only tool calls) have no text to judge, so the rule does not apply to them rather than
 * flagging every tool-calling step as empty.
 */
function messagesText(key: string, json: string): TargetText {
  let messages: unknown;
  try {
    messages = JSON.parse(json);
  } catch {
    return { kind: 'unreadable', reason: `attribute ${key} is not valid JSON` };
  }
  if (!Array.isArray(messages)) return { kind: 'unreadable', reason: `attribute ${key} is not a JSON array of messages` };
  const text = textOfMessages(messages);
  return text === undefined ? ABSENT : { kind: 'text', text };
}

/** How a value's type is named in findings (never the value itself). */
export function typeName(value: AttributeValue): string {
  if (value === null) return 'empty';
  if (typeof value === 'bigint') return 'an int';
  if (typeof value === 'number') return 'a double';
  if (typeof value === 'boolean') return 'a bool';
  if (typeof value === 'string') return 'a string';
  if (value instanceof Uint8Array) return 'bytes';
  if (Array.isArray(value)) return 'an array';
  return 'a kvlist';
}
