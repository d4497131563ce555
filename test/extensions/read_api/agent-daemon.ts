/**
 * The daemon of the agent task, conversation and verification tests: the proxy gateway in front
 * of a fake OpenAI (enrich prices its calls; no evaluate_rules on that pipeline, so detections of
 * gateway tasks come only from POST /detect), an OTLP pipeline through evaluate_rules (whose
 * RuleEvaluator the read APIs use, with llm_judge rules judged by a second fake provider), the
 * clickhouse exporter (embedded engine, one database), the read_api and control_plane extensions.
 * Workspaces: acme (admin key, read-only key, ingest-only key) and globex.
 */
import OpenAI from 'openai';
import { startDaemon, uniqueDatabase } from '../../support/daemon';
import type { TestDaemon } from '../../support/daemon';
import { FakeLlmProvider } from '../../support/fake-llm-provider';
import { waitFor } from '../../support/wait';
import { apiCall } from '../control_plane/api-client';
import type { ApiAnswer } from '../control_plane/api-client';

export const ACME_KEY = 'ag_acme_admin_key_0123456789abcdef';
export const ACME_READ_KEY = 'ag_acme_read_key_0123456789abcdef';
export const ACME_INGEST_KEY = 'ag_acme_ingest_key_0123456789abcd';
export const GLOBEX_KEY = 'ag_globex_key_0123456789abcdefgh';
const UPSTREAM_KEY = 'sk-agent-tests-upstream-0001';
const JUDGE_KEY = 'sk-agent-tests-judge-0002';

export interface AgentDaemon {
  daemon: TestDaemon;
  database: string;
  provider: FakeLlmProvider;
  judge: FakeLlmProvider;
  /** A read_api call with `key` (Authorization: Bearer; pass headers to use X-API-Key instead). */
  call(method: string, route: string, key: string, body?: unknown, headers?: Record<string, string>): Promise<ApiAnswer>;
  /** A control-plane call (rules) with `key`. */
  control(method: string, route: string, key: string, body?: unknown): Promise<ApiAnswer>;
  /** The real openai SDK through the gateway, as `key`, with the agent headers given. */
  openai(key: string, headers: Record<string, string>): OpenAI;
  /** Posts OTLP/JSON spans to the otlp receiver as `key`. */
  otlp(key: string, body: unknown): Promise<number>;
  /** Waits until GET /api/v1/tasks/:id answers with `calls` calls (as `key`). */
  task(key: string, id: string, calls: number): Promise<any>;
  stop(): Promise<void>;
}

export async function startAgentDaemon(): Promise<AgentDaemon> {
  const [provider, judge] = await Promise.all([FakeLlmProvider.start(), FakeLlmProvider.start()]);
  const database = uniqueDatabase('agent_api');
  const daemon = await startDaemon(`receivers:
  proxy:
    listen: 127.0.0.1:0
    upstreams:
      openai: { provider: openai, base_url: "${provider.url}", api_key: "${UPSTREAM_KEY}" }
    default_upstreams: { openai: openai }
    span_queue: { linger_ms: 10 }
  otlp:
    http: { listen: 127.0.0.1:0 }
    grpc: { enabled: false }
    auth: workspaces
processors:
  enrich: {}
  evaluate_rules:
    judge:
      timeout_ms: 5000
      providers:
        openai: { base_url: "${judge.url}", api_key: "${JUDGE_KEY}" }
exporters:
  clickhouse:
    path: \${env:TEST_DATA_DIR}
    database: ${database}
    timeout_ms: 10
extensions:
  control_plane:
    listen: 127.0.0.1:0
  read_api:
    listen: 127.0.0.1:0
workspaces:
  acme:
    api_keys:
      - "${ACME_KEY}"
      - { key: "${ACME_READ_KEY}", roles: [read] }
      - { key: "${ACME_INGEST_KEY}", roles: [ingest] }
  globex:
    api_keys: ["${GLOBEX_KEY}"]
service:
  extensions: [control_plane, read_api]
  admin: { listen: 127.0.0.1:0 }
  pipelines:
    traces/gateway: { receivers: [proxy], processors: [enrich], exporters: [clickhouse] }
    traces/otlp: { receivers: [otlp], processors: [evaluate_rules], exporters: [clickhouse] }
`);
  const readApi = daemon.receiverUrl('read_api');
  const call = (method: string, route: string, key: string, body?: unknown, headers?: Record<string, string>) =>
    headers ? apiFetch(readApi, method, route, body, headers) : apiCall(readApi, method, route, key, body);
  return {
    daemon,
    database,
    provider,
    judge,
    call,
    control: (method, route, key, body) => apiCall(daemon.receiverUrl('control_plane'), method, route, key, body),
    openai: (key, headers) => new OpenAI({ apiKey: key, baseURL: `${daemon.receiverUrl('proxy')}/v1`, maxRetries: 0, defaultHeaders: headers }),
    otlp: async (key, body) => {
      const res = await fetch(`${daemon.receiverUrl('otlp')}/v1/traces`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      await res.arrayBuffer();
      return res.status;
    },
    task: (key, id, calls) =>
      waitFor(`task ${id} with ${calls} calls`, async () => {
        const answer = await call('GET', `/api/v1/tasks/${encodeURIComponent(id)}`, key);
        // Both the list of calls and the counts must show them all (they are read by two queries).
        return answer.status === 200 && answer.body.calls.length >= calls && answer.body.llm_calls + answer.body.tool_calls >= calls ? answer.body : undefined;
      }),
    stop: async () => {
      await daemon.stop();
      await Promise.all([provider.close(), judge.close()]);
    },
  };
}

/** A call with only the headers given (no Authorization unless given). */
async function apiFetch(base: string, method: string, route: string, body: unknown, headers: Record<string, string>): Promise<ApiAnswer> {
  const res = await fetch(`${base}${route}`, { method, headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: text === '' ? undefined : JSON.parse(text) };
}
