import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ComponentRegistry, QueryLimits } from '../../core/component';
import { formatDiagnostic } from '../../core/config/diagnostics';
import { loadConfigText } from '../../core/config/load-config';
import { silentLogger } from '../../core/logger';
import type { Logger } from '../../core/logger';
import { Service } from '../../core/service';
import { testRegistry } from './upstream-stamps';

/**
 * One embedded ClickHouse data directory per test process: the embedded engine keeps one data
 * directory per process, so tests isolate themselves by database instead.
 */
export const processDataDir: string = mkdtempSync(path.join(os.tmpdir(), `tracehouse-test-${process.pid}-`));

let databaseCounter = 0;
/** A database name no other test in this process uses. */
export function uniqueDatabase(prefix = 'test'): string {
  databaseCounter += 1;
  return `${prefix}_${process.pid}_${databaseCounter}`;
}

export interface TestDaemon {
  service: Service;
  /** Base URL of a receiver's HTTP listener, by receiver id. */
  receiverUrl(id: string): string;
  adminUrl: string;
  stop(): Promise<void>;
}

/** Starts a real Service from YAML text (listeners should use port 0). */
export async function startDaemon(
  yaml: string,
  options: { env?: NodeJS.ProcessEnv; logger?: Logger; registry?: ComponentRegistry; pipelines?: string[] } = {},
): Promise<TestDaemon> {
  const env = { TEST_DATA_DIR: processDataDir, ...options.env };
  const { pipelines } = options;
  const { config, diagnostics } = loadConfigText(yaml, 'test.yaml', options.registry ?? testRegistry, { env, pipelines });
  if (!config) throw new Error(`test config invalid:\n${diagnostics.map(formatDiagnostic).join('\n')}`);
  const service = new Service(config, { logger: options.logger ?? silentLogger(), pipelines });
  await service.start();
  return {
    service,
    receiverUrl: (id) => `http://127.0.0.1:${service.listenerPorts.get(id)}`,
    adminUrl: `http://127.0.0.1:${service.adminPort}`,
    stop: () => service.shutdown(),
  };
}

/** Runs a query through the daemon's admin endpoint and returns the JSON rows. */
export async function queryRows<T = Record<string, unknown>>(daemon: TestDaemon, sql: string, database?: string): Promise<T[]> {
  const url = new URL(daemon.adminUrl);
  if (database) url.searchParams.set('database', database);
  const res = await fetch(url, { method: 'POST', body: `${sql} FORMAT JSON` });
  const text = await res.text();
  if (!res.ok) throw new Error(`query failed (${res.status}): ${text}`);
  return (JSON.parse(text) as { data: T[] }).data;
}

export interface OtlpPipelineOptions {
  /** Where spans go: the clickhouse exporter (default) or the test recording exporter. */
  exporter?: 'clickhouse' | 'recording';
  /** The clickhouse exporter's database. */
  database?: string;
  /** Server mode (a ClickHouse HTTP endpoint); the embedded engine in this process's data dir otherwise. */
  endpoint?: string;
  /** receivers.otlp.http as a YAML flow mapping (default: an ephemeral port). */
  http?: string;
  /** Listen for OTLP/gRPC too (true: on an ephemeral port; a string: receivers.otlp.grpc as given). */
  grpc?: boolean | string;
  /** Extra YAML lines under receivers.otlp, clickhouse and service.admin, as `key: value`. */
  otlp?: string[];
  clickhouse?: string[];
  admin?: string[];
}

/** The common test pipeline: the otlp receiver on ephemeral ports into one exporter. */
export function otlpPipelineYaml(options: OtlpPipelineOptions): string {
  const lines = (extra: string[] = [], indent = '    ') => extra.map((l) => `${indent}${l}\n`).join('');
  const exporter = options.exporter ?? 'clickhouse';
  const exporterYaml =
    exporter === 'recording'
      ? '  recording:\n'
      : `  clickhouse:
    ${options.endpoint ? `endpoint: ${options.endpoint}` : 'path: ${env:TEST_DATA_DIR}'}
    database: ${options.database ?? 'default'}
    timeout_ms: 10
${lines(options.clickhouse)}`;
  return `receivers:
  otlp:
    http: ${options.http ?? '{ listen: 127.0.0.1:0 }'}
    grpc: ${typeof options.grpc === 'string' ? options.grpc : options.grpc ? '{ listen: 127.0.0.1:0 }' : '{ enabled: false }'}
${lines(options.otlp)}exporters:
${exporterYaml}service:
  admin:
    listen: 127.0.0.1:0
${lines(options.admin)}  pipelines:
    traces: { receivers: [otlp], exporters: [${exporter}] }
`;
}

/** The admin endpoint's default limits, for tests that call a QueryBackend directly. */
export const TEST_QUERY_LIMITS: QueryLimits = {
  timeoutMs: 30_000,
  maxMemoryBytes: 1024 ** 3,
  maxRowsToRead: 1_000_000_000,
  maxResultBytes: 64 * 1024 ** 2,
  maxThreads: 1,
};

/** The development workspace of ingest tests, with its key. */
export const TEST_WORKSPACE = 'acme';
export const TEST_API_KEY = 'th_test_acme_0123456789abcdef';

export interface IngestPipelineOptions {
  /** Receiver id -> extra YAML lines under it (each receiver listens on 127.0.0.1:0, one shared server). */
  receivers: Record<string, string[]>;
  /** The top-level workspaces section as YAML lines (default: TEST_WORKSPACE with TEST_API_KEY). */
  workspaces?: string[];
  exporter?: 'clickhouse' | 'recording';
  database?: string;
  /** Processors to run, in order, with their YAML lines. */
  processors?: Record<string, string[]>;
}

/** A test pipeline of JSON ingest receivers on an ephemeral port into one exporter. */
export function ingestPipelineYaml(options: IngestPipelineOptions): string {
  const lines = (extra: string[] = [], indent: string) => extra.map((l) => `${indent}${l}\n`).join('');
  const exporter = options.exporter ?? 'clickhouse';
  const exporterYaml =
    exporter === 'recording'
      ? '  recording:\n'
      : `  clickhouse:\n    path: \${env:TEST_DATA_DIR}\n    database: ${options.database ?? 'default'}\n    timeout_ms: 10\n`;
  const receivers = Object.entries(options.receivers)
    .map(([id, extra]) => `  ${id}:\n    listen: 127.0.0.1:0\n${lines(extra, '    ')}`)
    .join('');
  const processors = Object.entries(options.processors ?? {})
    .map(([id, extra]) => `  ${id}:\n${lines(extra, '    ')}`)
    .join('');
  const workspaces = options.workspaces ?? [`${TEST_WORKSPACE}:`, `  api_keys: ["${TEST_API_KEY}"]`];
  return `receivers:
${receivers}${processors ? `processors:\n${processors}` : ''}exporters:
${exporterYaml}workspaces:
${lines(workspaces, '  ')}service:
  admin:
    listen: 127.0.0.1:0
  pipelines:
    traces:
      receivers: [${Object.keys(options.receivers).join(', ')}]
      processors: [${Object.keys(options.processors ?? {}).join(', ')}]
      exporters: [${exporter}]
`;
}

/** POSTs JSON (or a raw string) with the test key unless `headers` says otherwise. */
export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: any; text: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_API_KEY}`, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}
