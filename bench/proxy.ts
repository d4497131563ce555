/**
 * `npm run bench:proxy`: what the `proxy` receiver adds to an LLM call. A fake OpenAI provider runs
 * in this process; the daemon (proxy receiver -> redact, enrich -> embedded ClickHouse) in its own.
 *
 * 1. Added latency: after warm-up rounds, direct and proxied calls alternate one by one (so both
 *    see the same machine state) and the per-pair difference is reported, p50/p99, for a JSON chat
 *    call (whole answer) and an SSE chat call (time to the first content delta).
 * 2. Open loop: constant arrival rates (default 500 and 1,000 requests/s, BENCH_PROXY_RATES)
 *    against a provider that answers in 60 ms, reporting latency p50/p99, errors, the gateway's own
 *    overhead per answer (x-tracehouse-overhead-ms) and the daemon's CPU and RSS.
 *
 * 3. The same pairs through bench/minimal-proxy.ts (no logic, its own process): what any Node.js
 *    hop adds on this machine, for comparison (BENCH_PROXY_FLOOR=0 skips it).
 *
 * BENCH_PROXY_PAIRS (default 2000) and BENCH_SECONDS (default 10 per rate) size the runs;
 * BENCH_DAEMON_NODE_ARGS (e.g. --cpu-prof) goes to the daemon's node; BENCH_DAEMON_DIST runs another
 * build of the daemon (a before/after comparison on one machine).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Agent, request } from 'undici';
import { FakeLlmProvider } from '../test/support/fake-llm-provider';
import { cpuSeconds, daemonArgs, percentile, root, rssKb, waitForHealth } from './harness';

const PROXY_PORT = Number(process.env.BENCH_INGEST_PORT ?? 18080);
const ADMIN_PORT = Number(process.env.BENCH_ADMIN_PORT ?? 18888);
const PAIRS = Number(process.env.BENCH_PROXY_PAIRS ?? 2000);
const WARMUP = Math.min(500, Math.ceil(PAIRS / 4));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const RATES = (process.env.BENCH_PROXY_RATES ?? '500,1000').split(',').map(Number).filter((r) => r > 0);
const KEY = 'th_bench_proxy_0123456789abcdef';
/** BENCH_PROXY_PIPELINE=bare: spans go to the debug exporter with no processors (the gateway's own cost). */
const BARE = process.env.BENCH_PROXY_PIPELINE === 'bare';

const chatBody = (stream: boolean) =>
  JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello in five words.' }], stream });

function config(providerUrl: string): string {
  return `receivers:
  proxy:
    listen: 127.0.0.1:${PROXY_PORT}
    rate_limit: none
    upstreams:
      fake: { provider: openai, base_url: "${providerUrl}", api_key: sk-bench }
processors:
  redact:
  enrich:
exporters:
  ${BARE ? 'debug:' : 'clickhouse: { path: "${env:TRACEHOUSE_DATA_DIR}" }'}
workspaces:
  bench:
    api_keys: ["${KEY}"]
service:
  admin:
    listen: 127.0.0.1:${ADMIN_PORT}
  log_level: warn
  pipelines:
    traces: ${BARE ? '{ receivers: [proxy], exporters: [debug] }' : '{ receivers: [proxy], processors: [redact, enrich], exporters: [clickhouse] }'}
`;
}

interface Timing {
  /** Whole answer (JSON) or first content delta (SSE), in ms. */
  ms: number;
  status: number;
  overheadMs?: number;
}

/** One chat call; for SSE the clock stops at the first chunk carrying content. */
async function call(dispatcher: Agent, origin: string, stream: boolean, headers: Record<string, string>): Promise<Timing> {
  const start = performance.now();
  const res = await request(`${origin}/v1/chat/completions`, {
    method: 'POST',
    dispatcher,
    headers: { 'content-type': 'application/json', ...headers },
    body: chatBody(stream),
  });
  let ms = -1;
  if (stream) {
    for await (const chunk of res.body) {
      if (ms < 0 && (chunk as Buffer).includes('"content":"')) ms = performance.now() - start;
    }
  } else {
    await res.body.arrayBuffer();
    ms = performance.now() - start;
  }
  const overhead = res.headers['x-tracehouse-overhead-ms'];
  return { ms, status: res.statusCode, overheadMs: typeof overhead === 'string' ? Number(overhead) : undefined };
}

function summary(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  return `p50 ${percentile(sorted, 50).toFixed(3)} ms, p99 ${percentile(sorted, 99).toFixed(3)} ms`;
}

interface Hop {
  origin: string;
  headers: Record<string, string>;
}

/** Direct and proxied calls one after the other, alternating which goes first; the per-pair difference. */
async function addedLatency(provider: FakeLlmProvider, stream: boolean, hop: Hop, label: string): Promise<string> {
  const direct = new Agent({ connections: 4, keepAliveTimeout: 30_000 });
  const proxied = new Agent({ connections: 4, keepAliveTimeout: 30_000 });
  const directHeaders = { authorization: 'Bearer sk-bench' };
  const added: number[] = [];
  const directMs: number[] = [];
  const overheads: number[] = [];
  let failures = 0;
  for (let i = 0; i < WARMUP + PAIRS; i++) {
    // Alternate which goes first, so neither always runs on a warmer machine.
    const first = i % 2 === 0;
    const a = first ? await call(direct, provider.url, stream, directHeaders) : await call(proxied, hop.origin, stream, hop.headers);
    const b = first ? await call(proxied, hop.origin, stream, hop.headers) : await call(direct, provider.url, stream, directHeaders);
    const [d, p] = first ? [a, b] : [b, a];
    if (d.status !== 200 || p.status !== 200 || d.ms < 0 || p.ms < 0) {
      failures += 1;
      continue;
    }
    if (i < WARMUP) continue;
    added.push(p.ms - d.ms);
    directMs.push(d.ms);
    if (p.overheadMs !== undefined) overheads.push(p.overheadMs);
  }
  await direct.close();
  await proxied.close();
  const what = stream ? 'SSE, time to first content delta' : 'JSON, whole answer';
  const overhead = overheads.length > 0 ? `; gateway overhead per answer ${summary(overheads)}` : '';
  return `${label}${what}: added ${summary(added)} (direct ${summary(directMs)}; ${added.length} pairs, ${failures} failed)${overhead}\n`;
}

/** The same pairs through a proxy with no logic, in its own process: the floor of a Node.js hop here. */
async function floor(provider: FakeLlmProvider): Promise<string> {
  const port = PROXY_PORT + 1;
  const child = spawn(process.execPath, [path.join(root, 'dist', 'bench', 'minimal-proxy.js'), provider.url, String(port)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    await new Promise((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', (code) => reject(new Error(`minimal proxy exited with ${code}`)));
    });
    const hop = { origin: `http://127.0.0.1:${port}`, headers: {} };
    return (await addedLatency(provider, false, hop, 'minimal Node.js proxy (floor), ')) + (await addedLatency(provider, true, hop, 'minimal Node.js proxy (floor), '));
  } finally {
    child.kill();
  }
}

async function openLoop(rate: number, daemonPid: number | undefined): Promise<string> {
  const dispatcher = new Agent({ connections: 256, keepAliveTimeout: 30_000, pipelining: 1 });
  const origin = `http://127.0.0.1:${PROXY_PORT}`;
  const latencies: number[] = [];
  const overheads: number[] = [];
  let errors = 0;
  const total = rate * SECONDS;
  const cpu0 = cpuSeconds(daemonPid);
  const own0 = process.cpuUsage();
  let peakRss = 0;
  const start = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    // Open loop: each call starts at its scheduled time whether or not earlier ones finished.
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    pending.push(
      call(dispatcher, origin, false, { authorization: `Bearer ${KEY}` }).then(
        (t) => {
          if (t.status !== 200) errors += 1;
          else latencies.push(t.ms);
          if (t.overheadMs !== undefined) overheads.push(t.overheadMs);
        },
        () => void (errors += 1),
      ),
    );
    if (i % rate === 0) peakRss = Math.max(peakRss, rssKb(daemonPid));
  }
  await Promise.all(pending);
  const elapsed = (performance.now() - start) / 1000;
  const cpu = cpuSeconds(daemonPid) - cpu0;
  const own = process.cpuUsage(own0);
  const ownShare = ((own.user + own.system) / 1e6 / elapsed) * 100;
  await dispatcher.close();
  const overhead = overheads.length > 0 ? `, gateway overhead per answer ${summary(overheads)}` : '';
  return (
    `open loop ${rate} req/s for ${SECONDS} s: ${latencies.length} ok, ${errors} errors, latency ${summary(latencies)}` +
    `${overhead}; daemon CPU ${((cpu / Math.max(1, latencies.length)) * 1e6).toFixed(0)} µs per call, ${(cpu / elapsed * 100).toFixed(0)} % of a core, RSS ${(peakRss / 1024).toFixed(0)} MiB; load generator and fake provider ${ownShare.toFixed(0)} % of a core\n`
  );
}

async function main(): Promise<void> {
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'tracehouse-bench-proxy-'));
  const provider = await FakeLlmProvider.start({ chunks: ['Hello', ' there', ',', ' friend', '!'] });
  const configFile = path.join(workDir, 'proxy.yaml');
  writeFileSync(configFile, config(provider.url));
  const daemon = spawn(process.execPath, daemonArgs(['run', '-c', configFile], process.env.BENCH_DAEMON_DIST), {
    env: { ...process.env, TRACEHOUSE_DATA_DIR: path.join(workDir, 'data') },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  try {
    await waitForHealth(ADMIN_PORT);
    process.stdout.write(`bench:proxy ${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores, node ${process.version}\n`);
    const gateway = { origin: `http://127.0.0.1:${PROXY_PORT}`, headers: { authorization: `Bearer ${KEY}` } };
    process.stdout.write(await addedLatency(provider, false, gateway, ''));
    process.stdout.write(await addedLatency(provider, true, gateway, ''));
    if (process.env.BENCH_PROXY_FLOOR !== '0') process.stdout.write(await floor(provider));
    provider.setDefault({ chunks: ['Hello', ' there', ',', ' friend', '!'], latencyMs: 60 });
    for (const rate of RATES) process.stdout.write(await openLoop(rate, daemon.pid));
  } finally {
    daemon.kill('SIGTERM');
    await new Promise((resolve) => daemon.once('exit', resolve));
    await provider.close();
    rmSync(workDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:proxy failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
