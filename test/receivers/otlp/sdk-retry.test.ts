/**
 * The OpenTelemetry SDK's own retry: ClickHouse fails the first insert, the receiver answers 503
 * with Retry-After, the SDK exporter retries as the spec says, and every span is stored once.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ClickhouseHttpServer } from '../../support/clickhouse-http-server';
import { otlpPipelineYaml, startDaemon } from '../../support/daemon';

describe('OpenTelemetry SDK retry over OTLP/HTTP', () => {
  it('ends with every span stored exactly once after a 503', async () => {
    const clickhouse = await ClickhouseHttpServer.start({ path: mkdtempSync(path.join(os.tmpdir(), 'tracehouse-sdk-retry-')) });
    const daemon = await startDaemon(
      otlpPipelineYaml({ database: 'sdkretry', endpoint: clickhouse.url, clickhouse: ['retry: { max_elapsed_ms: 0 }'] }),
    );
    try {
      const inserts = () => clickhouse.requests.filter((r) => /^INSERT INTO sdkretry\.otel_traces .*FORMAT Native$/.test(r.query));
      clickhouse.fail({ kind: 'status', status: 503, body: 'overloaded' }, 1, (q) => /^INSERT INTO sdkretry\.otel_traces .*FORMAT Native$/.test(q));
      const provider = new BasicTracerProvider({
        spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${daemon.receiverUrl('otlp')}/v1/traces`, timeoutMillis: 20_000 }))],
      });
      const tracer = provider.getTracer('retry-test');
      for (let i = 0; i < 25; i++) tracer.startSpan(`op ${i}`).end();
      await provider.forceFlush();
      await provider.shutdown();

      // The first insert failed (503), the SDK's retry made the second.
      expect(inserts().map((r) => r.fault ?? 'ok')).toEqual(['status', 'ok']);
      const stored = await clickhouse.sql('SELECT count(), uniqExact(SpanId) FROM sdkretry.otel_traces', 'TabSeparated');
      expect(stored.trim()).toBe('25\t25');
      const metrics = await (await fetch(`${daemon.adminUrl}/metrics`)).text();
      expect(metrics).toMatch(/tracehouse_receiver_refused_spans_total\{receiver="otlp",reason="downstream_unavailable"\} 25/);
      expect(metrics).toMatch(/tracehouse_receiver_accepted_spans_total\{receiver="otlp"\} 25/);
    } finally {
      await daemon.stop();
      await clickhouse.close();
    }
  }, 60_000);
});
