/**
 * `npm run bench:shared`: what Redis-backed shared state costs per request. The same daemon
 * (native receiver with a rate limit and body-id idempotency -> debug exporter, so storage does
 * not drown the difference) runs twice: without `shared_state`, then with a local redis-server
 * (Debian's, started on a free port). BENCH_CONCURRENCY (64) clients post single-call traces with
 * a new requestId each to /api/traces for BENCH_SECONDS (10) per run; printed per run: requests/s,
 * latency p50/p99 and daemon CPU per request, then what sharing added. Then control-plane
 * propagation: two daemons (processes) share one ClickHouse store and Redis, polling every ten
 * minutes; a rule is changed BENCH_CP_CHANGES (50) times on the first, and after each answer the
 * second is read until it shows the new version; printed: p50/p99 ms from the write's answer on
 * one instance to the change being visible on the other.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ClickhouseHttpServer } from '../test/support/clickhouse-http-server';
import { RedisServer } from '../test/support/redis-server';
import { BENCH_API_KEY, CONCURRENCY, cpuSeconds, daemonArgs, jsonSender, percentile, waitForHealth } from './harness';
import { nativeTraceBody } from './json-ingest-loads';

const INGEST_PORT = Number(process.env.BENCH_INGEST_PORT ?? 18080);
const ADMIN_PORT = Number(process.env.BENCH_ADMIN_PORT ?? 18888);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CP_CHANGES = Number(process.env.BENCH_CP_CHANGES ?? 50);

function config(redisUrl: string | undefined): string {
  return `receivers:
  native:
    listen: 127.0.0.1:${INGEST_PORT}
    rate_limit: { limit: 100000000, window_seconds: 60 }
exporters:
  debug:
workspaces:
  bench:
    api_keys: ["${BENCH_API_KEY}"]
${redisUrl ? `shared_state:\n  redis: { url: "${redisUrl}", key_prefix: "bench:" }\n` : ''}service:
  admin:
    listen: 127.0.0.1:${ADMIN_PORT}
  log_level: warn
  pipelines:
    traces: { receivers: [native], exporters: [debug] }
`;
}

interface RunResult {
  label: string;
  requests: number;
  failed: number;
  rps: number;
  p50: number;
  p99: number;
  cpuUsPerRequest: number;
}

async function run(label: string, redisUrl: string | undefined, offset: number): Promise<RunResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tracehouse-bench-shared-'));
  const file = path.join(dir, 'pipelines.yaml');
  writeFileSync(file, config(redisUrl));
  const daemon = spawn(process.execPath, daemonArgs(['run', '-c', file]), { stdio: ['ignore', 'inherit', 'inherit'] });
  try {
    await waitForHealth(ADMIN_PORT);
    const sender = jsonSender(INGEST_PORT, '/api/traces');
    // Warm-up, so both runs measure a warm daemon.
    for (let i = 0; i < 500; i++) await sender.send(nativeTraceBody(offset + 10_000_000 + i));
    const latencies: number[] = [];
    let failed = 0;
    let n = offset;
    const cpu0 = cpuSeconds(daemon.pid);
    const start = performance.now();
    const end = start + SECONDS * 1000;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (performance.now() < end) {
          const body = nativeTraceBody(n++);
          const t = performance.now();
          const ok = await sender.send(body).catch(() => false);
          latencies.push(performance.now() - t);
          if (!ok) failed += 1;
        }
      }),
    );
    const elapsed = (performance.now() - start) / 1000;
    const cpu = cpuSeconds(daemon.pid) - cpu0;
    sender.close();
    latencies.sort((a, b) => a - b);
    return { label, requests: latencies.length, failed, rps: latencies.length / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99), cpuUsPerRequest: (cpu / latencies.length) * 1e6 };
  } finally {
    daemon.kill('SIGTERM');
    await new Promise((resolve) => daemon.once('exit', resolve));
    rmSync(dir, { recursive: true, force: true });
  }
}

function line(r: RunResult): string {
  return `${r.label}: ${r.requests} requests (${r.failed} failed), ${r.rps.toFixed(0)} req/s, latency p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, daemon CPU ${r.cpuUsPerRequest.toFixed(0)} µs per request\n`;
}

function controlPlaneConfig(clickhouseUrl: string, redisUrl: string, port: number, adminPort: number): string {
  return `receivers:
  native:
    listen: 127.0.0.1:${port}
exporters:
  clickhouse:
    endpoint: ${clickhouseUrl}
    database: bench_cp
extensions:
  control_plane:
    listen: 127.0.0.1:${port}
    # The reader is polled as fast as it answers: the measurement, not a client to limit.
    rate_limit: none
workspaces:
  bench:
    api_keys: ["${BENCH_API_KEY}"]
shared_state:
  redis: { url: "${redisUrl}", key_prefix: "bench-cp:" }
service:
  extensions: [control_plane]
  control_plane: { refresh_interval_ms: 600000 }
  admin:
    listen: 127.0.0.1:${adminPort}
  log_level: warn
  pipelines:
    traces: { receivers: [native], exporters: [clickhouse] }
`;
}

/** Milliseconds from a rule change answered by one daemon to the change visible on the other, per change. */
async function controlPlanePropagation(redisUrl: string): Promise<number[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tracehouse-bench-cp-'));
  const clickhouse = await ClickhouseHttpServer.start({ path: path.join(dir, 'clickhouse') });
  const ports = [INGEST_PORT + 1, INGEST_PORT + 2];
  const admins = [ADMIN_PORT + 1, ADMIN_PORT + 2];
  const daemons = ports.map((port, i) => {
    const file = path.join(dir, `pipelines-${i}.yaml`);
    writeFileSync(file, controlPlaneConfig(clickhouse.url, redisUrl, port, admins[i]));
    return spawn(process.execPath, daemonArgs(['run', '-c', file]), { stdio: ['ignore', 'inherit', 'inherit'] });
  });
  const headers = { authorization: `Bearer ${BENCH_API_KEY}`, 'content-type': 'application/json' };
  const [writer, reader] = ports.map((port) => `http://127.0.0.1:${port}/api/rules`);
  try {
    for (const port of admins) await waitForHealth(port);
    const created = await fetch(writer, { method: 'POST', headers, body: JSON.stringify({ name: 'Propagation', type: 'keyword_forbidden', value: 'v0' }) });
    if (created.status !== 201) throw new Error(`creating the rule answered ${created.status}: ${await created.text()}`);
    const { id } = (await created.json()) as { id: string };
    const versionOn = async (url: string) => ((await (await fetch(`${url}/${id}`, { headers })).json()) as { version?: number }).version ?? 0;
    // The first change may meet the reader before its subscription: wait for the rule itself once.
    while ((await versionOn(reader)) < 1) await new Promise((resolve) => setTimeout(resolve, 20));
    const delays: number[] = [];
    for (let version = 1; version <= CP_CHANGES; version++) {
      const res = await fetch(`${writer}/${id}`, { method: 'PATCH', headers: { ...headers, 'if-match': `"${version}"` }, body: JSON.stringify({ value: `v${version}` }) });
      if (res.status !== 200) throw new Error(`changing the rule answered ${res.status}: ${await res.text()}`);
      const answered = performance.now();
      while ((await versionOn(reader)) <= version) await new Promise((resolve) => setImmediate(resolve));
      delays.push(performance.now() - answered);
    }
    return delays.sort((a, b) => a - b);
  } finally {
    for (const daemon of daemons) daemon.kill('SIGTERM');
    await Promise.all(daemons.map((daemon) => (daemon.exitCode === null ? new Promise((resolve) => daemon.once('exit', resolve)) : undefined)));
    await clickhouse.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Both runs, as the lines to print (also the last part of `npm run bench`). */
export async function runSharedStateBench(): Promise<string> {
  const redis = await RedisServer.start();
  try {
    let out = `shared state ${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores, node ${process.version}, ${CONCURRENCY} clients, ${SECONDS} s per run, /api/traces -> debug exporter\n`;
    const local = await run('in-process state (no shared_state)', undefined, 0);
    out += line(local);
    const shared = await run('shared_state in Redis (rate limit + idempotency per request)', redis.url, 50_000_000);
    out += line(shared);
    out += `added by sharing: latency p50 ${(shared.p50 - local.p50).toFixed(2)} ms, p99 ${(shared.p99 - local.p99).toFixed(2)} ms, daemon CPU ${(shared.cpuUsPerRequest - local.cpuUsPerRequest).toFixed(0)} µs per request\n`;
    const delays = await controlPlanePropagation(redis.url);
    out += `control-plane change, answered on one instance -> visible on the other (2 processes, polling 10 min): ${delays.length} changes, p50 ${percentile(delays, 50).toFixed(1)} ms, p99 ${percentile(delays, 99).toFixed(1)} ms\n`;
    return out;
  } finally {
    await redis.stop();
  }
}

if (require.main === module) {
  runSharedStateBench().then(
    (out) => process.stdout.write(out),
    (err: unknown) => {
      process.stderr.write(`bench:shared failed: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}
