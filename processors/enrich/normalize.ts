/**
 * Normalization onto the OpenTelemetry GenAI attributes. Each convention is one data table of
 * "first present source → canonical target" rows, so the component README mirrors it row for row
 * (a test keeps the two in step). Originals are kept; a canonical attribute already on the span is
 * never overwritten here (token conversion is tokens.ts's job).
 */
import type { AttributeValue, Attributes } from '../../core/span';
import type { AttributeDraft } from './attribute-draft';
import {
  aiSdkInputMessages,
  aiSdkOutputMessages,
  openInferenceMessages,
  openLlmetryConversation,
  textMessages,
} from './messages';
import { canonicalProvider } from './providers';
import { toCount } from './tokens';

export type ConventionName = 'openai_agents' | 'openinference' | 'vercel_ai' | 'openllmetry' | 'genai_deprecated';

/** How a source value becomes the target value. */
type Transform = 'count' | 'provider' | 'text';

/** Spans a row applies to, beyond the convention being detected. Named so the README can say it. */
export type Guard = 'ai_sdk_call' | 'ai_sdk_tool' | 'traceloop_agent' | 'traceloop_tool';

export interface AttributeMapping {
  /** Source attributes; the first present one is used. */
  from: readonly string[];
  to: string;
  transform?: Transform;
  only?: Guard;
}

export interface ConventionTable {
  name: ConventionName;
  title: string;
  /** Cheap check that the span uses this convention at all. */
  detect(attrs: Attributes): boolean;
  /** The attributes the rows read (the OpenAI Agents SDK nests or prefixes its span data). */
  view?(attrs: Attributes): Attributes;
  mappings: readonly AttributeMapping[];
  operation?(attrs: Attributes): string | undefined;
  messages?(attrs: Attributes): { input?: string; output?: string };
}

const row = (from: string | readonly string[], to: string, transform?: Transform, only?: Guard): AttributeMapping => ({
  from: typeof from === 'string' ? [from] : from,
  to,
  ...(transform ? { transform } : {}),
  ...(only ? { only } : {}),
});

export const GUARDS: Record<Guard, { describe: string; test(attrs: Attributes): boolean }> = {
  ai_sdk_call: {
    describe: 'AI SDK call spans',
    test: (a) => typeof a['ai.operationId'] === 'string' && /\.do(?:Generate|Stream|Embed)$/.test(a['ai.operationId']),
  },
  ai_sdk_tool: {
    describe: 'AI SDK tool spans',
    test: (a) => a['ai.operationId'] === 'ai.toolCall',
  },
  traceloop_agent: {
    describe: '`traceloop.span.kind` = `agent`',
    test: (a) => a['traceloop.span.kind'] === 'agent',
  },
  traceloop_tool: {
    describe: '`traceloop.span.kind` = `tool`',
    test: (a) => a['traceloop.span.kind'] === 'tool',
  },
};

function transform(value: AttributeValue, kind: Transform | undefined): AttributeValue | undefined {
  switch (kind) {
    case 'count':
      return toCount(value);
    case 'provider':
      return typeof value === 'string' ? canonicalProvider(value) : undefined;
    case 'text':
      return typeof value === 'string' ? value : undefined;
    default:
      return value;
  }
}

/** Own keys only: span data like "constructor" must not reach Object.prototype. */
function lookup(table: Readonly<Record<string, string>>, key: string | undefined): string | undefined {
  return key !== undefined && Object.hasOwn(table, key) ? table[key] : undefined;
}

const str = (attrs: Attributes, key: string): string | undefined => {
  const value = attrs[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
};

// --- OpenAI Agents SDK -------------------------------------------------------------------------

const AGENTS_PREFIXES = ['openai.agents.span_data', 'span_data'];
const AGENTS_TYPE_KEYS = AGENTS_PREFIXES.map((p) => `${p}.type`);

/** Flattens `openai.agents.span_data.*` / `span_data.*` (flat keys or a nested kvlist) to `span_data.*`. */
function agentsView(attrs: Attributes): Attributes {
  const view: Attributes = {};
  const flatten = (prefix: string, value: AttributeValue) => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Uint8Array)) {
      for (const key in value) flatten(`${prefix}.${key}`, value[key]);
    } else if (view[prefix] === undefined) {
      view[prefix] = value;
    }
  };
  for (const key in attrs) {
    for (const prefix of AGENTS_PREFIXES) {
      if (key === prefix || key.startsWith(`${prefix}.`)) flatten(`span_data${key.slice(prefix.length)}`, attrs[key]);
    }
  }
  return view;
}

const AGENTS_OPERATIONS: Record<string, string> = {
  generation: 'chat',
  response: 'chat',
  function: 'execute_tool',
  agent: 'invoke_agent',
};

const openaiAgents: ConventionTable = {
  name: 'openai_agents',
  title: 'OpenAI Agents SDK',
  detect: (a) => AGENTS_TYPE_KEYS.some((k) => a[k] !== undefined) || AGENTS_PREFIXES.some((p) => typeof a[p] === 'object' && a[p] !== null),
  view: agentsView,
  mappings: [
    row(['span_data.model', 'span_data.response.model'], 'gen_ai.request.model', 'text'),
    row('span_data.response_id', 'gen_ai.response.id', 'text'),
    row(['span_data.usage.input_tokens', 'span_data.usage.prompt_tokens', 'span_data.response.usage.input_tokens'], 'gen_ai.usage.input_tokens', 'count'),
    row(['span_data.usage.output_tokens', 'span_data.usage.completion_tokens', 'span_data.response.usage.output_tokens'], 'gen_ai.usage.output_tokens', 'count'),
    row(['span_data.usage.input_tokens_details.cached_tokens', 'span_data.response.usage.input_tokens_details.cached_tokens'], 'gen_ai.usage.cache_read.input_tokens', 'count'),
    row(['span_data.usage.output_tokens_details.reasoning_tokens', 'span_data.response.usage.output_tokens_details.reasoning_tokens'], 'gen_ai.usage.reasoning.output_tokens', 'count'),
    row('span_data.usage.total_tokens', 'gen_ai.usage.total_tokens', 'count'),
  ],
  operation: (v) => lookup(AGENTS_OPERATIONS, str(v, 'span_data.type')),
};

// Tool and agent names share `span_data.name`, so they are written by the operation step.
function agentsNames(view: Attributes, draft: AttributeDraft): boolean {
  const type = str(view, 'span_data.type');
  const name = str(view, 'span_data.name');
  let wrote = false;
  if (type === 'function') {
    wrote = draft.fill('gen_ai.tool.name', name) || wrote;
    wrote = draft.fill('gen_ai.tool.call.arguments', view['span_data.input'] ?? undefined) || wrote;
    wrote = draft.fill('gen_ai.tool.call.result', view['span_data.output'] ?? undefined) || wrote;
  } else if (type === 'agent') {
    wrote = draft.fill('gen_ai.agent.name', name) || wrote;
  }
  return wrote;
}

// --- OpenInference -----------------------------------------------------------------------------

const OPENINFERENCE_OPERATIONS: Record<string, string> = {
  LLM: 'chat',
  EMBEDDING: 'embeddings',
  TOOL: 'execute_tool',
  AGENT: 'invoke_agent',
};

const openInference: ConventionTable = {
  name: 'openinference',
  title: 'OpenInference',
  detect: (a) => a['openinference.span.kind'] !== undefined || a['llm.model_name'] !== undefined,
  mappings: [
    row(['llm.model_name', 'embedding.model_name'], 'gen_ai.request.model', 'text'),
    row(['llm.provider', 'llm.system'], 'gen_ai.provider.name', 'provider'),
    row('llm.token_count.prompt', 'gen_ai.usage.input_tokens', 'count'),
    row('llm.token_count.completion', 'gen_ai.usage.output_tokens', 'count'),
    row('llm.token_count.total', 'gen_ai.usage.total_tokens', 'count'),
    row(['llm.token_count.prompt_details.cache_read', 'llm.token_count.prompt_details.cache_input'], 'gen_ai.usage.cache_read.input_tokens', 'count'),
    row('llm.token_count.prompt_details.cache_write', 'gen_ai.usage.cache_creation.input_tokens', 'count'),
    row('llm.token_count.completion_details.reasoning', 'gen_ai.usage.reasoning.output_tokens', 'count'),
    row('session.id', 'gen_ai.conversation.id', 'text'),
    row('tool.name', 'gen_ai.tool.name', 'text'),
    row('tool_call.id', 'gen_ai.tool.call.id', 'text'),
    row('agent.name', 'gen_ai.agent.name', 'text'),
  ],
  operation: (a) => lookup(OPENINFERENCE_OPERATIONS, str(a, 'openinference.span.kind')?.toUpperCase()),
  messages: (a) => {
    let input = openInferenceMessages(a, 'input');
    let output = openInferenceMessages(a, 'output');
    // input.value/output.value are the raw call payload; only plain text on an LLM span is a message.
    if (str(a, 'openinference.span.kind')?.toUpperCase() === 'LLM') {
      const plain = (mime: string) => {
        const type = str(a, mime);
        return type === undefined || type === 'text/plain';
      };
      const inputValue = str(a, 'input.value');
      const outputValue = str(a, 'output.value');
      if (input === undefined && inputValue !== undefined && plain('input.mime_type')) input = textMessages('user', inputValue);
      if (output === undefined && outputValue !== undefined && plain('output.mime_type')) output = textMessages('assistant', outputValue);
    }
    return { input, output };
  },
};

// --- Vercel AI SDK -----------------------------------------------------------------------------

const vercelAi: ConventionTable = {
  name: 'vercel_ai',
  title: 'Vercel AI SDK',
  detect: (a) => a['ai.operationId'] !== undefined || a['ai.model.id'] !== undefined,
  mappings: [
    row('ai.model.id', 'gen_ai.request.model', 'text'),
    row('ai.model.provider', 'gen_ai.provider.name', 'provider'),
    row('ai.response.model', 'gen_ai.response.model', 'text'),
    row('ai.response.id', 'gen_ai.response.id', 'text'),
    row(['ai.settings.maxOutputTokens', 'ai.settings.maxTokens'], 'gen_ai.request.max_tokens', 'count'),
    row(['ai.usage.inputTokens', 'ai.usage.promptTokens', 'ai.usage.tokens'], 'gen_ai.usage.input_tokens', 'count', 'ai_sdk_call'),
    row(['ai.usage.outputTokens', 'ai.usage.completionTokens'], 'gen_ai.usage.output_tokens', 'count', 'ai_sdk_call'),
    row('ai.usage.totalTokens', 'gen_ai.usage.total_tokens', 'count', 'ai_sdk_call'),
    row(['ai.usage.inputTokenDetails.cacheReadTokens', 'ai.usage.cachedInputTokens'], 'gen_ai.usage.cache_read.input_tokens', 'count', 'ai_sdk_call'),
    row('ai.usage.inputTokenDetails.cacheWriteTokens', 'gen_ai.usage.cache_creation.input_tokens', 'count', 'ai_sdk_call'),
    row(['ai.usage.outputTokenDetails.reasoningTokens', 'ai.usage.reasoningTokens'], 'gen_ai.usage.reasoning.output_tokens', 'count', 'ai_sdk_call'),
    row('ai.toolCall.name', 'gen_ai.tool.name', 'text', 'ai_sdk_tool'),
    row('ai.toolCall.id', 'gen_ai.tool.call.id', 'text', 'ai_sdk_tool'),
    row(['ai.toolCall.input', 'ai.toolCall.args'], 'gen_ai.tool.call.arguments', undefined, 'ai_sdk_tool'),
    row(['ai.toolCall.output', 'ai.toolCall.result'], 'gen_ai.tool.call.result', undefined, 'ai_sdk_tool'),
  ],
  operation: (a) => {
    const id = str(a, 'ai.operationId');
    if (id === undefined) return undefined;
    if (id === 'ai.toolCall') return 'execute_tool';
    if (/\.doEmbed$/.test(id)) return 'embeddings';
    if (/\.do(?:Generate|Stream)$/.test(id)) return 'chat';
    return undefined;
  },
  messages: (a) =>
    GUARDS.ai_sdk_call.test(a) ? { input: aiSdkInputMessages(a['ai.prompt.messages']), output: aiSdkOutputMessages(a) } : {},
};

// --- OpenLLMetry (Traceloop) -------------------------------------------------------------------

const OPENLLMETRY_REQUEST_TYPES: Record<string, string> = {
  chat: 'chat',
  completion: 'text_completion',
  embedding: 'embeddings',
};

const openLlmetry: ConventionTable = {
  name: 'openllmetry',
  title: 'OpenLLMetry (Traceloop)',
  detect: (a) =>
    a['llm.request.type'] !== undefined ||
    a['llm.usage.total_tokens'] !== undefined ||
    a['traceloop.span.kind'] !== undefined ||
    a['gen_ai.prompt.0.content'] !== undefined ||
    a['gen_ai.prompt.0.role'] !== undefined ||
    a['gen_ai.completion.0.content'] !== undefined ||
    a['gen_ai.completion.0.role'] !== undefined,
  mappings: [
    row('llm.usage.total_tokens', 'gen_ai.usage.total_tokens', 'count'),
    row('traceloop.entity.name', 'gen_ai.agent.name', 'text', 'traceloop_agent'),
    row('traceloop.entity.name', 'gen_ai.tool.name', 'text', 'traceloop_tool'),
    row('traceloop.association.properties.session_id', 'gen_ai.conversation.id', 'text'),
    row('traceloop.association.properties.user_id', 'user.id', 'text'),
  ],
  operation: (a) => {
    const kind = str(a, 'traceloop.span.kind');
    if (kind === 'agent') return 'invoke_agent';
    if (kind === 'tool') return 'execute_tool';
    return lookup(OPENLLMETRY_REQUEST_TYPES, str(a, 'llm.request.type'));
  },
  messages: openLlmetryConversation,
};

// --- Deprecated OpenTelemetry GenAI names ------------------------------------------------------

const genaiDeprecated: ConventionTable = {
  name: 'genai_deprecated',
  title: 'Deprecated OpenTelemetry GenAI names',
  detect: () => true,
  mappings: [
    row('gen_ai.system', 'gen_ai.provider.name', 'provider'),
    row('gen_ai.usage.prompt_tokens', 'gen_ai.usage.input_tokens', 'count'),
    row('gen_ai.usage.completion_tokens', 'gen_ai.usage.output_tokens', 'count'),
    row(['gen_ai.usage.cache_read_input_tokens', 'gen_ai.usage.input_tokens.cached'], 'gen_ai.usage.cache_read.input_tokens', 'count'),
    row('gen_ai.usage.cache_creation_input_tokens', 'gen_ai.usage.cache_creation.input_tokens', 'count'),
    row('gen_ai.openai.request.seed', 'gen_ai.request.seed'),
    row('gen_ai.openai.request.service_tier', 'openai.request.service_tier'),
    row('gen_ai.openai.response.service_tier', 'openai.response.service_tier'),
    row('gen_ai.openai.response.system_fingerprint', 'openai.response.system_fingerprint'),
    row('enduser.id', 'user.id'),
  ],
};

/** In application order: the more specific conventions first, so their values win a tie. */
export const CONVENTIONS: readonly ConventionTable[] = [openaiAgents, openInference, vercelAi, openLlmetry, genaiDeprecated];

/** gen_ai.operation.name values a span name may start with (OpenTelemetry names spans "{operation} {target}"). */
const OPERATIONS_IN_SPAN_NAMES = new Set([
  'chat',
  'text_completion',
  'generate_content',
  'embeddings',
  'execute_tool',
  'invoke_agent',
  'create_agent',
]);

// A span merely named "chat …" by an application is no GenAI call without one of these.
const GENAI_CALL_KEYS = ['gen_ai.request.model', 'gen_ai.provider.name', 'gen_ai.tool.name', 'gen_ai.agent.name'];

function operationFromSpanName(name: string, attrs: Attributes): string | undefined {
  const space = name.indexOf(' ');
  const first = space < 0 ? name : name.slice(0, space);
  if (!OPERATIONS_IN_SPAN_NAMES.has(first)) return undefined;
  return GENAI_CALL_KEYS.some((key) => attrs[key] !== undefined) ? first : undefined;
}

/**
 * Applies every detected convention's table to the draft, then infers gen_ai.operation.name.
 * Returns the conventions that wrote something (for the processor's counters).
 */
export function normalizeAttributes(draft: AttributeDraft, spanName: string): ConventionName[] {
  const applied: ConventionName[] = [];
  for (const table of CONVENTIONS) {
    const original = draft.current;
    if (!table.detect(original)) continue;
    const source = table.view ? table.view(original) : original;
    let wrote = false;
    for (const mapping of table.mappings) {
      if (draft.has(mapping.to)) continue;
      if (mapping.only && !GUARDS[mapping.only].test(source)) continue;
      for (const key of mapping.from) {
        const value = source[key];
        if (value === undefined || value === null || value === '') continue;
        wrote = draft.fill(mapping.to, transform(value, mapping.transform)) || wrote;
        break;
      }
    }
    if (table.name === 'openai_agents') wrote = agentsNames(source, draft) || wrote;
    if (table.operation && !draft.has('gen_ai.operation.name')) {
      wrote = draft.fill('gen_ai.operation.name', table.operation(source)) || wrote;
    }
    if (table.messages && !(draft.has('gen_ai.input.messages') && draft.has('gen_ai.output.messages'))) {
      const { input, output } = table.messages(source);
      wrote = draft.fill('gen_ai.input.messages', input) || wrote;
      wrote = draft.fill('gen_ai.output.messages', output) || wrote;
    }
    if (wrote) applied.push(table.name);
  }
  if (!draft.has('gen_ai.operation.name')) draft.fill('gen_ai.operation.name', operationFromSpanName(spanName, draft.current));
  return applied;
}
