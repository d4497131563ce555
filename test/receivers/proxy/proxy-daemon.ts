import { FakeLlmProvider } from '../../support/fake-llm-provider';
import { queryRows, startDaemon, TEST_API_KEY, TEST_WORKSPACE, uniqueDatabase } from '../../support/daemon';
import type { TestDaemon } from '../../support/daemon';
import { waitFor } from '../../support/wait';

export const OPENAI_CONFIG_KEY = 'sk-config-secret-openai-0001';
export const BACKUP_CONFIG_KEY = 'sk-config-secret-backup-0002';
export const ANTHROPIC_CONFIG_KEY = 'sk-ant-config-secret-0003';

export interface Gateway {
  daemon: TestDaemon;
  database: string;
  url: string;
  openai: FakeLlmProvider;
  backup: FakeLlmProvider;
  anthropic: FakeLlmProvider;
  logs: string[];
  /** The stored call spans (ParentSpanId = '') whose tracehouse.task is `task`, once `count` arrived. */
  callRows(task: string, count?: number): Promise<Record<string, any>[]>;
  /** Every stored span of the task's trace. */
  allRows(task: string, count: number): Promise<Record<string, any>[]>;
  stop(): Promise<void>;
}

export const CALL_COLUMNS =
  "SpanName, SpanKind, StatusCode, StatusMessage, Workspace, GenAIOperation, GenAIProvider, GenAIRequestModel, GenAIResponseModel, InputTokens, OutputTokens, Input, Output, SpanAttributes, TraceId, SpanId";

/** The daemon with the proxy receiver in front of three fake providers, storing into its own database. */
export interface GatewayOptions {
  health?: string;
  /** Replaces the failover section (flow YAML). */
  failover?: string;
  /** A timeouts section (flow YAML). */
  timeouts?: string;
  /** More upstreams, as lines of the upstreams map (6-space indent). */
  upstreams?: string;
  /** More routes, as lines of the routes map (6-space indent). */
  routes?: string;
  /** Replaces the rate_limit section (flow YAML). */
  rateLimit?: string;
}

/** Raw POST (fetch), returning the status, headers and body bytes. */
export async function rawPost(base: string, path: string, body: unknown, headers: Record<string, string>) {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

export async function startGateway(options: GatewayOptions = {}): Promise<Gateway> {
  const [openai, backup, anthropic] = await Promise.all([FakeLlmProvider.start(), FakeLlmProvider.start(), FakeLlmProvider.start()]);
  const database = uniqueDatabase('proxy');
  const logs: string[] = [];
  const { default: pino } = await import('pino');
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(line) });
  const yaml = `receivers:
  proxy:
    listen: 127.0.0.1:0
    upstreams:
      openai: { provider: openai, base_url: "${openai.url}", api_key: "${OPENAI_CONFIG_KEY}" }
      backup: { provider: openai_compatible, base_url: "${backup.url}", api_key: "${BACKUP_CONFIG_KEY}", provider_name: azure.ai.openai }
      anthropic: { provider: anthropic, base_url: "${anthropic.url}", api_key: "${ANTHROPIC_CONFIG_KEY}" }
${options.upstreams ?? ''}
    routes:
      prod-chat: { primary: openai, fallbacks: [backup], conditions: { error_rate_threshold: 0.5 } }
${options.routes ?? ''}
    default_upstreams: { openai: openai }
    passthrough: [/v1/files]
    failover: ${options.failover ?? '{ backoff_initial_ms: 1, backoff_max_ms: 5, max_retry_wait_ms: 50 }'}
    timeouts: ${options.timeouts ?? '{}'}
    health: ${options.health ?? '{ min_requests: 1000, cooldown_ms: 600000 }'}
    rate_limit: ${options.rateLimit ?? '{ limit: 1000, per_route: { "/v1/embeddings": { limit: 2 } } }'}
    span_queue: { linger_ms: 10 }
exporters:
  clickhouse:
    path: \${env:TEST_DATA_DIR}
    database: ${database}
    timeout_ms: 10
workspaces:
  ${TEST_WORKSPACE}:
    api_keys: ["${TEST_API_KEY}"]
service:
  admin:
    listen: 127.0.0.1:0
  pipelines:
    traces: { receivers: [proxy], exporters: [clickhouse] }
`;
  const daemon = await startDaemon(yaml, { logger: logger as never });
  const url = daemon.receiverUrl('proxy');
  const callRows = (task: string, count = 1) =>
    waitFor(`${count} call span(s) of task ${task}`, async () => {
      const rows = await queryRows<Record<string, any>>(daemon, `SELECT ${CALL_COLUMNS} FROM otel_traces WHERE SpanAttributes['tracehouse.task'] = '${task}' AND ParentSpanId = '' ORDER BY Timestamp`, database);
      return rows.length >= count ? rows : undefined;
    });
  const allRows = (task: string, count: number) =>
    waitFor(`${count} span(s) of task ${task}`, async () => {
      const calls = await queryRows<{ TraceId: string }>(daemon, `SELECT TraceId FROM otel_traces WHERE SpanAttributes['tracehouse.task'] = '${task}' LIMIT 1`, database);
      if (calls.length === 0) return undefined;
      const rows = await queryRows<Record<string, any>>(daemon, `SELECT SpanName, SpanKind, ParentSpanId, StatusCode, SpanAttributes FROM otel_traces WHERE TraceId = '${calls[0].TraceId}' ORDER BY Timestamp`, database);
      return rows.length >= count ? rows : undefined;
    });
  return {
    daemon,
    database,
    url,
    openai,
    backup,
    anthropic,
    logs,
    callRows,
    allRows,
    stop: async () => {
      await daemon.stop();
      await Promise.all([openai.close(), backup.close(), anthropic.close()]);
    },
  };
}
