/**
 * Overload and outage: a slow ClickHouse fills the exporter queue and clients are throttled with
 * 429 + Retry-After while memory stays bounded; an unreachable one yields 503 + Retry-After within
 * the retry bound. Once ClickHouse is back, clients that retry as told lose nothing.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encodeTraceRequestProto } from '../../../core/otlp/encode';
import { makeSpan } from '../../../core/span';
import { ClickhouseHttpServer } from '../../support/clickhouse-http-server';
import { otlpPipelineYaml, startDaemon } from '../../support/daemon';
import type { TestDaemon } from '../../support/daemon';

const yaml = (endpoint: string, database: string, exporterExtra: string) =>
  otlpPipelineYaml({ database, endpoint, clickhouse: ['max_spans: 100', exporterExtra] });

const request = (batch: number, spans = 100) =>
  Buffer.from(
    encodeTraceRequestProto(
      Array.from({ length: spans }, (_, i) =>
        makeSpan({
          traceId: `0f${batch.toString(16).padStart(30, '0')}`,
          spanId: `${batch.toString(16).padStart(8, '0')}${(i + 1).toString(16).padStart(8, '0')}`,
          name: 'chat',
          startTimeUnixNano: 1_763_900_000_000_000_000n,
          endTimeUnixNano: 1_763_900_000_300_000_000n,
          attributes: { 'gen_ai.prompt': 'p'.repeat(500) },
        }),
      ),
    ),
  );

async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 25));
}

async function post(daemon: TestDaemon, body: Buffer): Promise<Response> {
  return fetch(`${daemon.receiverUrl('otlp')}/v1/traces`, { method: 'POST', body, headers: { 'content-type': 'application/x-protobuf' } });
}

/** What an OTLP exporter does: retry on 429/503 after Retry-After (shortened here), until 200. */
async function sendWithRetries(daemon: TestDaemon, body: Buffer): Promise<number> {
  for (let attempt = 1; attempt <= 200; attempt++) {
    const res = await post(daemon, body);
    await res.arrayBuffer();
    if (res.status === 200) return attempt;
    expect([429, 503]).toContain(res.status);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('never accepted');
}

describe('overload and outage', () => {
  let clickhouse: ClickhouseHttpServer;
  beforeAll(async () => {
    clickhouse = await ClickhouseHttpServer.start({ path: mkdtempSync(path.join(os.tmpdir(), 'tracehouse-overload-')) });
  });
  afterAll(() => clickhouse.close());

  it('throttles with 429 + Retry-After while ClickHouse is slow, keeps memory bounded, and loses nothing', async () => {
    const daemon = await startDaemon(yaml(clickhouse.url, 'slow', 'queue_max_spans: 1000'));
    try {
      // Warm up (schema creation) before holding inserts.
      expect((await post(daemon, request(0, 1))).status).toBe(200);
      const baselineRss = process.memoryUsage().rss;
      const release = clickhouse.holdInserts();
      const bodies = Array.from({ length: 40 }, (_, i) => request(i + 1));
      // Fire everything at once; what the queue cannot take is refused immediately.
      const inFlight = bodies.map((b) => post(daemon, b));
      const answered: (Response | undefined)[] = new Array(bodies.length);
      inFlight.forEach((p, i) => void p.then((r) => (answered[i] = r)));
      // Every request is either answered (refused) or queued in the exporter behind the held insert.
      await until(async () => {
        const metrics = await (await fetch(`${daemon.adminUrl}/metrics`)).text();
        const queued = Number(/tracehouse_exporter_queue_spans\{exporter="clickhouse"\} (\d+)/.exec(metrics)?.[1] ?? 0);
        return answered.filter(Boolean).length + queued / 100 === bodies.length;
      });
      const refused = answered.flatMap((r, i) => (r ? [i] : []));
      const accepted = inFlight.filter((_, i) => !answered[i]);
      expect(refused.map((i) => answered[i]?.status)).toEqual(refused.map(() => 429));
      expect(refused.length).toBeGreaterThan(0);
      const throttled = await inFlight[refused[0]];
      expect(throttled.headers.get('retry-after')).toBe('1');
      // Accepted-but-unwritten spans are bounded by the queue (1000 spans of ~600 B) plus request bodies.
      expect(process.memoryUsage().rss - baselineRss).toBeLessThan(256 * 1024 * 1024);
      const metrics = await (await fetch(`${daemon.adminUrl}/metrics`)).text();
      expect(metrics).toMatch(/tracehouse_receiver_refused_spans_total\{receiver="otlp",reason="backpressure"\} [1-9]/);

      release();
      for (const res of await Promise.all(accepted)) expect(res.status).toBe(200);
      for (const i of refused) await sendWithRetries(daemon, bodies[i]);
      const stored = await clickhouse.sql('SELECT count() FROM slow.otel_traces FINAL', 'TabSeparated');
      expect(Number(stored.trim())).toBe(40 * 100 + 1);
    } finally {
      await daemon.stop();
    }
  });

  it('answers 503 + Retry-After within the retry bound while ClickHouse is unreachable, then stores the retry once', async () => {
    const daemon = await startDaemon(
      yaml(clickhouse.url, 'down', 'retry: { initial_interval_ms: 20, max_interval_ms: 50, max_elapsed_ms: 300 }'),
    );
    try {
      expect((await post(daemon, request(100, 1))).status).toBe(200);
      clickhouse.fail({ kind: 'reset' }, Infinity, (q) => q.startsWith('INSERT'));
      const body = request(101, 50);
      const down = await post(daemon, body);
      expect(down.status).toBe(503);
      expect(Number(down.headers.get('retry-after'))).toBeGreaterThan(0);
      clickhouse.clearFaults();
      expect(await sendWithRetries(daemon, body)).toBe(1);
      // The failed attempts wrote nothing, the retry wrote everything: 50 rows, once.
      const stored = await clickhouse.sql('SELECT count() FROM down.otel_traces FINAL', 'TabSeparated');
      expect(Number(stored.trim())).toBe(51);
    } finally {
      await daemon.stop();
    }
  });
});
