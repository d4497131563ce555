import type { ReceiverFactory } from '../../core/component';
import { ingestClaims } from '../../core/ingest/config';
import { IngestReceiver } from '../../core/ingest/receiver';
import { nativeReceiverConfigSchema } from './config';
import { FEEDBACK_PATH, feedbackRoute } from './feedback-route';
import { GUARDRAILS_PATH, guardrailsRoute } from './guardrails-route';
import { OPENAI_AGENTS_PATHS, openaiAgentsRoutes } from './openai-agents';
import { OTLP_PATH, otlpRoute } from './otlp-route';
import { TOOL_CALLS_PATH, toolCallsRoute } from './tool-calls-route';
import { TRACES_PATH, tracesRoute } from './traces-route';

const NATIVE_PATHS = [TRACES_PATH, TOOL_CALLS_PATH, FEEDBACK_PATH, GUARDRAILS_PATH, OTLP_PATH];

export const nativeReceiverFactory: ReceiverFactory<typeof nativeReceiverConfigSchema> = {
  type: 'native',
  kind: 'receiver',
  stability: 'alpha',
  summary: 'The AITracer-style trace ingestion API: /api/traces, tool calls, feedback, guardrails, OpenAI Agents traces and OTLP/HTTP',
  configSchema: nativeReceiverConfigSchema,
  createReceiver: (config, settings, next) =>
    new IngestReceiver(config, settings, next, (context, _workspaces, times) => [
      tracesRoute(config.default_environment, times),
      toolCallsRoute(times),
      feedbackRoute(times),
      guardrailsRoute(),
      otlpRoute(context),
      ...openaiAgentsRoutes(times),
    ]),
  claimedRoutes: (config) => ingestClaims(config, [...NATIVE_PATHS, ...OPENAI_AGENTS_PATHS]),
};
