/**
 * A daemon for the incidents API tests: the logs receiver and the gateway (proxy receiver, in
 * front of two fake providers, with preflight blocking secrets and a route that fails over from
 * `openai` to `backup`) -> evaluate_rules (flags "refund") -> alert -> clickhouse (embedded), with
 * the control_plane (alert rules over HTTP) and read_api extensions. Nothing leaves 127.0.0.1.
 */
import { FakeLlmProvider } from '../../support/fake-llm-provider';
import { queryRows, startDaemon, uniqueDatabase } from '../../support/daemon';
import type { TestDaemon } from '../../support/daemon';
import { waitFor } from '../../support/wait';
import { apiCall } from '../control_plane/api-client';
import type { ApiAnswer } from '../control_plane/api-client';

export const ACME_ADMIN = 'inc_acme_admin_key_0123456789ab';
export const ACME_READ = 'inc_acme_read_key_0123456789abc';
export const OTHER_ADMIN = 'inc_other_admin_key_0123456789a';

export interface IncidentsDaemon {
  daemon: TestDaemon;
  database: string;
  openai: FakeLlmProvider;
  backup: FakeLlmProvider;
  stop(): Promise<void>;
}

function yaml(database: string, openai: string, backup: string): string {
  return `receivers:
  logs:
    listen: 127.0.0.1:0
    attachments_dir: \${env:TEST_DATA_DIR}/attachments
  proxy:
    listen: 127.0.0.1:0
    upstreams:
      openai: { provider: openai, base_url: "${openai}", api_key: "sk-incidents-config-openai-01" }
      backup: { provider: openai_compatible, base_url: "${backup}", api_key: "sk-incidents-config-backup-02" }
    routes:
      prod-chat: { primary: openai, fallbacks: [backup] }
    default_upstreams: { openai: openai }
    failover: { backoff_initial_ms: 1, backoff_max_ms: 5, max_retry_wait_ms: 50 }
    health: { min_requests: 1000, cooldown_ms: 600000 }
    preflight:
      pii: { default: allow, detectors: { api_key: block } }
    span_queue: { linger_ms: 10 }
processors:
  evaluate_rules:
    rules:
      - { id: no-refunds, name: No refunds, type: keyword_forbidden, value: refund }
  alert:
    evaluation_interval_seconds: 3600
    cooldown_seconds: 0
    rules:
      - { id: flagged-by-workspace, name: Flagged answers, severity: high, condition: { type: verdict }, group_by: [workspace] }
      - { id: any-error, name: Any error anywhere, severity: low, condition: { type: error_status } }
exporters:
  clickhouse:
    path: \${env:TEST_DATA_DIR}
    database: ${database}
extensions:
  control_plane:
    listen: 127.0.0.1:0
  read_api:
    listen: 127.0.0.1:0
workspaces:
  acme:
    api_keys:
      - "${ACME_ADMIN}"
      - { key: "${ACME_READ}", roles: [read, ingest] }
  other:
    api_keys: ["${OTHER_ADMIN}"]
service:
  extensions: [control_plane, read_api]
  control_plane: { refresh_interval_ms: 500 }
  admin: { listen: 127.0.0.1:0 }
  pipelines:
    traces: { receivers: [logs, proxy], processors: [evaluate_rules, alert], exporters: [clickhouse] }
`;
}

export async function startIncidentsDaemon(): Promise<IncidentsDaemon> {
  const [openai, backup] = await Promise.all([FakeLlmProvider.start(), FakeLlmProvider.start()]);
  const database = uniqueDatabase('incidents_api');
  const daemon = await startDaemon(yaml(database, openai.url, backup.url));
  return {
    daemon,
    database,
    openai,
    backup,
    stop: async () => {
      await daemon.stop();
      await Promise.all([openai.close(), backup.close()]);
    },
  };
}

/** One read_api call. */
export function readApi(d: IncidentsDaemon, method: string, route: string, key: string, body?: unknown): Promise<ApiAnswer> {
  return apiCall(d.daemon.receiverUrl('read_api'), method, route, key, body);
}

/** One control-plane call. */
export function controlPlane(d: IncidentsDaemon, method: string, route: string, key: string, body?: unknown): Promise<ApiAnswer> {
  return apiCall(d.daemon.receiverUrl('control_plane'), method, route, key, body);
}

/** A sync log through the logs receiver (flagged when its output says "refund"); answers the log's body. */
export async function sendLog(d: IncidentsDaemon, key: string, log: Record<string, unknown>): Promise<any> {
  const res = await fetch(`${d.daemon.receiverUrl('logs')}/api/logs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ project: 'support', task: 'reply', input: 'hi', sync: true, ...log }),
  });
  const body = await res.json();
  if (res.status !== 200) throw new Error(`log refused (${res.status}): ${JSON.stringify(body)}`);
  return body;
}

/** One chat completion through the gateway; answers its status. */
export async function chat(d: IncidentsDaemon, key: string, task: string, content: string, headers: Record<string, string> = {}): Promise<number> {
  const res = await fetch(`${d.daemon.receiverUrl('proxy')}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, 'x-task-id': task, ...headers },
    body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content }] }),
  });
  await res.arrayBuffer();
  return res.status;
}

/** The stored spans of a gateway task (the call and its attempts), once `count` arrived. */
export function taskSpans(d: IncidentsDaemon, task: string, count: number): Promise<Record<string, any>[]> {
  return waitFor(`${count} span(s) of task ${task}`, async () => {
    const calls = await queryRows<{ TraceId: string }>(d.daemon, `SELECT TraceId FROM otel_traces WHERE SpanAttributes['tracehouse.task'] = '${task}' LIMIT 1`, d.database);
    if (calls.length === 0) return undefined;
    const rows = await queryRows<Record<string, any>>(
      d.daemon,
      `SELECT TraceId, SpanId, ParentSpanId, SpanName, StatusCode, Workspace, Verdict, SpanAttributes FROM otel_traces WHERE TraceId = '${calls[0].TraceId}' ORDER BY Timestamp`,
      d.database,
    );
    return rows.length >= count ? rows : undefined;
  });
}

export interface IncidentRow {
  incident_id: string;
  rule_id: string;
  status: string;
  severity: string;
  workspace: string;
  group: Record<string, string>;
  example_trace_ids: string[];
}

/** The latest version of every incident, through the admin query endpoint. */
export function incidentRows(d: IncidentsDaemon): Promise<IncidentRow[]> {
  return queryRows<IncidentRow>(d.daemon, 'SELECT incident_id, rule_id, status, severity, workspace, `group`, example_trace_ids FROM tracehouse_incidents ORDER BY first_seen, rule_id', d.database);
}

/** Runs one evaluation round of the alert processor now. */
export async function evaluate(d: IncidentsDaemon): Promise<any> {
  const res = await fetch(`${d.daemon.adminUrl}/actions/alert/evaluate`, {
    method: 'POST',
    body: '{}',
    headers: { 'x-tracehouse-action-token': d.daemon.service.adminActionToken ?? '' },
  });
  const body = (await res.json()) as { result: any };
  if (res.status !== 200) throw new Error(`evaluate failed (${res.status}): ${JSON.stringify(body)}`);
  return body.result;
}
