/**
 * `npm run bench`: starts the daemon on the default embedded config in its own process, drives it
 * with concurrent requests over OTLP/HTTP and OTLP/gRPC (100 gen_ai spans each), the OpenAI Agents
 * export route (100 spans each) and the AITracer /api/traces route (one LLM call each)
 * (`BENCH_TRANSPORT=http,grpc,agents,traces` to choose), and prints per transport spans stored per
 * second (rows counted in ClickHouse after the phase / elapsed), p50/p99 request latency, daemon
 * CPU per span and peak RSS, then all side by side.
 */
import * as grpc from '@grpc/grpc-js';
import { parse, stringify } from 'yaml';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { encodeTraceRequestProto } from '../core/otlp/encode';
import { otlpTraceServiceDefinition } from '../receivers/otlp/grpc-server';
import { buildGenAiSpans, SPANS_PER_REQUEST } from './gen-ai-spans';
import { AGENTS_SPANS_PER_REQUEST, agentsExportBody, nativeTraceBody } from './json-ingest-loads';

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const DURATION_MS = Number(process.env.BENCH_SECONDS ?? 20) * 1000;
const OTLP_PORT = Number(process.env.BENCH_OTLP_PORT ?? 14318);
const GRPC_PORT = Number(process.env.BENCH_OTLP_GRPC_PORT ?? 14317);
const ADMIN_PORT = Number(process.env.BENCH_ADMIN_PORT ?? 18888);
const INGEST_PORT = Number(process.env.BENCH_INGEST_PORT ?? 18080);
const BENCH_API_KEY = 'th_bench_0123456789abcdef';

type Transport = 'http' | 'grpc' | 'agents' | 'traces';
const TRANSPORTS: readonly Transport[] = ['http', 'grpc', 'agents', 'traces'];
const LABELS: Record<Transport, string> = {
  http: 'OTLP/HTTP protobuf',
  grpc: 'OTLP/gRPC',
  agents: 'OpenAI Agents export (JSON)',
  traces: 'AITracer /api/traces (JSON)',
};
const SPANS_PER: Record<Transport, number> = { http: SPANS_PER_REQUEST, grpc: SPANS_PER_REQUEST, agents: AGENTS_SPANS_PER_REQUEST, traces: 1 };

/** All by default, in this order; BENCH_TRANSPORT (comma-separated) picks some. */
function transportsToRun(): Transport[] {
  const value = process.env.BENCH_TRANSPORT;
  if (value === undefined || value === '') return [...TRANSPORTS];
  const picked = value.split(',').map((v) => v.trim());
  for (const v of picked) if (!TRANSPORTS.includes(v as Transport)) throw new Error(`BENCH_TRANSPORT takes ${TRANSPORTS.join(', ')}, not "${v}"`);
  return picked as Transport[];
}

/** Sends one request body; resolves true when the daemon acknowledged it (200 / OK). */
interface Sender {
  send(body: Buffer): Promise<boolean>;
  close(): void;
}
const root = path.resolve(__dirname, '..', '..');

/** A request template whose trace and span ids are overwritten per request, so every span is new. */
function buildTemplate(): { body: Buffer; idOffsets: number[] } {
  const spans = buildGenAiSpans();
  const body = Buffer.from(encodeTraceRequestProto(spans));
  const idOffsets: number[] = [];
  // Every occurrence of every id, so that the request number can be stamped into all of them.
  for (const id of new Set(spans.flatMap((s) => [s.traceId, s.spanId]))) {
    const bytes = Buffer.from(id, 'hex');
    for (let at = body.indexOf(bytes); at !== -1; at = body.indexOf(bytes, at + 1)) idOffsets.push(at);
  }
  if (idOffsets.some((o) => o < 0)) throw new Error('bench template: id bytes not found');
  return { body, idOffsets };
}

function httpSender(): Sender {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const send = (body: Buffer) =>
    new Promise<boolean>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: OTLP_PORT, path: '/v1/traces', method: 'POST', agent, headers: { 'content-type': 'application/x-protobuf', 'content-length': body.length } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode === 200));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  return { send, close: () => agent.destroy() };
}

/** POSTs JSON with the bench workspace key to one of the ingest routes. */
function jsonSender(route: string): Sender {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const send = (body: Buffer) =>
    new Promise<boolean>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: INGEST_PORT,
          path: route,
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': body.length, authorization: `Bearer ${BENCH_API_KEY}` },
        },
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

/** One channel (one HTTP/2 connection) carrying every concurrent call, as an SDK exporter does. */
function grpcSender(): Sender {
  const client = new grpc.Client(`127.0.0.1:${GRPC_PORT}`, grpc.credentials.createInsecure());
  const { path: method, requestSerialize, responseDeserialize } = otlpTraceServiceDefinition.export;
  const send = (body: Buffer) =>
    new Promise<boolean>((resolve) => {
      client.makeUnaryRequest(method, requestSerialize, responseDeserialize, body, new grpc.Metadata(), (err) => resolve(!err));
    });
  return { send, close: () => client.close() };
}

async function waitForHealth(): Promise<void> {
  for (let i = 0; i < 600; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${ADMIN_PORT}/healthz`);
      if (res.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('daemon did not become healthy');
}

/** CPU seconds (user + system) a process has used so far, from /proc. */
function cpuSeconds(pid: number | undefined): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  // utime and stime are fields 14 and 15 of /proc/PID/stat, counted from 1 before the ") " split.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

interface PhaseResult {
  transport: Transport;
  /** Which config the daemon ran. */
  scenario: string;
  elapsedS: number;
  requests: number;
  failures: number;
  stored: number;
  p50: number;
  p99: number;
  daemonCpuS: number;
  clientCpuS: number;
  peakRssMb: number;
}

async function countStored(): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${ADMIN_PORT}/?query=${encodeURIComponent('SELECT count() FROM otel_traces')}`);
  return Number((await res.text()).trim());
}

/** Resident set size now, in KiB (VmHWM would carry one phase's peak into the next). */
function rssKb(pid: number | undefined): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

async function runPhase(transport: Transport, scenario: string, daemonPid: number | undefined, nextRequestNo: () => number): Promise<PhaseResult> {
  const { body: template, idOffsets } = buildTemplate();
  const sender =
    transport === 'http' ? httpSender() : transport === 'grpc' ? grpcSender() : jsonSender(transport === 'agents' ? '/v1/traces/ingest' : '/api/traces');
  const bodyFor = (n: number): Buffer => {
    if (transport === 'agents') return agentsExportBody(n);
    if (transport === 'traces') return nativeTraceBody(n);
    const body = Buffer.from(template);
    // Stamp the request number into every id so that no two requests share a span.
    for (const offset of idOffsets) body.writeUInt32BE(n, offset);
    return body;
  };
  let peakRssKb = 0;
  const sampler = setInterval(() => {
    try {
      peakRssKb = Math.max(peakRssKb, rssKb(daemonPid));
    } catch {
      // process gone
    }
  }, 200);
  try {
    const storedBefore = await countStored();
    const latencies: number[] = [];
    let failures = 0;
    const cpuAtStart = cpuSeconds(daemonPid);
    const clientCpuAtStart = process.cpuUsage();
    const started = performance.now();
    const worker = async () => {
      while (performance.now() - started < DURATION_MS) {
        const body = bodyFor(nextRequestNo());
        const t0 = performance.now();
        const ok = await sender.send(body);
        latencies.push(performance.now() - t0);
        if (!ok) failures++;
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const elapsedS = (performance.now() - started) / 1000;
    const daemonCpuS = cpuSeconds(daemonPid) - cpuAtStart;
    const clientCpu = process.cpuUsage(clientCpuAtStart);
    latencies.sort((a, b) => a - b);
    return {
      transport,
      scenario,
      elapsedS,
      requests: latencies.length,
      failures,
      // Every acknowledged request was inserted before its answer, so the count is final here.
      stored: (await countStored()) - storedBefore,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      daemonCpuS,
      clientCpuS: (clientCpu.user + clientCpu.system) / 1e6,
      peakRssMb: Math.round(peakRssKb / 1024),
    };
  } finally {
    clearInterval(sampler);
    sender.close();
  }
}

function report(r: PhaseResult): string {
  return [
    `${LABELS[r.transport]} (${r.scenario}), ${SPANS_PER[r.transport]} spans/request, concurrency ${CONCURRENCY}, ${r.elapsedS.toFixed(1)} s`,
    `requests: ${r.requests} (${r.failures} not acknowledged)`,
    `spans stored: ${r.stored} -> ${Math.round(r.stored / r.elapsedS)} spans/s (acknowledged after the ClickHouse insert)`,
    `request latency: p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms`,
    `daemon CPU: ${((r.daemonCpuS / Math.max(r.stored, 1)) * 1e6).toFixed(1)} µs per stored span (${(r.daemonCpuS / r.elapsedS).toFixed(2)} cores busy of ${os.cpus().length})`,
    `load generator CPU (same machine): ${(r.clientCpuS / r.elapsedS).toFixed(2)} cores`,
    `daemon peak RSS during the run: ${r.peakRssMb} MiB`,
    '',
  ].join('\n');
}

function sideBySide(results: PhaseResult[]): string {
  const rows = [
    ['', ...results.map((r) => LABELS[r.transport])],
    ['', ...results.map((r) => r.scenario)],
    ['spans stored/s', ...results.map((r) => String(Math.round(r.stored / r.elapsedS)))],
    ['p50 / p99 ms', ...results.map((r) => `${r.p50.toFixed(1)} / ${r.p99.toFixed(1)}`)],
    ['daemon µs/span', ...results.map((r) => ((r.daemonCpuS / Math.max(r.stored, 1)) * 1e6).toFixed(1))],
    ['peak RSS MiB', ...results.map((r) => String(r.peakRssMb))],
    ['not acknowledged', ...results.map((r) => String(r.failures))],
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return rows.map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('   ')).join('\n') + '\n';
}

interface Scenario {
  label: string;
  configFile: string;
  transports: Transport[];
}

/**
 * The default config (ingest rate limits off) with every transport and, when its pipeline runs `redact`, the same config
 * without it over HTTP, so the cost of redaction is printed next to the figure it costs
 * (BENCH_REDACT_COMPARE=0 skips that run).
 */
function scenarios(workDir: string): Scenario[] {
  const config = parse(readFileSync(path.join(root, 'pipelines.yaml'), 'utf8')) as {
    receivers: Record<string, Record<string, unknown> | null>;
    processors?: Record<string, unknown>;
    service: { pipelines: Record<string, { processors?: string[] }> };
  };
  // The load generator is one key sending as fast as it can: the ingest routes' per-key rate limits
  // would measure themselves, so they are turned off.
  for (const [id, receiver] of Object.entries(config.receivers)) {
    if (id.split('/')[0] !== 'otlp') config.receivers[id] = { ...(receiver ?? {}), rate_limit: 'none' };
  }
  const configFile = path.join(workDir, 'pipelines-bench.yaml');
  writeFileSync(configFile, stringify(config));
  const list: Scenario[] = [{ label: 'default pipelines.yaml', configFile, transports: transportsToRun() }];
  const pipelines = Object.values(config.service.pipelines);
  if (process.env.BENCH_REDACT_COMPARE !== '0' && pipelines.some((p) => p.processors?.some((id) => id.split('/')[0] === 'redact'))) {
    for (const p of pipelines) p.processors = p.processors?.filter((id) => id.split('/')[0] !== 'redact');
    const processors = config.processors ?? {};
    for (const id of Object.keys(processors)) if (id.split('/')[0] === 'redact') delete processors[id];
    const withoutRedact = path.join(workDir, 'pipelines-without-redact.yaml');
    writeFileSync(withoutRedact, stringify(config));
    list.push({ label: 'same pipeline without redact', configFile: withoutRedact, transports: ['http'] });
  }
  return list;
}

async function runScenario(scenario: Scenario, workDir: string): Promise<PhaseResult[]> {
  const dataDir = mkdtempSync(path.join(workDir, 'data-'));
  const nodeArgs = (process.env.BENCH_DAEMON_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const daemon = spawn(process.execPath, [...nodeArgs, path.join(root, 'dist', 'bin', 'tracehouse.js'), 'run', '-c', scenario.configFile], {
    env: {
      ...process.env,
      TRACEHOUSE_DATA_DIR: dataDir,
      TRACEHOUSE_OTLP_HTTP_LISTEN: `127.0.0.1:${OTLP_PORT}`,
      TRACEHOUSE_OTLP_GRPC_LISTEN: `127.0.0.1:${GRPC_PORT}`,
      TRACEHOUSE_ADMIN_LISTEN: `127.0.0.1:${ADMIN_PORT}`,
      TRACEHOUSE_INGEST_LISTEN: `127.0.0.1:${INGEST_PORT}`,
      TRACEHOUSE_API_KEY: BENCH_API_KEY,
      TRACEHOUSE_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  try {
    await waitForHealth();
    let requestNo = 0;
    const results: PhaseResult[] = [];
    for (const transport of scenario.transports) {
      // Request numbers continue across phases, so the second phase stores new spans only.
      const result = await runPhase(transport, scenario.label, daemon.pid, () => ++requestNo);
      results.push(result);
      process.stdout.write(report(result));
    }
    return results;
  } finally {
    daemon.kill('SIGTERM');
    await new Promise((r) => daemon.once('exit', r));
  }
}

async function main(): Promise<void> {
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'tracehouse-bench-'));
  try {
    const results: PhaseResult[] = [];
    for (const scenario of scenarios(workDir)) results.push(...(await runScenario(scenario, workDir)));
    if (results.length > 1) process.stdout.write(`\n${sideBySide(results)}`);
    const withRedact = results.find((r) => r.transport === 'http' && r.scenario.startsWith('default'));
    const without = results.find((r) => r.scenario.includes('without redact'));
    if (withRedact && without) {
      const ratio = withRedact.stored / withRedact.elapsedS / (without.stored / without.elapsedS);
      process.stdout.write(`\nOTLP/HTTP with redact keeps ${(ratio * 100).toFixed(0)}% of the throughput without it\n`);
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
