/**
 * What one span tells agent-run detection: whether it is a tool call (which tool, with which
 * arguments, did it fail) or a model call (which input, truncated, how many input tokens). Inputs
 * and arguments are reduced to hashes here, so the per-trace state never holds payload text.
 */
import { createHash } from 'node:crypto';
import { attributeToJson, attributeToString } from '../span';
import type { AttributeValue, Attributes, Span } from '../span';
import { hash53 } from '../string-hash';

export const FINDING_RECORD_TYPE = 'agent_finding';

export type ToolFailure = 'error status' | 'error result';

/**
 * What makes two calls of a trace the same call. Counted by `key`, a cheap hash computed for every
 * span; the stable id of a loop's record (patternId) is a SHA-256 of the same parts, computed only
 * when a loop is found.
 */
export interface Pattern {
  key: number;
  /** For patternId: the span's own strings (and normalized arguments), not kept past the span. */
  parts: readonly string[];
}

export interface ToolCallSignal {
  kind: 'tool';
  name: string;
  /** The tool name and its normalized arguments. */
  pattern: Pattern;
  failure?: ToolFailure;
}

export interface ModelCallSignal {
  kind: 'model';
  /** The model and its input; absent when the span carries no input. */
  pattern?: Pattern;
  truncated: boolean;
  inputTokens?: number;
  model?: string;
}

export type SpanSignal = ToolCallSignal | ModelCallSignal;

// Operations that are a model call. Agent and workflow spans often repeat their first model
// call's input and sum the usage of the whole run, so they would count a call twice.
const MODEL_OPERATIONS: ReadonlySet<string> = new Set(['chat', 'text_completion', 'generate_content']);
const INPUT_KEYS = ['gen_ai.input.messages', 'gen_ai.prompt', 'input.value', 'tracehouse.input_text'] as const;
const INPUT_TOKEN_KEYS = ['gen_ai.usage.input_tokens', 'gen_ai.usage.prompt_tokens'] as const;
// `length` (OpenAI), `max_tokens` (Anthropic, Gemini's MAX_TOKENS), `max_output_tokens` (Responses).
const TRUNCATED: ReadonlySet<string> = new Set(['length', 'max_tokens', 'max_output_tokens']);
const TRUNCATED_IN_MESSAGES = /"finish_reason"\s*:\s*"(?:length|max_tokens|max_output_tokens)"/i;
// Arguments are normalized by parsing; text beyond this is hashed as it is (parsing it per span
// would cost more than a loop that large is worth).
const MAX_PARSED_ARGUMENTS = 256 * 1024;
const MAX_TOOL_NAME = 128;

/**
 * The workspace a span belongs to (stamped by its receiver on the span, or on its resource by an
 * upstream tier), '' when it names none. Agent-run state is kept per workspace and trace.
 */
export function workspaceOf(span: Span): string {
  const own = span.attributes['tracehouse.workspace'];
  if (typeof own === 'string') return own;
  const resource = span.resource.attributes['tracehouse.workspace'];
  return typeof resource === 'string' ? resource : '';
}

/** What the span says, or undefined when it is neither a tool nor a model call. */
export function spanSignal(span: Span): SpanSignal | undefined {
  const attrs = span.attributes;
  const recordType = attrs['tracehouse.record_type'];
  if (recordType === FINDING_RECORD_TYPE) return undefined;
  const operation = attrs['gen_ai.operation.name'];
  if (operation === 'execute_tool' || recordType === 'tool_call') return toolSignal(span);
  if (operation !== undefined && !(typeof operation === 'string' && MODEL_OPERATIONS.has(operation))) return undefined;
  // Without an operation name, a log record or a span naming a model is taken as a model call
  // (older instrumentations); an unnamed span with only an input may be a chain wrapping one.
  if (operation === undefined && recordType !== 'log' && modelOf(attrs) === undefined) return undefined;
  return modelSignal(attrs);
}

function toolSignal(span: Span): ToolCallSignal {
  const attrs = span.attributes;
  const declared = attrs['gen_ai.tool.name'];
  const name = (typeof declared === 'string' && declared !== '' ? declared : span.name.replace(/^execute_tool /, '')).slice(0, MAX_TOOL_NAME);
  const args = attrs['gen_ai.tool.call.arguments'];
  const failure: ToolFailure | undefined =
    span.status.code === 'error' ? 'error status' : isErrorResult(attrs['gen_ai.tool.call.result']) ? 'error result' : undefined;
  return { kind: 'tool', name, pattern: patternOf(['tool', name, args === undefined ? '' : normalizedArguments(args)]), ...(failure ? { failure } : {}) };
}

function modelSignal(attrs: Attributes): ModelCallSignal {
  const model = modelOf(attrs);
  const input = firstPresent(attrs, INPUT_KEYS);
  const instructions = attrs['gen_ai.system_instructions'];
  const signal: ModelCallSignal = { kind: 'model', truncated: isTruncated(attrs) };
  if (input !== undefined) {
    // The messages are hashed as sent: receivers write the same JSON for the same conversation,
    // and re-serializing a long conversation per span would cost more than it could catch.
    signal.pattern = patternOf(['model', model ?? '', attributeToString(input), instructions === undefined ? '' : attributeToString(instructions)]);
  }
  const tokens = count(firstPresent(attrs, INPUT_TOKEN_KEYS));
  if (tokens !== undefined) signal.inputTokens = tokens;
  if (model !== undefined) signal.model = model;
  return signal;
}

function modelOf(attrs: Attributes): string | undefined {
  for (const key of ['gen_ai.response.model', 'gen_ai.request.model']) {
    const value = attrs[key];
    if (typeof value === 'string' && value !== '') return value;
  }
  return undefined;
}

function firstPresent(attrs: Attributes, keys: readonly string[]): AttributeValue | undefined {
  for (const key of keys) {
    const value = attrs[key];
    if (value !== undefined && value !== null && value !== '') return value;
  }
  return undefined;
}

function count(value: AttributeValue | undefined): number | undefined {
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && /^\d{1,15}$/.test(value)) return Number(value);
  return undefined;
}

function isTruncated(attrs: Attributes): boolean {
  const reasons = finishReasons(attrs['gen_ai.response.finish_reasons']);
  if (reasons !== undefined) return reasons.some((r) => TRUNCATED.has(r.toLowerCase()));
  // Some sources only record the finish reason inside the output messages.
  const output = attrs['gen_ai.output.messages'];
  return typeof output === 'string' && TRUNCATED_IN_MESSAGES.test(output);
}

function finishReasons(value: AttributeValue | undefined): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (text.startsWith('[')) {
    const parsed = parseJson(text);
    if (Array.isArray(parsed)) return parsed.filter((v): v is string => typeof v === 'string');
  }
  return text.split(',').map((r) => r.trim());
}

/** A result whose JSON object has an `error` that is set (`{"error": null}` is a success). */
function isErrorResult(value: AttributeValue | undefined): boolean {
  let result: unknown;
  if (typeof value === 'string') {
    const text = value.trim();
    if (!text.startsWith('{')) return false;
    result = parseJson(text);
  } else if (value !== undefined && value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Uint8Array)) {
    result = attributeToJson(value);
  }
  if (typeof result !== 'object' || result === null || Array.isArray(result) || !Object.prototype.hasOwnProperty.call(result, 'error')) return false;
  const error = (result as Record<string, unknown>).error;
  return error !== null && error !== undefined && error !== false && error !== '';
}

/**
 * Arguments as canonical JSON (keys sorted, no whitespace), so `{"q": 1, "n": 2}` and
 * `{"n":2,"q":1}` are the same call; text that is not JSON is compared trimmed.
 */
export function normalizedArguments(value: AttributeValue): string {
  if (typeof value === 'string') {
    const text = value.trim();
    if (text.length > MAX_PARSED_ARGUMENTS) return text;
    const parsed = parseJson(text);
    return parsed === undefined ? text : canonicalJson(parsed);
  }
  return canonicalJson(attributeToJson(value));
}

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    return `{${Object.keys(record)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Patterns are counted per span, so their key is the cheap hash: it groups within one trace of one
 * workspace, in memory only (a collision could only merge two of the sender's own calls).
 */
function patternOf(parts: readonly string[]): Pattern {
  return { key: hash53(parts), parts };
}

/**
 * The stable id of a pattern (96 bits of SHA-256, base64url): part of the id of the record a loop
 * becomes, which is stored and must come out the same on a replay, before and after an upgrade.
 */
export function patternId(pattern: Pattern): string {
  const hash = createHash('sha256');
  for (const part of pattern.parts) hash.update(part, 'utf8').update('\u0000');
  return hash.digest('base64url').slice(0, 16);
}
