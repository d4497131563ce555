/**
 * `npm run bench`: starts the daemon on the default embedded config in its own process, drives it
 * with concurrent requests over OTLP/HTTP and OTLP/gRPC (100 gen_ai spans each), OTLP/HTTP in the
 * older OpenLLMetry style (100 spans of traces of 90), the OpenAI Agents export route (100 spans
 * each), the AITracer /api/traces route (one LLM call each) and the log-evaluation /api/logs route
 * (one log each)
 * (`BENCH_TRANSPORT=http,grpc,openllmetry,agents,traces,logs` to choose). Every request carries new
 * ids and new prompts (and completions, where the shape has them). Per transport it prints spans stored per second (rows
 * counted in ClickHouse after the phase / elapsed), daemon CPU per stored span split by thread
 * group (daemon-threads.ts), cores busy, p50/p99 request latency, peak RSS and the exporter's
 * batches (spans and milliseconds per insert, from /metrics), then one table row per run.
 * BENCH_FSYNC=1 runs the exporter with fsync_after_insert (every acknowledged insert on disk);
 * BENCH_PAUSE_SECONDS pauses before each phase (see PAUSE_MS).
 */
import { parse, stringify } from 'yaml';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeByName, sampleThreads, threadSplit } from './daemon-threads';
import type { ThreadGroup, ThreadSplit } from './daemon-threads';
import { SPANS_PER_REQUEST } from './gen-ai-spans';
import {
  batchTotals,
  BENCH_API_KEY,
  buildTemplate,
  CONCURRENCY,
  countStored,
  daemonArgs,
  DURATION_MS,
  grpcSender,
  jsonSender,
  otlpHttpSender,
  percentile,
  root,
  rssKb,
  waitForHealth,
} from './harness';
import type { BatchTotals, Sender } from './harness';
import { AGENTS_SPANS_PER_REQUEST, agentsExportBody, logBody, nativeTraceBody } from './json-ingest-loads';
import { OPENLLMETRY_SPANS_PER_REQUEST, openLlmetryRequests } from './openllmetry-spans';
import { runSharedStateBench } from './shared-state';
import { runTwoTierBench } from './two-tier';

const OTLP_PORT = Number(process.env.BENCH_OTLP_PORT ?? 14318);
const GRPC_PORT = Number(process.env.BENCH_OTLP_GRPC_PORT ?? 14317);
const ADMIN_PORT = Number(process.env.BENCH_ADMIN_PORT ?? 18888);
const INGEST_PORT = Number(process.env.BENCH_INGEST_PORT ?? 18080);

/**
 * BENCH_PAUSE_SECONDS: an idle pause before every phase (default 0). On a file system where
 * creating a file costs more the more files were freed in the last minute (ext4 without a journal
 * skips recently freed inodes one by one, and every engine part is a dozen files created and later
 * deleted), a phase pays for the parts the phase before it merged away; 60 s makes the phases
 * independent of their order.
 */
const PAUSE_MS = Number(process.env.BENCH_PAUSE_SECONDS ?? 0) * 1000;

/** BENCH_FSYNC=1 turns the clickhouse exporter's fsync_after_insert on, to measure what it costs. */
const FSYNC = process.env.BENCH_FSYNC === '1';

type Transport = 'http' | 'grpc' | 'openllmetry' | 'agents' | 'traces' | 'logs';
const TRANSPORTS: readonly Transport[] = ['http', 'grpc', 'openllmetry', 'agents', 'traces', 'logs'];
const LABELS: Record<Transport, string> = {
  http: 'OTLP/HTTP protobuf',
  grpc: 'OTLP/gRPC',
  openllmetry: 'OTLP/HTTP OpenLLMetry style',
  agents: 'OpenAI Agents export (JSON)',
  traces: 'AITracer /api/traces (JSON)',
  logs: 'log-evaluation /api/logs (JSON)',
};
const SPANS_PER: Record<Transport, number> = {
  http: SPANS_PER_REQUEST,
  grpc: SPANS_PER_REQUEST,
  openllmetry: OPENLLMETRY_SPANS_PER_REQUEST,
  agents: AGENTS_SPANS_PER_REQUEST,
  traces: 1,
  logs: 1,
};

/** All by default, in this order; BENCH_TRANSPORT (comma-separated) picks some. */
function transportsToRun(): Transport[] {
  const value = process.env.BENCH_TRANSPORT;
  if (value === undefined || value === '') return [...TRANSPORTS];
  const picked = value.split(',').map((v) => v.trim());
  for (const v of picked) if (!TRANSPORTS.includes(v as Transport)) throw new Error(`BENCH_TRANSPORT takes ${TRANSPORTS.join(', ')}, not "${v}"`);
  return picked as Transport[];
}

/** The sender and the body of request n for a transport. */
function load(transport: Transport): { sender: Sender; bodyFor: (n: number) => Buffer } {
  switch (transport) {
    case 'http':
    case 'grpc': {
      const template = buildTemplate();
      return { sender: transport === 'http' ? otlpHttpSender(OTLP_PORT) : grpcSender(GRPC_PORT), bodyFor: (n) => template.render(n) };
    }
    case 'openllmetry':
      return { sender: otlpHttpSender(OTLP_PORT), bodyFor: openLlmetryRequests() };
    case 'agents':
      return { sender: jsonSender(INGEST_PORT, '/v1/traces/ingest'), bodyFor: agentsExportBody };
    case 'traces':
      return { sender: jsonSender(INGEST_PORT, '/api/traces'), bodyFor: nativeTraceBody };
    case 'logs':
      return { sender: jsonSender(INGEST_PORT, '/api/logs'), bodyFor: logBody };
  }
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
  /**
   * Daemon CPU by thread group, whole process in totalS: during the load and after it until the
   * engine's merges of the phase's parts went quiet (tailS), so a phase neither leaves its merges
   * to the next one nor is billed for the previous one's.
   */
  cpu: ThreadSplit;
  /** Cores busy during the load alone. */
  cores: number;
  tailS: number;
  clientCpuS: number;
  peakRssMb: number;
  /** The exporters' writes during the phase. */
  batches: BatchTotals;
}

/**
 * Waits until the daemon's merge threads used under 5 % of a core over half a second (at most
 * 30 s); the seconds waited.
 */
async function mergesQuiet(pid: number): Promise<number> {
  const started = performance.now();
  let last = sampleThreads(pid);
  while (performance.now() - started < 30_000) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const now = sampleThreads(pid);
    if (threadSplit(pid, last, now).groups.merges < 0.025) break;
    last = now;
  }
  return (performance.now() - started) / 1000;
}

async function runPhase(transport: Transport, scenario: string, daemonPid: number, nextRequestNo: () => number): Promise<PhaseResult> {
  const { sender, bodyFor } = load(transport);
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
    const batchesBefore = await batchTotals(ADMIN_PORT);
    const latencies: number[] = [];
    let failures = 0;
    await mergesQuiet(daemonPid);
    const threadsAtStart = sampleThreads(daemonPid);
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
    const cores = threadSplit(daemonPid, threadsAtStart, sampleThreads(daemonPid)).totalS / elapsedS;
    const clientCpu = process.cpuUsage(clientCpuAtStart);
    const tailS = await mergesQuiet(daemonPid);
    const cpu = threadSplit(daemonPid, threadsAtStart, sampleThreads(daemonPid));
    const batchesAfter = await batchTotals(ADMIN_PORT);
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
      cpu,
      cores,
      tailS,
      clientCpuS: (clientCpu.user + clientCpu.system) / 1e6,
      peakRssMb: Math.round(peakRssKb / 1024),
      batches: {
        inserts: batchesAfter.inserts - batchesBefore.inserts,
        spans: batchesAfter.spans - batchesBefore.spans,
        timed: batchesAfter.timed - batchesBefore.timed,
        seconds: batchesAfter.seconds - batchesBefore.seconds,
      },
    };
  } finally {
    clearInterval(sampler);
    sender.close();
  }
}

/** Microseconds of daemon CPU per stored span, of one thread group or of the whole process. */
function usPerSpan(r: PhaseResult, group?: ThreadGroup): number {
  return ((group ? r.cpu.groups[group] : r.cpu.totalS) / Math.max(r.stored, 1)) * 1e6;
}

function batchFigures(r: PhaseResult): { spans: string; ms: string } {
  const { inserts, spans, timed, seconds } = r.batches;
  return { spans: inserts ? (spans / inserts).toFixed(0) : '-', ms: timed ? ((seconds / timed) * 1000).toFixed(1) : '-' };
}

function report(r: PhaseResult): string {
  const us = (group?: ThreadGroup) => usPerSpan(r, group).toFixed(1);
  const batch = batchFigures(r);
  return [
    `${LABELS[r.transport]} (${r.scenario}), ${SPANS_PER[r.transport]} spans/request, concurrency ${CONCURRENCY}, ${r.elapsedS.toFixed(1)} s`,
    `requests: ${r.requests} (${r.failures} not acknowledged)`,
    `spans stored: ${r.stored} -> ${Math.round(r.stored / r.elapsedS)} spans/s (acknowledged after the ClickHouse insert)`,
    `request latency: p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms`,
    `daemon CPU: ${us()} µs per stored span, counted until merges went quiet ${r.tailS.toFixed(1)} s after the load (${r.cores.toFixed(2)} cores busy of ${os.cpus().length} during the load)`,
    `  by threads, µs/span: JS main ${us('js')}, node workers ${us('node')}, engine insert ${us('insert')}, merges ${us('merges')}, other ${us('other')}`,
    `  by thread name: ${describeByName(r.cpu)}${r.cpu.exited ? ` (${r.cpu.exited} threads exited during the phase)` : ''}`,
    `inserts: ${r.batches.inserts}, ${batch.spans} spans and ${batch.ms} ms per insert on average`,
    `load generator CPU (same machine): ${(r.clientCpuS / r.elapsedS).toFixed(2)} cores`,
    `daemon peak RSS during the run: ${r.peakRssMb} MiB`,
    '',
    '',
  ].join('\n');
}

/** One row per run. */
function table(results: PhaseResult[]): string {
  const head = ['transport', 'config', 'spans/s', 'µs/span', 'JS', 'workers', 'insert', 'merges', 'cores', 'p50 ms', 'p99 ms', 'RSS MiB', 'spans/ins', 'ms/ins', 'nack'];
  const rows = results.map((r) => {
    const batch = batchFigures(r);
    return [
      LABELS[r.transport],
      r.scenario,
      String(Math.round(r.stored / r.elapsedS)),
      ...([undefined, 'js', 'node', 'insert', 'merges'] as const).map((g) => usPerSpan(r, g).toFixed(1)),
      r.cores.toFixed(2),
      r.p50.toFixed(0),
      r.p99.toFixed(0),
      String(r.peakRssMb),
      batch.spans,
      batch.ms,
      String(r.failures),
    ];
  });
  const all = [head, ...rows];
  const widths = head.map((_, i) => Math.max(...all.map((row) => row[i].length)));
  const line = (row: string[]) => row.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  const note = 'µs/span: daemon CPU per stored span, whole process, then by thread group (JS main thread, node workers, engine insert, merges; see bench/daemon-threads.ts)';
  return [line(head), ...rows.map(line), note].join('\n') + '\n';
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
    // BENCH_DAEMON_DIST: run another build of the daemon (a before/after comparison on one machine).
  const daemonDist = process.env.BENCH_DAEMON_DIST ?? path.join(root, 'dist');
  const daemon = spawn(process.execPath, daemonArgs(['run', '-c', scenario.configFile], daemonDist), {
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
    if (daemon.pid === undefined) throw new Error('daemon did not start');
    // The logs API's first read creates the log index and the views that fill it from every later
    // log insert (they stay once created): the logs route is measured with them, as it runs.
    if (scenario.transports.includes('logs')) {
      const read = await fetch(`http://127.0.0.1:${INGEST_PORT}/api/logs?limit=1`, { headers: { authorization: `Bearer ${BENCH_API_KEY}` } });
      if (!read.ok) throw new Error(`GET /api/logs answered ${read.status}: ${await read.text()}`);
    }
    let requestNo = 0;
    const results: PhaseResult[] = [];
    for (const transport of scenario.transports) {
      if (PAUSE_MS > 0) await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
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
    const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const cpus = os.cpus();
    process.stdout.write(
      `npm run bench, ${date}: concurrency ${CONCURRENCY}, ${DURATION_MS / 1000} s per transport, ${cpus.length} × ${cpus[0]?.model ?? 'CPU'}, Node ${process.version}\n\n`,
    );
    const results: PhaseResult[] = [];
    for (const scenario of scenarios(workDir)) results.push(...(await runScenario(scenario, workDir)));
    process.stdout.write(`\n${table(results)}`);
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
