/**
 * `npm run bench`: starts the daemon on the default embedded config in its own process, drives it
 * with concurrent requests over OTLP/HTTP and OTLP/gRPC (100 gen_ai spans each), the OpenAI Agents
 * export route (100 spans each) and the AITracer /api/traces route (one LLM call each)
 * (`BENCH_TRANSPORT=http,grpc,agents,traces` to choose), and prints per transport spans stored per
 * second (rows counted in ClickHouse after the phase / elapsed), p50/p99 request latency, daemon
 * CPU per span and peak RSS, then all side by side. BENCH_FSYNC=1 runs the exporter with
 * fsync_after_insert (every acknowledged insert on disk).
 */
import { parse, stringify } from 'yaml';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SPANS_PER_REQUEST } from './gen-ai-spans';
import {
  BENCH_API_KEY,
  buildTemplate,
  CONCURRENCY,
  countStored,
  cpuSeconds,
  DURATION_MS,
  grpcSender,
  jsonSender,
  otlpHttpSender,
  percentile,
  root,
  rssKb,
  waitForHealth,
} from './harness';
import { AGENTS_SPANS_PER_REQUEST, agentsExportBody, nativeTraceBody } from './json-ingest-loads';
import { runSharedStateBench } from './shared-state';
import { runTwoTierBench } from './two-tier';

const OTLP_PORT = Number(process.env.BENCH_OTLP_PORT ?? 14318);
const GRPC_PORT = Number(process.env.BENCH_OTLP_GRPC_PORT ?? 14317);
const ADMIN_PORT = Number(process.env.BENCH_ADMIN_PORT ?? 18888);
const INGEST_PORT = Number(process.env.BENCH_INGEST_PORT ?? 18080);

/** BENCH_FSYNC=1 turns the clickhouse exporter's fsync_after_insert on, to measure what it costs. */
const FSYNC = process.env.BENCH_FSYNC === '1';

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

async function runPhase(transport: Transport, scenario: string, daemonPid: number | undefined, nextRequestNo: () => number): Promise<PhaseResult> {
  const { body: template, idOffsets } = buildTemplate();
  const sender =
    transport === 'http'
      ? otlpHttpSender(OTLP_PORT)
      : transport === 'grpc'
        ? grpcSender(GRPC_PORT)
        : jsonSender(INGEST_PORT, transport === 'agents' ? '/v1/traces/ingest' : '/api/traces');
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
    const storedBefore = await countStored(ADMIN_PORT);
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
      stored: (await countStored(ADMIN_PORT)) - storedBefore,
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
    exporters: Record<string, Record<string, unknown> | null>;
    service: { pipelines: Record<string, { processors?: string[] }> };
  };
  // BENCH_FSYNC=1: every part an insert writes is fsynced before the answer (fsync_after_insert).
  if (FSYNC) {
    for (const [id, exporter] of Object.entries(config.exporters)) {
      if (id.split('/')[0] === 'clickhouse') config.exporters[id] = { ...(exporter ?? {}), fsync_after_insert: true };
    }
  }
  // The load generator is one key sending as fast as it can: the ingest routes' per-key rate limits
  // would measure themselves, so they are turned off.
  for (const [id, receiver] of Object.entries(config.receivers)) {
    if (id.split('/')[0] !== 'otlp') config.receivers[id] = { ...(receiver ?? {}), rate_limit: 'none' };
  }
  const configFile = path.join(workDir, 'pipelines-bench.yaml');
  writeFileSync(configFile, stringify(config));
  const label = FSYNC ? 'default pipelines.yaml, fsync_after_insert' : 'default pipelines.yaml';
  const list: Scenario[] = [{ label, configFile, transports: transportsToRun() }];
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
    await waitForHealth(ADMIN_PORT);
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
    if (process.env.BENCH_TWO_TIER !== '0') process.stdout.write(`\n${await runTwoTierBench()}`);
    if (process.env.BENCH_SHARED !== '0') process.stdout.write(`\n${await runSharedStateBench()}`);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
