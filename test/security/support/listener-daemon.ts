import http from 'node:http';
import pino from 'pino';
import { defaultConfigEnv, defaultPipelinesYaml } from '../../support/default-daemon';
import { startDaemon } from '../../support/daemon';
import type { TestDaemon } from '../../support/daemon';

/** Anchors in the repository's pipelines.yaml after which options are added. */
export const ANCHOR = {
  admin: 'listen: ${env:TRACEHOUSE_ADMIN_LISTEN:-127.0.0.1:8888}',
  otlpHttp: 'listen: ${env:TRACEHOUSE_OTLP_HTTP_LISTEN:-127.0.0.1:4318}',
  otlpGrpc: 'listen: ${env:TRACEHOUSE_OTLP_GRPC_LISTEN:-127.0.0.1:4317}',
} as const;

/** Adds `lines` (at the anchor line's indentation) right after the one line of `yaml` containing `anchor`. */
export function addOptions(yaml: string, anchor: string, lines: string[]): string {
  const all = yaml.split('\n');
  const at = all.findIndex((l) => l.includes(anchor));
  if (at === -1 || all.findIndex((l, i) => i > at && l.includes(anchor)) !== -1) throw new Error(`anchor not found once: ${anchor}`);
  const indent = /^\s*/.exec(all[at])?.[0] ?? '';
  all.splice(at + 1, 0, ...lines.map((l) => `${indent}${l}`));
  return all.join('\n');
}

export interface ListenerDaemon {
  daemon: TestDaemon;
  /** Every log line (pino JSON) the daemon wrote, parsed. */
  logs: Record<string, unknown>[];
}

/**
 * The repository's pipelines.yaml (what `npm start` runs) on ephemeral loopback ports, as
 * startDefaultDaemon() starts it, optionally edited (a small cap for a test), with its log kept.
 */
export async function startListenerDaemon(edit: (yaml: string) => string = (y) => y): Promise<ListenerDaemon> {
  const yaml = edit(defaultPipelinesYaml());
  const logs: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
  const daemon = await startDaemon(yaml, {
    logger,
    env: defaultConfigEnv(),
  });
  return { daemon, logs };
}

export interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  bytes: Buffer;
}

export interface RawRequest {
  method?: string;
  path?: string;
  /** Sent as given; `host` replaces the one node would send. */
  headers?: Record<string, string>;
  /** Send no Host header at all. */
  noHost?: boolean;
  body?: string | Buffer;
}

/**
 * One HTTP/1.1 request over a fresh loopback connection with exactly the headers given, as a
 * browser (or a DNS-rebinding page) would send them; fetch() does not let a test set Host or Origin.
 */
export function rawHttp(url: string, request: RawRequest = {}): Promise<RawAnswer> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: request.method ?? 'GET',
        path: request.path ?? '/',
        headers: request.headers,
        setHost: !request.noHost && request.headers?.host === undefined,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const bytes = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: bytes.toString('utf8'), bytes });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(request.body);
  });
}

/** The value of one Prometheus sample on the daemon's /metrics, 0 when absent. */
export async function metric(daemon: TestDaemon, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${daemon.adminUrl}/metrics`)).text();
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const labelText = line.slice(name.length + 1, line.indexOf('}'));
    const parts = labelText.split(',');
    if (wanted.every((w) => parts.includes(w))) return Number(line.slice(line.indexOf('}') + 1).trim());
  }
  return 0;
}

/** The port of a listener URL. */
export function portOf(url: string): number {
  return Number(new URL(url).port);
}
