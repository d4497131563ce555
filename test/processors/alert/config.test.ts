import { readFileSync } from 'node:fs';
import path from 'node:path';
import { registry } from '../../../components';
import { formatDiagnostic } from '../../../core/config/diagnostics';
import { loadConfigText } from '../../../core/config/load-config';
import { alertProcessorConfigSchema } from '../../../processors/alert/config';
import { alertProcessorFactory } from '../../../processors/alert/factory';

function load(name: string) {
  const text = readFileSync(path.join(__dirname, 'config', name), 'utf8');
  return loadConfigText(text, 'pipelines.yaml', registry, { env: {} });
}

const DEFAULT_DELIVERY = {
  allow_private_addresses: false,
  timeout_ms: 10000,
  max_attempts: 5,
  initial_backoff_ms: 500,
  max_backoff_ms: 60000,
  max_pending: 10000,
};

const rule = (fields: Record<string, unknown>) => ({ severity: 'medium', targets: [], enabled: true, group_by: [], filter: {}, ...fields });

describe('alert config', () => {
  it('is registered as the alert processor', () => {
    expect(registry.processors).toContain(alertProcessorFactory);
    expect(alertProcessorFactory).toMatchObject({ type: 'alert', kind: 'processor' });
    expect(alertProcessorFactory.configSchema).toBe(alertProcessorConfigSchema);
  });

  it('defaults to no rules, no targets, a minute between rounds, and the otel_traces table', () => {
    const { config, diagnostics } = load('defaults.yaml');
    expect(diagnostics).toEqual([]);
    expect(config?.processors.get('alert')?.config).toEqual({
      rules: [],
      targets: {},
      delivery: DEFAULT_DELIVERY,
      evaluation_interval_seconds: 60,
      cooldown_seconds: 300,
      renotify_interval_seconds: 3600,
      incidents_table: 'tracehouse_incidents',
      spans_table: 'otel_traces',
    });
  });

  it('parses every condition and target type to exactly what it says', () => {
    const { config, diagnostics } = load('full.yaml');
    expect(diagnostics).toEqual([]);
    expect(config?.processors.get('alert')?.config).toEqual({
      evaluation_interval_seconds: 30,
      cooldown_seconds: 120,
      renotify_interval_seconds: 1800,
      store: 'clickhouse',
      incidents_table: 'incidents',
      spans_table: 'spans',
      trace_link: 'https://grafana.example/explore?trace={trace_id}',
      delivery: { ...DEFAULT_DELIVERY, allow_private_addresses: true, max_attempts: 3, initial_backoff_ms: 100 },
      targets: {
        'slack-oncall': { type: 'slack', webhook_url: 'https://hooks.slack.com/services/T0/B0/secret', channel: '#ai-ops' },
        pager: { type: 'webhook', url: 'https://pager.example/hooks/tracehouse', signing_secret: 's3cret-s3cret', headers: { 'X-Team': 'ai-platform' } },
        'email-oncall': {
          type: 'email',
          smtp: { host: 'smtp.example.com', port: 587, secure: false, ignore_tls: false, auth: { user: 'alerts', pass: 'hunter2' } },
          from: 'tracehouse@example.com',
          to: ['oncall@example.com'],
        },
      },
      rules: [
        rule({
          id: 'flagged-high',
          name: 'Flagged outputs',
          severity: 'high',
          targets: ['slack-oncall'],
          condition: { type: 'verdict', verdicts: ['flagged'], min_severity: 'high' },
          group_by: ['workspace', 'project'],
        }),
        rule({
          id: 'errors',
          name: 'Model errors',
          targets: ['pager'],
          condition: { type: 'error_status' },
          filter: { workspace: 'acme', model: 'gpt-4*', operation: 'chat' },
        }),
        rule({ id: 'costly-call', name: 'Costly call', severity: 'low', enabled: false, condition: { type: 'cost_above', threshold_usd: 0.5 } }),
        rule({
          id: 'slow-p95',
          name: 'Slow p95',
          severity: 'critical',
          targets: ['slack-oncall', 'email-oncall'],
          condition: { type: 'latency_p95', threshold_ms: 3000, window_seconds: 300 },
          group_by: ['model', 'attribute:customer.tier'],
        }),
        rule({ id: 'slow-avg', name: 'Slow avg', condition: { type: 'latency_avg', threshold_ms: 2000, window_seconds: 60 } }),
        rule({ id: 'error-rate', name: 'Error rate', condition: { type: 'error_rate', threshold: 0.05, min_spans: 10, window_seconds: 600 } }),
        rule({ id: 'spend', name: 'Spend', condition: { type: 'cost_sum', threshold_usd: 25, window_seconds: 3600 }, group_by: ['workspace'] }),
        rule({ id: 'tokens', name: 'Tokens', condition: { type: 'tokens_sum', threshold: 1000000, window_seconds: 3600 } }),
        rule({
          id: 'flagged-burst',
          name: 'Flagged burst',
          condition: { type: 'flagged_count', threshold: 10, window_seconds: 900 },
          group_by: ['environment', 'service'],
        }),
        rule({
          id: 'silence',
          name: 'Traffic stopped',
          condition: { type: 'span_count', threshold: 1, window_seconds: 600, below: true },
          group_by: ['project'],
        }),
      ],
    });
  });

  it('refuses rules naming targets that do not exist, and duplicate rule ids, at their lines', () => {
    const { config, diagnostics } = load('unknown-target.yaml');
    expect(config).toBeUndefined();
    expect(diagnostics.map(formatDiagnostic)).toEqual([
      'pipelines.yaml:10:33 error processors.alert.rules.0.targets.1 unknown target "pagerduty" (targets: slack-oncall) [CFG_INVALID_VALUE]',
      'pipelines.yaml:12:13 error processors.alert.rules.1.id duplicate rule id "errors" [CFG_INVALID_VALUE]',
      'pipelines.yaml:14:19 error processors.alert.rules.1.targets.0 unknown target "email-oncall" (targets: slack-oncall) [CFG_INVALID_VALUE]',
    ]);
  });

  it('refuses bad windows, thresholds, condition types and group_by dimensions, every problem at once', () => {
    const { config, diagnostics } = load('bad-window.yaml');
    expect(config).toBeUndefined();
    expect(diagnostics.map(formatDiagnostic)).toEqual([
      'pipelines.yaml:8:77 error processors.alert.rules.0.condition.window_seconds window_seconds must be at least 1 [CFG_OUT_OF_RANGE]',
      'pipelines.yaml:11:73 error processors.alert.rules.1.condition.window_seconds window_seconds must be a whole number of seconds [CFG_INVALID_TYPE]',
      'pipelines.yaml:14:51 error processors.alert.rules.2.condition.threshold Too big: expected number to be <=1 [CFG_OUT_OF_RANGE]',
      'pipelines.yaml:17:9 error processors.alert.rules.3.condition missing required key "window_seconds" [CFG_MISSING_KEY]',
      "pipelines.yaml:20:28 error processors.alert.rules.4.condition.type Invalid discriminator value. Expected 'verdict' | 'error_status' | 'cost_above' | 'latency_avg' | 'latency_p95' | 'error_rate' | 'cost_sum' | 'tokens_sum' | 'flagged_count' | 'span_count' [CFG_INVALID_VALUE]",
      'pipelines.yaml:21:20 error processors.alert.rules.4.group_by.0 group_by must be one of workspace, project, model, environment, service or attribute:<key> [CFG_INVALID_VALUE]',
    ]);
  });

  it('refuses a window longer than 30 days, a trace_link without {trace_id} and a non-http webhook URL', () => {
    const result = alertProcessorConfigSchema.safeParse({
      trace_link: 'https://grafana.example/explore',
      targets: { hook: { type: 'webhook', url: 'ftp://example.com/x' } },
      rules: [{ id: 'r', name: 'R', condition: { type: 'cost_sum', threshold_usd: 1, window_seconds: 31 * 24 * 3600 } }],
    });
    expect(result.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['rules.0.condition.window_seconds', 'window_seconds must be at most 2592000 (30 days)'],
      ['targets.hook.url', 'must be an http(s) URL'],
      ['trace_link', 'trace_link must contain {trace_id}'],
    ]);
  });
});
