/**
 * What the benchmarks share: request senders over OTLP/HTTP, OTLP/gRPC and the JSON ingest
 * routes, the OTLP request template, and readings of a daemon process (CPU, RSS, rows stored).
 */
import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { DAEMON_NODE_FLAGS } from '../bin/node-flags';
import { otlpTraceServiceDefinition } from '../receivers/otlp/grpc-server';
import { buildGenAiSpans, GEN_AI_SALT } from './gen-ai-spans';
import { compileTemplate, Placeholders } from './request-template';
import type { RequestTemplate } from './request-template';

export const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
export const DURATION_MS = Number(process.env.BENCH_SECONDS ?? 20) * 1000;
export const BENCH_API_KEY = 'th_bench_0123456789abcdef';
/** The repository root (benchmarks run from dist/bench). */
export const root = path.resolve(__dirname, '..', '..');

/** Node's arguments to run the daemon of build `dist` as `npm start` does (bin/node-flags.ts), then `args`. */
export function daemonArgs(args: readonly string[], dist = path.join(root, 'dist')): string[] {
  const extra = (process.env.BENCH_DAEMON_NODE_ARGS ?? '').split(' ').filter(Boolean);
  return [...DAEMON_NODE_FLAGS, ...extra, path.join(dist, 'bin', 'tracehouse.js'), ...args];
}

/** Sends one request body; resolves true when the daemon acknowledged it (2xx / OK). */
export interface Sender {
  send(body: Buffer): Promise<boolean>;
  close(): void;
}

/** The GenAI request template: each request n gets new ids and new prompts (see request-template.ts). */
export function buildTemplate(): RequestTemplate {
  const ids = new Placeholders(GEN_AI_SALT);
  return compileTemplate(buildGenAiSpans(ids), ids);
}

/** POSTs to 127.0.0.1:port with keep-alive connections, one per concurrent request. */
export function httpSender(port: number, route: string, headers: Record<string, string>): Sender {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const send = (body: Buffer) =>
    new Promise<boolean>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port, path: route, method: 'POST', agent, headers: { ...headers, 'content-length': body.length } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  return { send, close: () => agent.destroy() };
}

export function otlpHttpSender(port: number): Sender {
  return httpSender(port, '/v1/traces', { 'content-type': 'application/x-protobuf' });
}

/** POSTs JSON with the bench workspace key to one of the ingest routes. */
export function jsonSender(port: number, route: string): Sender {
  return httpSender(port, route, { 'content-type': 'application/json', authorization: `Bearer ${BENCH_API_KEY}` });
}

/** One channel (one HTTP/2 connection) carrying every concurrent call, as an SDK exporter does. */
export function grpcSender(port: number): Sender {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const { path: method, requestSerialize, responseDeserialize } = otlpTraceServiceDefinition.export;
  const send = (body: Buffer) =>
    new Promise<boolean>((resolve) => {
      client.makeUnaryRequest(method, requestSerialize, responseDeserialize, body, new grpc.Metadata(), (err) => resolve(!err));
    });
  return { send, close: () => client.close() };
}

export async function waitForHealth(adminPort: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${adminPort}/healthz`);
      if (res.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('daemon did not become healthy');
}

/** CPU seconds (user + system) a process has used so far, from /proc. */
export function cpuSeconds(pid: number | undefined): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  // utime and stime are fields 14 and 15 of /proc/PID/stat, counted from 1 before the ") " split.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Spans in otel_traces (not counting records evaluate_rules adds), through a daemon's admin listener. */
export async function countStored(adminPort: number): Promise<number> {
  const sql = "SELECT count() FROM otel_traces WHERE SpanAttributes['tracehouse.record_type'] != 'agent_finding'";
  const res = await fetch(`http://127.0.0.1:${adminPort}/?query=${encodeURIComponent(sql)}`);
  return Number((await res.text()).trim());
}

/** Resident set size now, in KiB (VmHWM would carry one phase's peak into the next). */
export function rssKb(pid: number | undefined): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

/** Sums of the exporters' batch histograms (all exporters), from a daemon's /metrics. */
export interface BatchTotals {
  /** Writes, and spans in them (tracehouse_exporter_batch_spans). */
  inserts: number;
  spans: number;
  /** Writes timed, and their wall time (tracehouse_exporter_batch_seconds). */
  timed: number;
  seconds: number;
}

export async function batchTotals(adminPort: number): Promise<BatchTotals> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  const sum = (metric: string) => {
    let total = 0;
    for (const m of text.matchAll(new RegExp(`^${metric}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))) total += Number(m[1]);
    return total;
  };
  return {
    inserts: sum('tracehouse_exporter_batch_spans_count'),
    spans: sum('tracehouse_exporter_batch_spans_sum'),
    timed: sum('tracehouse_exporter_batch_seconds_count'),
    seconds: sum('tracehouse_exporter_batch_seconds_sum'),
  };
}
