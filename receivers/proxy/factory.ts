import type { ReceiverFactory } from '../../core/component';
import { Governance } from '../../core/llm/governance';
import { proxyReceiverConfigSchema } from './config';
import { LLM_ROUTES, MODELS_PATH, ProxyReceiver } from './receiver';

export const proxyReceiverFactory: ReceiverFactory<typeof proxyReceiverConfigSchema> = {
  type: 'proxy',
  kind: 'receiver',
  stability: 'development',
  summary: 'An LLM gateway: OpenAI and Anthropic APIs forwarded to upstreams with failover, every call recorded as a GenAI span',
  configSchema: proxyReceiverConfigSchema,
  createReceiver: (config, settings, next) => new ProxyReceiver(config, settings, next, config.preflight ? new Governance(config.preflight) : undefined),
  claimedRoutes: (config) =>
    [...LLM_ROUTES.map((r) => r.path), MODELS_PATH, ...config.passthrough].map((route) => ({ listen: config.listen, route, configPath: 'listen', auth: config.auth })),
};
