/** Realistic agent traces for the agent-run detection tests, built span by span. */
import { makeSpan } from '../../../core/span';
import type { Attributes, Span, StatusCode } from '../../../core/span';

let counter = 0;

/** A fresh 32-hex trace id. */
export function newTraceId(): string {
  counter += 1;
  return `a9e1${counter.toString(16).padStart(28, '0')}`;
}

/** The nth span id of a trace (16 hex). */
export function spanId(traceId: string, n: number): string {
  return `${traceId.slice(-8)}${n.toString(16).padStart(8, '0')}`;
}

const BASE = 1_780_000_000_000_000_000n;
const MS = 1_000_000n;

interface SpanOptions {
  parent?: number;
  at?: number;
  status?: StatusCode;
  attributes?: Attributes;
}

function span(traceId: string, n: number, name: string, options: SpanOptions): Span {
  const start = BASE + BigInt(options.at ?? n * 100) * MS;
  return makeSpan({
    traceId,
    spanId: spanId(traceId, n),
    parentSpanId: options.parent === undefined ? '' : spanId(traceId, options.parent),
    name,
    kind: 'internal',
    startTimeUnixNano: start,
    endTimeUnixNano: start + 80n * MS,
    status: { code: options.status ?? 'unset', message: options.status === 'error' ? 'tool raised' : '' },
    attributes: { 'tracehouse.workspace': 'acme', 'tracehouse.project': 'support-bot', ...options.attributes },
  });
}

/** The agent's root span (an invoke_agent span that repeats the user's question). */
export function agentSpan(traceId: string, n: number, question: string): Span {
  return span(traceId, n, 'invoke_agent triage', {
    attributes: {
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.name': 'triage',
      'gen_ai.input.messages': JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: question }] }]),
      'gen_ai.usage.input_tokens': 400_000n,
    },
  });
}

export interface ChatOptions extends SpanOptions {
  model?: string;
  question?: string;
  inputTokens?: bigint;
  finishReasons?: string[];
}

/** A chat completion call under the agent. */
export function chatSpan(traceId: string, n: number, options: ChatOptions = {}): Span {
  const model = options.model ?? 'gpt-4o';
  const question = options.question ?? 'Where is order 1042?';
  return span(traceId, n, `chat ${model}`, {
    parent: options.parent ?? 1,
    ...options,
    attributes: {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': model,
      'gen_ai.input.messages': JSON.stringify([
        { role: 'system', parts: [{ type: 'text', content: 'You are a support agent.' }] },
        { role: 'user', parts: [{ type: 'text', content: question }] },
      ]),
      'gen_ai.output.messages': JSON.stringify([{ role: 'assistant', parts: [{ type: 'text', content: 'Let me look that up.' }] }]),
      'gen_ai.usage.input_tokens': options.inputTokens ?? 812n,
      'gen_ai.usage.output_tokens': 42n,
      'gen_ai.response.finish_reasons': options.finishReasons ?? ['tool_calls'],
      ...options.attributes,
    },
  });
}

export interface ToolOptions extends SpanOptions {
  result?: string;
}

/** An execute_tool span, as the OpenTelemetry GenAI conventions describe it. */
export function toolSpan(traceId: string, n: number, tool: string, args: string, options: ToolOptions = {}): Span {
  return span(traceId, n, `execute_tool ${tool}`, {
    parent: options.parent ?? 1,
    ...options,
    attributes: {
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': tool,
      'gen_ai.tool.type': 'function',
      'gen_ai.tool.call.arguments': args,
      'gen_ai.tool.call.result': options.result ?? '{"status":"in transit"}',
      ...options.attributes,
    },
  });
}
