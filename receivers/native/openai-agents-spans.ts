/**
 * The OpenAI Agents SDK's `span_data` (one shape per span type) mapped onto the OpenTelemetry
 * GenAI attributes. Fields a type's mapping does not use are kept under
 * `openai.agents.span_data.<field>`, so nothing the client sent is lost, except audio payloads
 * (transcription input, speech output), which are not text and would swamp the row.
 */
import { flattenJson, jsonText } from '../../core/ingest/attributes';
import type { Attributes, SpanKind } from '../../core/span';
import { genAiMessages, type CompletionFacts, type GenAiMessage } from './openai-agents-messages';

/** A span's `span_data` as validated: a type and whatever that type carries. */
export type AgentsSpanData = { type: string } & Record<string, unknown>;

export interface MappedSpanData {
  name: string;
  kind: SpanKind;
  attributes: Attributes;
}

const SPAN_DATA_PREFIX = 'openai.agents.span_data';

interface Mapping {
  /** span_data fields this mapping accounts for (the rest are kept under SPAN_DATA_PREFIX). */
  uses: readonly string[];
  map(data: AgentsSpanData, out: Attributes): { name: string; kind?: SpanKind };
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function strings(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((v) => typeof v === 'string') ? (value as string[]) : undefined;
}

/** A token count as int64, when it is one (counts arrive as JSON numbers). */
function count(value: unknown): bigint | undefined {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return BigInt(Math.trunc(value));
  if (typeof value === 'string' && /^\d+$/.test(value)) return BigInt(value);
  return undefined;
}

/** JSON text of a value that is there: not null and not ''. */
function present(value: unknown): string | undefined {
  return value === undefined || value === null || value === '' ? undefined : jsonText(value);
}

function setIf(out: Attributes, key: string, value: Attributes[string] | undefined): void {
  if (value !== undefined) out[key] = value;
}

/**
 * Token usage in any of the shapes the SDKs send: Responses-style input/output_tokens,
 * Chat-Completions-style prompt/completion_tokens, with details either beside them or moved under
 * `details` by the JS exporter.
 */
function mapUsage(usage: unknown, out: Attributes): void {
  const top = record(usage);
  if (!top) return;
  const all = { ...record(top.details), ...top };
  setIf(out, 'gen_ai.usage.input_tokens', count(all.input_tokens) ?? count(all.prompt_tokens));
  setIf(out, 'gen_ai.usage.output_tokens', count(all.output_tokens) ?? count(all.completion_tokens));
  setIf(out, 'gen_ai.usage.total_tokens', count(all.total_tokens));
  const inputDetails = record(all.input_tokens_details) ?? record(all.prompt_tokens_details);
  const outputDetails = record(all.output_tokens_details) ?? record(all.completion_tokens_details);
  setIf(out, 'gen_ai.usage.cache_read.input_tokens', count(inputDetails?.cached_tokens) ?? count(all.cached_input_tokens));
  setIf(out, 'gen_ai.usage.reasoning.output_tokens', count(outputDetails?.reasoning_tokens));
}

const DOUBLE_SETTINGS: Record<string, string> = {
  temperature: 'gen_ai.request.temperature',
  top_p: 'gen_ai.request.top_p',
  frequency_penalty: 'gen_ai.request.frequency_penalty',
  presence_penalty: 'gen_ai.request.presence_penalty',
};
const INT_SETTINGS: Record<string, string> = {
  max_tokens: 'gen_ai.request.max_tokens',
  max_output_tokens: 'gen_ai.request.max_tokens',
  max_completion_tokens: 'gen_ai.request.max_tokens',
  seed: 'gen_ai.request.seed',
};

/** Sampling settings onto gen_ai.request.*; the others (reasoning_effort, base_url, ...) kept as they are. */
function mapModelConfig(config: unknown, out: Attributes): void {
  const settings = record(config);
  if (!settings) return;
  for (const [key, value] of Object.entries(settings)) {
    if (value === null || value === undefined) continue;
    if (Object.hasOwn(DOUBLE_SETTINGS, key) && typeof value === 'number') out[DOUBLE_SETTINGS[key]] = value;
    else if (Object.hasOwn(INT_SETTINGS, key) && count(value) !== undefined) out[INT_SETTINGS[key]] = count(value) ?? 0n;
    else if (key === 'stop' && (typeof value === 'string' || strings(value))) out['gen_ai.request.stop_sequences'] = typeof value === 'string' ? [value] : (value as string[]);
    else flattenJson(out, `openai.agents.model_config.${key}`, value);
  }
}

/** Messages as GenAI JSON when every item is understood, else the list as the client sent it. */
function setMessages(out: Attributes, key: string, list: unknown, facts?: CompletionFacts): void {
  if (list === undefined || list === null) return;
  const messages = genAiMessages(list, facts);
  out[key] = messages ? JSON.stringify(messages) : jsonText(list);
}

function textMessage(role: string, content: unknown): string | undefined {
  const value = text(content);
  if (value === undefined) return undefined;
  const message: GenAiMessage = { role, parts: [{ type: 'text', content: value }] };
  return JSON.stringify([message]);
}

function audioFormat(value: unknown): string | undefined {
  return text(record(value)?.format);
}

const MAPPINGS: Record<string, Mapping> = {
  agent: {
    uses: ['name', 'handoffs', 'tools', 'output_type'],
    map: (d, out) => {
      out['gen_ai.operation.name'] = 'invoke_agent';
      setIf(out, 'gen_ai.agent.name', text(d.name));
      setIf(out, 'openai.agents.agent.handoffs', strings(d.handoffs));
      setIf(out, 'openai.agents.agent.tools', strings(d.tools));
      setIf(out, 'openai.agents.agent.output_type', text(d.output_type));
      return { name: text(d.name) ?? 'agent' };
    },
  },
  generation: {
    uses: ['model', 'model_config', 'input', 'output', 'usage'],
    map: (d, out) => {
      const model = text(d.model);
      out['gen_ai.operation.name'] = 'chat';
      setIf(out, 'gen_ai.request.model', model);
      mapModelConfig(d.model_config, out);
      const facts: CompletionFacts = { finishReasons: [] };
      setMessages(out, 'gen_ai.input.messages', d.input);
      setMessages(out, 'gen_ai.output.messages', d.output, facts);
      // The JS SDK leaves `usage` unset on success: the counts are in the chat.completion output.
      // The span's own usage, when set, is what the SDK reported and wins.
      mapUsage(facts.usage, out);
      mapUsage(d.usage, out);
      setIf(out, 'gen_ai.response.id', facts.responseId);
      setIf(out, 'gen_ai.response.model', facts.responseModel);
      if (facts.finishReasons.length > 0) out['gen_ai.response.finish_reasons'] = facts.finishReasons;
      return { name: model ?? 'generation', kind: 'client' };
    },
  },
  response: {
    uses: ['response_id', 'usage', 'model'],
    map: (d, out) => {
      out['gen_ai.operation.name'] = 'chat';
      // Response spans come from the Responses API model, which only OpenAI serves.
      out['gen_ai.provider.name'] = 'openai';
      setIf(out, 'gen_ai.response.id', text(d.response_id));
      setIf(out, 'gen_ai.request.model', text(d.model));
      mapUsage(d.usage, out);
      return { name: 'response', kind: 'client' };
    },
  },
  function: {
    uses: ['name', 'input', 'output', 'mcp_data'],
    map: (d, out) => {
      out['gen_ai.operation.name'] = 'execute_tool';
      out['gen_ai.tool.type'] = 'function';
      setIf(out, 'gen_ai.tool.name', text(d.name));
      // The JS SDK fills a missing input or output with '': that is no value, not an empty one.
      setIf(out, 'gen_ai.tool.call.arguments', present(d.input));
      setIf(out, 'gen_ai.tool.call.result', present(d.output));
      setIf(out, 'openai.agents.function.mcp_data', present(d.mcp_data));
      return { name: text(d.name) ?? 'function' };
    },
  },
  handoff: {
    uses: ['from_agent', 'to_agent'],
    map: (d, out) => {
      setIf(out, 'openai.agents.handoff.from', text(d.from_agent));
      setIf(out, 'openai.agents.handoff.to', text(d.to_agent));
      return { name: 'handoff' };
    },
  },
  guardrail: {
    uses: ['name', 'triggered'],
    map: (d, out) => {
      setIf(out, 'tracehouse.guardrail.name', text(d.name));
      if (typeof d.triggered === 'boolean') out['tracehouse.guardrail.triggered'] = d.triggered;
      return { name: text(d.name) ?? 'guardrail' };
    },
  },
  custom: {
    uses: ['name', 'data'],
    map: (d, out) => {
      // Task and turn spans arrive as custom spans; their usage sums a whole run, so it stays
      // here rather than in gen_ai.usage.*, where it would be counted twice.
      flattenJson(out, 'openai.agents.custom', d.data);
      return { name: text(d.name) ?? 'custom' };
    },
  },
  transcription: {
    uses: ['input', 'output', 'model', 'model_config'],
    map: (d, out) => {
      setIf(out, 'gen_ai.request.model', text(d.model));
      mapModelConfig(d.model_config, out);
      setIf(out, 'openai.agents.audio.input_format', audioFormat(d.input));
      setIf(out, 'gen_ai.output.messages', textMessage('assistant', d.output));
      return { name: 'transcription', kind: 'client' };
    },
  },
  speech: {
    uses: ['input', 'output', 'model', 'model_config'],
    map: (d, out) => {
      setIf(out, 'gen_ai.request.model', text(d.model));
      mapModelConfig(d.model_config, out);
      setIf(out, 'gen_ai.input.messages', textMessage('user', d.input));
      setIf(out, 'openai.agents.audio.output_format', audioFormat(d.output));
      return { name: 'speech', kind: 'client' };
    },
  },
  speech_group: {
    uses: ['input'],
    map: (d, out) => {
      setIf(out, 'gen_ai.input.messages', textMessage('user', d.input));
      return { name: 'speech_group' };
    },
  },
  mcp_tools: {
    uses: ['server', 'result'],
    map: (d, out) => {
      setIf(out, 'openai.agents.mcp.server', text(d.server));
      setIf(out, 'openai.agents.mcp.tools', strings(d.result));
      return { name: 'mcp_tools' };
    },
  },
};

/** The name, kind and attributes of one span_data (its type is recorded by the caller). */
export function mapSpanData(data: AgentsSpanData): MappedSpanData {
  const attributes: Attributes = {};
  const mapping = Object.hasOwn(MAPPINGS, data.type) ? MAPPINGS[data.type] : undefined;
  const mapped = mapping?.map(data, attributes);
  const used = new Set(['type', ...(mapping?.uses ?? [])]);
  for (const [key, value] of Object.entries(data)) {
    if (!used.has(key)) flattenJson(attributes, `${SPAN_DATA_PREFIX}.${key}`, value);
  }
  return {
    name: mapped?.name ?? text(data.name) ?? data.type,
    kind: mapped?.kind ?? 'internal',
    attributes,
  };
}
