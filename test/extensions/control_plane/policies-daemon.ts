/**
 * A daemon for the policy APIs' tests: the proxy receiver in front of five fake providers, the
 * control_plane extension and an embedded ClickHouse, with workspace keys of each role.
 */
import { FakeLlmProvider } from '../../support/fake-llm-provider';
import { startDaemon, uniqueDatabase } from '../../support/daemon';
import type { TestDaemon } from '../../support/daemon';
import { apiCall } from './api-client';
import type { ApiAnswer } from './api-client';

export const ADMIN_KEY = 'pol_admin_key_0123456789abcdef';
export const READ_KEY = 'pol_read_key_0123456789abcdefgh';
export const OTHER_KEY = 'pol_other_key_0123456789abcdefg';

export const UPSTREAMS = ['openai', 'backup', 'standby', 'anthropic-claude', 'bedrock-claude'] as const;
export type UpstreamName = (typeof UPSTREAMS)[number];

export interface PolicyGateway {
  daemon: TestDaemon;
  fakes: Record<UpstreamName, FakeLlmProvider>;
  logs: string[];
  /** The control plane's base URL. */
  api: string;
  /** The gateway's base URL. */
  proxy: string;
  stop(): Promise<void>;
}

export async function startPolicyGateway(): Promise<PolicyGateway> {
  const started = await Promise.all(UPSTREAMS.map(() => FakeLlmProvider.start()));
  const fakes = Object.fromEntries(UPSTREAMS.map((name, i) => [name, started[i]])) as Record<UpstreamName, FakeLlmProvider>;
  const logs: string[] = [];
  const { default: pino } = await import('pino');
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(line) });
  const yaml = `receivers:
  proxy:
    listen: 127.0.0.1:0
    upstreams:
      openai: { provider: openai, base_url: "${fakes.openai.url}", api_key: "sk-config-openai-0001" }
      backup: { provider: openai_compatible, base_url: "${fakes.backup.url}", api_key: "sk-config-backup-0002" }
      standby: { provider: openai_compatible, base_url: "${fakes.standby.url}", api_key: "sk-config-standby-0003" }
      anthropic-claude: { provider: anthropic, base_url: "${fakes['anthropic-claude'].url}", api_key: "sk-ant-config-0004" }
      bedrock-claude: { provider: anthropic, base_url: "${fakes['bedrock-claude'].url}", api_key: "sk-ant-config-0005" }
    routes:
      prod-chat: { primary: openai, fallbacks: [backup], conditions: { error_rate_threshold: 0.5 } }
    default_upstreams: { openai: openai, anthropic: anthropic-claude }
    failover: { backoff_initial_ms: 1, backoff_max_ms: 5, max_retry_wait_ms: 50 }
    health: { min_requests: 1000, cooldown_ms: 600000 }
    span_queue: { linger_ms: 10 }
    preflight:
      rules:
        - { id: yaml-keyword, type: keyword_forbidden, value: forbidden-by-yaml }
exporters:
  clickhouse:
    path: \${env:TEST_DATA_DIR}
    database: ${uniqueDatabase('cp_policies')}
extensions:
  control_plane:
    listen: 127.0.0.1:0
workspaces:
  acme:
    api_keys:
      - "${ADMIN_KEY}"
      - { key: "${READ_KEY}", roles: [read, ingest] }
  other:
    api_keys: ["${OTHER_KEY}"]
service:
  extensions: [control_plane]
  control_plane: { refresh_interval_ms: 200 }
  admin: { listen: 127.0.0.1:0 }
  pipelines:
    traces: { receivers: [proxy], exporters: [clickhouse] }
`;
  const daemon = await startDaemon(yaml, { logger: logger as never });
  return {
    daemon,
    fakes,
    logs,
    api: daemon.receiverUrl('control_plane'),
    proxy: daemon.receiverUrl('proxy'),
    stop: async () => {
      await daemon.stop();
      await Promise.all(started.map((f) => f.close()));
    },
  };
}

export interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

/** A control-plane call. */
export function call(gw: PolicyGateway, method: string, route: string, key: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiAnswer> {
  return apiCall(gw.api, method, route, key, body, headers);
}

/** An OpenAI chat call through the gateway. */
export async function chat(gw: PolicyGateway, key: string, content: string, options: { model?: string; routeId?: string } = {}): Promise<Answer> {
  const res = await fetch(`${gw.proxy}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, ...(options.routeId ? { 'x-route-id': options.routeId } : {}) },
    body: JSON.stringify({ model: options.model ?? 'gpt-4o', messages: [{ role: 'user', content }] }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === '' ? undefined : JSON.parse(text) };
}

/** An Anthropic Messages call through the gateway. */
export async function message(gw: PolicyGateway, key: string, content: string, routeId?: string): Promise<Answer> {
  const res = await fetch(`${gw.proxy}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, 'anthropic-version': '2023-06-01', ...(routeId ? { 'x-route-id': routeId } : {}) },
    body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content }] }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === '' ? undefined : JSON.parse(text) };
}
