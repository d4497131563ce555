import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { clickhouseExporterFactory } from '../../../exporters/clickhouse/factory';
import {
  clickhouseExporterConfigSchema as schema,
  resolveTarget,
} from '../../../exporters/clickhouse/config';

/** The one exporter config in a scenario file under ./config. */
function scenario(name: string): unknown {
  const doc = parse(fs.readFileSync(path.join(__dirname, 'config', name), 'utf8')) as {
    exporters: Record<string, unknown>;
  };
  return Object.values(doc.exporters)[0];
}

function issues(input: unknown) {
  const result = schema.safeParse(input);
  if (result.success) throw new Error('expected the config to be rejected');
  return result.error.issues.map((issue) => ({ path: issue.path.join('.'), code: issue.code, message: issue.message }));
}

test('the factory declares what the registry needs', () => {
  expect(clickhouseExporterFactory).toMatchObject({ type: 'clickhouse', kind: 'exporter', stability: 'beta' });
  expect(clickhouseExporterFactory.summary).toMatch(/ClickHouse/);
  expect(clickhouseExporterFactory.configSchema).toBe(schema);
});

test('an empty config parses to the embedded defaults', () => {
  const config = schema.parse(scenario('defaults.yaml'));
  expect(config).toEqual({
    database: 'default',
    table: 'otel_traces',
    ttl_days: 0,
    max_spans: 5_000,
    timeout_ms: 200,
    queue_max_spans: 100_000,
    insert_timeout_ms: 30_000,
    fsync_after_insert: false,
    retry: { initial_interval_ms: 500, max_interval_ms: 5_000, max_elapsed_ms: 30_000 },
  });
  expect(resolveTarget(config)).toEqual({ mode: 'embedded', path: './data/clickhouse', spoolDir: fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir() });
});

test('a fully specified server config parses to exactly what it says', () => {
  const config = schema.parse(scenario('server.yaml'));
  expect(config).toEqual({
    endpoint: 'https://clickhouse.internal:8443',
    username: 'tracehouse',
    password: 's3cret',
    database: 'otel',
    table: 'llm_spans',
    ttl_days: 14,
    cluster_name: 'prod',
    max_spans: 5000,
    timeout_ms: 1000,
    queue_max_spans: 50000,
    insert_timeout_ms: 10000,
    fsync_after_insert: true,
    retry: { initial_interval_ms: 250, max_interval_ms: 2000, max_elapsed_ms: 0 },
  });
});

test('server mode resolves credentials with their defaults', () => {
  const config = schema.parse({ endpoint: 'https://ch.example:8443', cluster_name: 'prod', retry: { max_elapsed_ms: 0 } });
  expect(config.retry).toEqual({ initial_interval_ms: 500, max_interval_ms: 5_000, max_elapsed_ms: 0 });
  expect(resolveTarget(config)).toEqual({ mode: 'server', endpoint: 'https://ch.example:8443', username: 'default', password: '' });
});

test('an unknown key is rejected', () => {
  expect(issues(scenario('unknown-key.yaml'))).toEqual([
    { path: '', code: 'unrecognized_keys', message: 'Unrecognized key: "tabel"' },
  ]);
});

test('credentials without endpoint are rejected', () => {
  expect(issues(scenario('credentials-without-endpoint.yaml'))).toEqual([
    { path: 'username', code: 'custom', message: 'username only applies with endpoint (the embedded engine has no users)' },
  ]);
});

test('unknown keys are rejected, also inside retry', () => {
  expect(issues({ tabel: 'x', retry: { max_elapsed: 1 } })).toEqual(
    expect.arrayContaining([
      { path: '', code: 'unrecognized_keys', message: 'Unrecognized key: "tabel"' },
      { path: 'retry', code: 'unrecognized_keys', message: 'Unrecognized key: "max_elapsed"' },
    ]),
  );
});

test('endpoint and path together are rejected', () => {
  expect(issues(scenario('endpoint-and-path.yaml'))).toEqual([
    {
      path: 'path',
      code: 'custom',
      message: 'set either endpoint (ClickHouse server) or path (embedded engine), not both',
    },
  ]);
});

test('credentials without endpoint, bad names and bad URLs are rejected', () => {
  expect(issues({ password: 'x', table: 'otel-traces', endpoint: undefined })).toEqual([
    { path: 'table', code: 'invalid_format', message: 'must be a plain identifier: letters, digits and _' },
    { path: 'password', code: 'custom', message: 'password only applies with endpoint (the embedded engine has no users)' },
  ]);
  expect(issues({ endpoint: 'tcp://localhost:9000' }).map((i) => i.path)).toEqual(['endpoint']);
  expect(issues({ retry: { initial_interval_ms: 100, max_interval_ms: 50 } }).map((i) => i.path)).toEqual([
    'retry.max_interval_ms',
  ]);
});

test('every exporter in the README example parses', () => {
  const readme = fs.readFileSync(path.join(__dirname, '../../../exporters/clickhouse/README.md'), 'utf8');
  const block = /```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
  const exporters = (parse(block ?? '') as { exporters: Record<string, unknown> }).exporters;
  expect(Object.keys(exporters)).toEqual(['clickhouse', 'clickhouse/server']);
  for (const config of Object.values(exporters)) expect(schema.safeParse(config).success).toBe(true);
});
