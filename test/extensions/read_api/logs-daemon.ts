/**
 * The daemon the logs API tests run: the logs receiver and the read_api extension on one listener
 * (the same keys), evaluate_rules with a keyword rule and decision callbacks to loopback stand-ins,
 * the embedded ClickHouse, and two workspaces.
 */
import { createServer } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDaemon, uniqueDatabase } from '../../support/daemon';
import type { TestDaemon } from '../../support/daemon';
import { apiCall } from '../control_plane/api-client';
import type { ApiAnswer } from '../control_plane/api-client';

export const ADMIN_KEY = 'logs_admin_key_0123456789abcdef';
export const READ_KEY = 'logs_read_key_0123456789abcdefg';
export const OTHER_KEY = 'logs_other_key_0123456789abcdef';
export const SIGNING_SECRET = 'callback-signing-secret-0123456789';

/** A port free right now, for the listener the receiver and the extension share. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface LogsDaemon {
  daemon: TestDaemon;
  base: string;
  attachmentsDir: string;
  database: string;
  call(method: string, route: string, key?: string, body?: unknown): Promise<ApiAnswer>;
  /** POST /api/logs; resolves with the answer's JSON. */
  log(body: Record<string, unknown>, key?: string): Promise<ApiAnswer>;
  stop(): Promise<void>;
}

export interface LogsDaemonOptions {
  /** The read_api's rate_limit as YAML flow text (default: high enough never to bite). */
  readRateLimit?: string;
  /** The ClickHouse server (HTTP endpoint) the exporter writes to instead of the embedded engine. */
  endpoint?: string;
  /** false: no evaluate_rules in the pipeline (logs are stored without a verdict). */
  evaluate?: boolean;
}

export async function startLogsDaemon(prefix: string, options: LogsDaemonOptions = {}): Promise<LogsDaemon> {
  const port = await freePort();
  const database = uniqueDatabase(prefix);
  const attachmentsDir = mkdtempSync(path.join(os.tmpdir(), 'th-logs-attachments-'));
  const daemon = await startDaemon(`receivers:
  logs:
    listen: 127.0.0.1:${port}
    attachments_dir: ${attachmentsDir}
    rate_limit: { limit: 100000, window_seconds: 60 }
processors:
  evaluate_rules:
    rules:
      - { id: no-refunds, name: No refunds, type: keyword_forbidden, value: refund }
    callbacks:
      signing_secret: ${SIGNING_SECRET}
      allow_private_addresses: true
      max_attempts: 1
      timeout_ms: 2000
exporters:
  clickhouse:
    ${options.endpoint ? `endpoint: ${options.endpoint}` : 'path: ${env:TEST_DATA_DIR}'}
    database: ${database}
extensions:
  read_api:
    listen: 127.0.0.1:${port}
    attachments_dir: ${attachmentsDir}
    rate_limit: ${options.readRateLimit ?? '{ limit: 100000, window_seconds: 60 }'}
workspaces:
  acme:
    api_keys:
      - "${ADMIN_KEY}"
      - { key: "${READ_KEY}", roles: [read, ingest] }
  other:
    api_keys: ["${OTHER_KEY}"]
service:
  extensions: [read_api]
  admin: { listen: 127.0.0.1:0 }
  pipelines:
    traces: { receivers: [logs], processors: [${options.evaluate === false ? '' : 'evaluate_rules'}], exporters: [clickhouse] }
`);
  const base = `http://127.0.0.1:${port}`;
  const call = (method: string, route: string, key = ADMIN_KEY, body?: unknown) => apiCall(base, method, route, key, body);
  return {
    daemon,
    base,
    attachmentsDir,
    database,
    call,
    log: (body, key = ADMIN_KEY) => call('POST', '/api/logs', key, body),
    stop: () => daemon.stop(),
  };
}

export interface Received {
  headers: IncomingHttpHeaders;
  body: any;
  raw: string;
}

/** A callback receiver on loopback that records what it is sent. */
export async function callbackStandIn(): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      received.push({ headers: req.headers, body: JSON.parse(raw), raw });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook`, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
