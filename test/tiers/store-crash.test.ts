/**
 * The store tier killed with SIGKILL in the middle of consuming: after a restart every span the
 * ingest side had acknowledged (here: every message in the topic) is in ClickHouse, and none
 * appears twice in query results. The store tier runs as a child process, as in production.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { encodeTraceRequestProto } from '../../core/otlp/encode';
import { makeSpan } from '../../core/span';
import { ClickhouseHttpServer } from '../support/clickhouse-http-server';
import { kafkaBrokers, uniqueTopic } from '../support/kafka/brokers';
import { waitFor } from '../support/wait';

const root = path.join(__dirname, '..', '..');
const MESSAGES = 120;
const SPANS_PER_MESSAGE = 50;

function message(n: number): { key: string; value: Buffer } {
  const traceId = n.toString(16).padStart(32, '0');
  const spans = Array.from({ length: SPANS_PER_MESSAGE }, (_, i) =>
    makeSpan({
      traceId,
      spanId: (n * 1000 + i + 1).toString(16).padStart(16, '0'),
      name: `span ${n}.${i}`,
      startTimeUnixNano: 1_763_900_000_000_000_000n + BigInt(n) * 1_000_000n,
      endTimeUnixNano: 1_763_900_000_500_000_000n + BigInt(n) * 1_000_000n,
      attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o-mini' },
    }),
  );
  return { key: traceId, value: Buffer.from(encodeTraceRequestProto(spans)) };
}

function startStoreTier(config: string): ChildProcess {
  return spawn(process.execPath, [path.join(root, 'dist', 'bin', 'tracehouse.js'), 'run', '-c', config, '--pipelines', 'traces/store'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, TRACEHOUSE_LOG_LEVEL: 'warn' },
  });
}

describe('store tier crash', () => {
  let clickhouse: ClickhouseHttpServer;
  let kafka: Awaited<ReturnType<typeof kafkaBrokers>>;

  beforeAll(async () => {
    execFileSync(process.execPath, [path.join(root, 'scripts', 'build-if-needed.js')], { cwd: root, stdio: 'inherit' });
    clickhouse = await ClickhouseHttpServer.start({ path: mkdtempSync(path.join(os.tmpdir(), 'tracehouse-crash-')) });
    kafka = await kafkaBrokers();
  }, 180_000);
  afterAll(async () => {
    await kafka?.stop();
    await clickhouse?.close();
  });

  it('keeps every acknowledged span exactly once in query results after SIGKILL and a restart', async () => {
    const topic = uniqueTopic('crash');
    const producer = new Kafka({ brokers: kafka.brokers, logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    // Acknowledged by the broker (acks all) before the store tier starts: what the ingest tier
    // would have answered 200 for.
    for (let n = 0; n < MESSAGES; n += 20) {
      await producer.send({ topic, acks: -1, messages: Array.from({ length: 20 }, (_, i) => message(n + i + 1)) });
    }
    await producer.disconnect();

    const dir = mkdtempSync(path.join(os.tmpdir(), 'tracehouse-crash-cfg-'));
    const config = path.join(dir, 'store.yaml');
    writeFileSync(
      config,
      `receivers:
  kafka:
    brokers: [${kafka.brokers.join(', ')}]
    topics: [${topic}]
    group_id: ${topic}-store
exporters:
  clickhouse:
    endpoint: ${clickhouse.url}
    database: crash
    max_spans: 500
    timeout_ms: 5
service:
  admin: { listen: 127.0.0.1:0 }
  pipelines:
    traces/store: { receivers: [kafka], exporters: [clickhouse] }
`,
    );
    const stored = async () => {
      try {
        return Number((await clickhouse.sql('SELECT count() FROM crash.otel_traces', 'TabSeparated')).trim());
      } catch {
        return 0; // the table does not exist yet
      }
    };

    const first = startStoreTier(config);
    const firstExit = new Promise((resolve) => first.once('exit', resolve));
    // Killed once part of the topic is stored: mid-consume, with later batches in flight.
    await waitFor('the first rows', async () => (await stored()) > 0, 120_000);
    first.kill('SIGKILL');
    await firstExit;
    const atCrash = await stored();
    expect(atCrash).toBeLessThan(MESSAGES * SPANS_PER_MESSAGE);

    const second = startStoreTier(config);
    try {
      await waitFor(
        'every span after the restart',
        async () => Number((await clickhouse.sql('SELECT uniqExact(SpanId) FROM crash.otel_traces', 'TabSeparated')).trim()) === MESSAGES * SPANS_PER_MESSAGE,
        120_000,
      );
      // Replays after the crash may store a span twice; query results (FINAL) show it once.
      const counted = await clickhouse.sql('SELECT count() AS rows, uniqExact(SpanId) AS spans FROM crash.otel_traces FINAL', 'JSONEachRow');
      expect(JSON.parse(counted)).toEqual({ rows: MESSAGES * SPANS_PER_MESSAGE, spans: MESSAGES * SPANS_PER_MESSAGE });
    } finally {
      second.kill('SIGTERM');
      await new Promise((resolve) => second.once('exit', resolve));
    }
  }, 240_000);
});
