/**
 * `npm run bench`: starts the daemon on the default embedded config in its own process, drives it
 * with concurrent OTLP/HTTP protobuf requests of 100 gen_ai spans, and prints spans stored per
 * second (rows counted in ClickHouse at the end / elapsed), p50/p99 request latency and peak RSS.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { encodeTraceRequestProto } from '../core/otlp/encode';
import { buildGenAiSpans, SPANS_PER_REQUEST } from './gen-ai-spans';

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const DURATION_MS = Number(process.env.BENCH_SECONDS ?? 20) * 1000;
const OTLP_PORT = Number(process.env.BENCH_OTLP_PORT ?? 14318);
const ADMIN_PORT = Number(process.env.BENCH_ADMIN_PORT ?? 18888);
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

function post(agent: http.Agent, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: OTLP_PORT, path: '/v1/traces', method: 'POST', agent, headers: { 'content-type': 'application/x-protobuf', 'content-length': body.length } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
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

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'tracehouse-bench-'));
  const nodeArgs = (process.env.BENCH_DAEMON_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const daemon = spawn(process.execPath, [...nodeArgs, path.join(root, 'dist', 'bin', 'tracehouse.js'), 'run', '-c', path.join(root, 'pipelines.yaml')], {
    env: {
      ...process.env,
      TRACEHOUSE_DATA_DIR: dataDir,
      TRACEHOUSE_OTLP_HTTP_LISTEN: `127.0.0.1:${OTLP_PORT}`,
      TRACEHOUSE_ADMIN_LISTEN: `127.0.0.1:${ADMIN_PORT}`,
      TRACEHOUSE_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  let peakRssKb = 0;
  const sampler = setInterval(() => {
    try {
      const status = readFileSync(`/proc/${daemon.pid}/status`, 'utf8');
      peakRssKb = Math.max(peakRssKb, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0));
    } catch {
      // process gone
    }
  }, 200);
  try {
    await waitForHealth();
    const { body: template, idOffsets } = buildTemplate();
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const latencies: number[] = [];
    let requestNo = 0;
    const cpuAtStart = cpuSeconds(daemon.pid);
    const clientCpuAtStart = process.cpuUsage();
    let failures = 0;
    const started = performance.now();
    const worker = async () => {
      while (performance.now() - started < DURATION_MS) {
        const n = ++requestNo;
        const body = Buffer.from(template);
        // Stamp the request number into every id so that no two requests share a span.
        for (const offset of idOffsets) body.writeUInt32BE(n, offset);
        const t0 = performance.now();
        const status = await post(agent, body);
        latencies.push(performance.now() - t0);
        if (status !== 200) failures++;
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const elapsedS = (performance.now() - started) / 1000;
    const daemonCpuS = cpuSeconds(daemon.pid) - cpuAtStart;
    const clientCpu = process.cpuUsage(clientCpuAtStart);
    const clientCpuS = (clientCpu.user + clientCpu.system) / 1e6;
    agent.destroy();
    const res = await fetch(`http://127.0.0.1:${ADMIN_PORT}/?query=${encodeURIComponent('SELECT count() FROM otel_traces')}`);
    const stored = Number((await res.text()).trim());
    latencies.sort((a, b) => a - b);
    const rssMb = Math.round(peakRssKb / 1024);
    process.stdout.write(
      [
        `OTLP/HTTP protobuf, ${SPANS_PER_REQUEST} spans/request, concurrency ${CONCURRENCY}, ${elapsedS.toFixed(1)} s`,
        `requests: ${latencies.length} (${failures} non-200)`,
        `spans stored: ${stored} -> ${Math.round(stored / elapsedS)} spans/s (acknowledged after the ClickHouse insert)`,
        `request latency: p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms`,
        `daemon CPU: ${((daemonCpuS / Math.max(stored, 1)) * 1e6).toFixed(1)} µs per stored span (${(daemonCpuS / elapsedS).toFixed(2)} cores busy of ${os.cpus().length})`,
        `load generator CPU (same machine): ${(clientCpuS / elapsedS).toFixed(2)} cores`,
        `daemon peak RSS: ${rssMb} MiB`,
        '',
      ].join('\n'),
    );
  } finally {
    clearInterval(sampler);
    daemon.kill('SIGTERM');
    await new Promise((r) => daemon.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
