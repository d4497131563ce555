/**
 * `npm run bench:tiers` (and the last part of `npm run bench`): the ingest tier (OTLP/HTTP ->
 * redact -> kafka) and the store tier (kafka -> enrich, evaluate_rules -> embedded ClickHouse) as two
 * daemon processes joined by the Kafka test broker running in this process. Prints the rate at
 * which the ingest tier acknowledged spans (durable in Kafka), the end-to-end rate (every
 * acknowledged span stored), request latency, CPU per span of each tier, and RSS.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startKafkaTestBroker } from '../test/support/kafka-broker';
import { SPANS_PER_REQUEST } from './gen-ai-spans';
import { buildTemplate, CONCURRENCY, countStored, cpuSeconds, daemonArgs, DURATION_MS, otlpHttpSender, percentile, rssKb, waitForHealth } from './harness';

const OTLP_PORT = Number(process.env.BENCH_OTLP_PORT ?? 14318);
const INGEST_ADMIN_PORT = Number(process.env.BENCH_ADMIN_PORT ?? 18888);
const STORE_ADMIN_PORT = INGEST_ADMIN_PORT + 1;
const PARTITIONS = 6;

function tierConfig(brokers: string[], dataDir: string): string {
  return `receivers:
  otlp:
    http: { listen: "127.0.0.1:${OTLP_PORT}" }
    grpc: { enabled: false }
  kafka:
    brokers: [${brokers.map((b) => `"${b}"`).join(', ')}]
    topics: [bench_spans]
    group_id: bench-store
processors:
  redact:
  enrich:
  evaluate_rules:
    rules: []
exporters:
  kafka:
    brokers: [${brokers.map((b) => `"${b}"`).join(', ')}]
    topic: bench_spans
  clickhouse:
    path: "${dataDir}"
service:
  admin: { listen: "\${env:TRACEHOUSE_ADMIN_LISTEN}" }
  pipelines:
    traces/ingest: { receivers: [otlp], processors: [redact], exporters: [kafka] }
    traces/store: { receivers: [kafka], processors: [enrich, evaluate_rules], exporters: [clickhouse] }
`;
}

function startTier(config: string, pipeline: string, adminPort: number): ChildProcess {
  return spawn(process.execPath, daemonArgs(['run', '-c', config, '--pipelines', pipeline]), {
    env: { ...process.env, TRACEHOUSE_ADMIN_LISTEN: `127.0.0.1:${adminPort}`, TRACEHOUSE_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
}

export async function runTwoTierBench(): Promise<string> {
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'tracehouse-bench-tiers-'));
  const broker = await startKafkaTestBroker({ defaultPartitions: PARTITIONS });
  const config = path.join(workDir, 'tiers.yaml');
  writeFileSync(config, tierConfig(broker.brokers, path.join(workDir, 'clickhouse')));
  const store = startTier(config, 'traces/store', STORE_ADMIN_PORT);
  const ingest = startTier(config, 'traces/ingest', INGEST_ADMIN_PORT);
  try {
    await Promise.all([waitForHealth(INGEST_ADMIN_PORT), waitForHealth(STORE_ADMIN_PORT)]);
    const { body: template, idOffsets } = buildTemplate();
    const sender = otlpHttpSender(OTLP_PORT);
    const latencies: number[] = [];
    let acknowledged = 0;
    let failures = 0;
    let requestNo = 0;
    const cpuAtStart = { ingest: cpuSeconds(ingest.pid), store: cpuSeconds(store.pid), self: process.cpuUsage() };
    const peak = { ingest: 0, store: 0 };
    const sampler = setInterval(() => {
      peak.ingest = Math.max(peak.ingest, rssKb(ingest.pid));
      peak.store = Math.max(peak.store, rssKb(store.pid));
    }, 200);
    const started = performance.now();
    const worker = async () => {
      while (performance.now() - started < DURATION_MS) {
        const body = Buffer.from(template);
        const n = ++requestNo;
        for (const offset of idOffsets) body.writeUInt32BE(n, offset);
        const t0 = performance.now();
        const ok = await sender.send(body);
        latencies.push(performance.now() - t0);
        if (ok) acknowledged += SPANS_PER_REQUEST;
        else failures++;
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const ingestS = (performance.now() - started) / 1000;
    sender.close();
    // The store tier catches up with everything the ingest tier acknowledged.
    let stored = 0;
    for (let waited = 0; waited < 600_000 && stored < acknowledged; waited += 200) {
      stored = await countStored(STORE_ADMIN_PORT);
      if (stored < acknowledged) await new Promise((r) => setTimeout(r, 200));
    }
    const endToEndS = (performance.now() - started) / 1000;
    clearInterval(sampler);
    const cpu = {
      ingest: cpuSeconds(ingest.pid) - cpuAtStart.ingest,
      store: cpuSeconds(store.pid) - cpuAtStart.store,
      self: process.cpuUsage(cpuAtStart.self),
    };
    latencies.sort((a, b) => a - b);
    const perSpan = (seconds: number) => ((seconds / Math.max(acknowledged, 1)) * 1e6).toFixed(1);
    return [
      `Two tiers through the Kafka test broker (${PARTITIONS} partitions): OTLP/HTTP protobuf -> ingest (redact -> kafka) -> store (kafka -> enrich, evaluate_rules -> ClickHouse), ${SPANS_PER_REQUEST} spans/request, concurrency ${CONCURRENCY}`,
      `acknowledged by the ingest tier (durable in Kafka): ${acknowledged} spans in ${ingestS.toFixed(1)} s -> ${Math.round(acknowledged / ingestS)} spans/s (${failures} requests not acknowledged)`,
      `stored by the store tier: ${stored} of ${acknowledged} after ${endToEndS.toFixed(1)} s -> ${Math.round(stored / endToEndS)} spans/s end to end`,
      `ingest request latency: p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms`,
      `CPU per span: ingest ${perSpan(cpu.ingest)} µs, store ${perSpan(cpu.store)} µs, load generator + broker ${perSpan((cpu.self.user + cpu.self.system) / 1e6)} µs`,
      `peak RSS: ingest ${Math.round(peak.ingest / 1024)} MiB, store ${Math.round(peak.store / 1024)} MiB`,
      '',
    ].join('\n');
  } finally {
    await Promise.all([stop(ingest), stop(store)]);
    await broker.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  runTwoTierBench()
    .then((text) => process.stdout.write(text))
    .catch((err: unknown) => {
      process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    });
}
