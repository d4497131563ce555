/**
 * A daemon for the alert-rule, delivery and settings-notification tests: logs -> evaluate_rules
 * (flags "refund") -> alert -> clickhouse (embedded), the control_plane extension, and config
 * targets pointing at local Slack and SMTP stand-ins.
 */
import { startDaemon, uniqueDatabase } from '../../support/daemon';
import type { TestDaemon } from '../../support/daemon';
import type { HttpStandIn, SmtpStandIn } from '../../processors/alert/support';
import { apiCall } from './api-client';
import type { ApiAnswer } from './api-client';

export const ADMIN_KEY = 'cp_alert_admin_key_0123456789ab';
export const READ_KEY = 'cp_alert_read_key_0123456789abc';
export const OTHER_KEY = 'cp_alert_other_key_0123456789ab';
export const SECRETS_KEY = 'alert-tests-secrets-key-0123456789';

export interface AlertDaemonOptions {
  slack: HttpStandIn;
  smtp: SmtpStandIn;
  /** Without it the daemon cannot store secrets. */
  secretsKey?: string;
  /** Extra YAML lines under processors.alert (4 spaces of indent added). */
  alert?: string[];
}

export function alertDaemonYaml(database: string, options: AlertDaemonOptions): string {
  const extra = (options.alert ?? []).map((l) => `    ${l}\n`).join('');
  return `receivers:
  logs:
    listen: 127.0.0.1:0
    attachments_dir: \${env:TEST_DATA_DIR}/attachments
processors:
  evaluate_rules:
    rules:
      - { id: no-refunds, name: No refunds, type: keyword_forbidden, value: refund }
  alert:
    delivery: { allow_private_addresses: true, max_attempts: 2, initial_backoff_ms: 10, max_backoff_ms: 20, timeout_ms: 5000 }
    evaluation_interval_seconds: 3600
    targets:
      slack-devops: { type: slack, webhook_url: "${options.slack.url}/services/T000/B000/CONFIG", channel: "#ai-ops" }
      email-oncall:
        type: email
        smtp: { host: 127.0.0.1, port: ${options.smtp.port}, ignore_tls: true }
        from: tracehouse@example.com
        to: [oncall@example.com]
${extra}exporters:
  clickhouse:
    path: \${env:TEST_DATA_DIR}
    database: ${database}
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
  control_plane: { refresh_interval_ms: 500${options.secretsKey ? `, secrets_key: "${options.secretsKey}"` : ''} }
  admin: { listen: 127.0.0.1:0 }
  pipelines:
    traces: { receivers: [logs], processors: [evaluate_rules, alert], exporters: [clickhouse] }
`;
}

export async function startAlertDaemon(prefix: string, options: AlertDaemonOptions): Promise<{ daemon: TestDaemon; database: string }> {
  const database = uniqueDatabase(prefix);
  return { daemon: await startDaemon(alertDaemonYaml(database, options)), database };
}

export type Answer = ApiAnswer;

/** One control-plane call; every answer's text is kept in `seen` when given (to look for secrets). */
export function call(daemon: TestDaemon, method: string, route: string, key: string, body?: unknown, headers: Record<string, string> = {}, seen?: string[]): Promise<ApiAnswer> {
  return apiCall(daemon.receiverUrl('control_plane'), method, route, key, body, headers, seen);
}

/** A sync log through the logs receiver; answers its verdict status (flagged when the output says "refund"). */
export async function sendLog(daemon: TestDaemon, key: string, log: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${daemon.receiverUrl('logs')}/api/logs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ project: 'support', task: 'reply', input: 'hi', sync: true, ...log }),
  });
  const body = (await res.json()) as { status?: string };
  if (res.status !== 200) throw new Error(`log refused (${res.status}): ${JSON.stringify(body)}`);
  return String(body.status);
}
