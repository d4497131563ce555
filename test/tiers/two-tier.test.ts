/**
 * The two tiers of examples/kafka-tiers.yaml, unchanged but for addresses: OTLP into the ingest
 * tier, through Kafka, into the store tier, into ClickHouse; every span stored once.
 */
import { readFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encodeTraceRequestProto } from '../../core/otlp/encode';
import { makeSpan } from '../../core/span';
import { ClickhouseHttpServer } from '../support/clickhouse-http-server';
import { createRootLogger } from '../../core/logger';
import { startDaemon } from '../support/daemon';
import type { TestDaemon } from '../support/daemon';
import { kafkaBrokers, uniqueTopic } from '../support/kafka/brokers';
import { waitFor } from '../support/wait';

const root = path.join(__dirname, '..', '..');
const API_KEY = 'th_tiers_0123456789abcdef';

describe('ingest and store tiers through Kafka', () => {
  let clickhouse: ClickhouseHttpServer;
  let kafka: Awaited<ReturnType<typeof kafkaBrokers>>;
  let ingest: TestDaemon;
  let store: TestDaemon;
  const topic = uniqueTopic('tiers');

  beforeAll(async () => {
    clickhouse = await ClickhouseHttpServer.start({ path: mkdtempSync(path.join(os.tmpdir(), 'tracehouse-tiers-')) });
    kafka = await kafkaBrokers();
    const yaml = readFileSync(path.join(root, 'examples', 'kafka-tiers.yaml'), 'utf8');
    const env = {
      TRACEHOUSE_OTLP_HTTP_LISTEN: '127.0.0.1:0',
      TRACEHOUSE_OTLP_GRPC_LISTEN: '127.0.0.1:0',
      TRACEHOUSE_INGEST_LISTEN: '127.0.0.1:0',
      TRACEHOUSE_ADMIN_LISTEN: '127.0.0.1:0',
      TRACEHOUSE_ATTACHMENTS_DIR: mkdtempSync(path.join(os.tmpdir(), 'tracehouse-tiers-att-')),
      KAFKA_BROKERS: kafka.brokers.join(','),
      TRACEHOUSE_KAFKA_TOPIC: topic,
      TRACEHOUSE_KAFKA_GROUP: `${topic}-store`,
      CLICKHOUSE_ENDPOINT: clickhouse.url,
      CLICKHOUSE_DATABASE: 'tiers',
      TRACEHOUSE_API_KEY: API_KEY,
      TRACEHOUSE_ADMIN_API_KEY: 'th_admin_0123456789abcdef',
    };
    ingest = await startDaemon(yaml, { env, pipelines: ['traces/ingest'] });
    store = await startDaemon(yaml, { env, pipelines: ['traces/store'], logger: process.env.TIERS_DEBUG ? createRootLogger({ level: 'debug' }) : undefined });
  }, 60_000);
  afterAll(async () => {
    await ingest?.stop();
    await store?.stop();
    await kafka?.stop();
    await clickhouse?.close();
  });

  it('stores every span sent to the ingest tier once, enriched by the store tier', async () => {
    const traces = 20;
    const perTrace = 5;
    for (let t = 0; t < traces; t++) {
      const traceId = `${'ab'.repeat(15)}${t.toString(16).padStart(2, '0')}`;
      const spans = Array.from({ length: perTrace }, (_, i) =>
        makeSpan({
          traceId,
          spanId: `${(t + 1).toString(16).padStart(8, '0')}${i.toString(16).padStart(8, '0')}`,
          name: 'chat gpt-4o-mini',
          kind: 'client',
          startTimeUnixNano: 1_763_900_000_000_000_000n,
          endTimeUnixNano: 1_763_900_000_800_000_000n,
          attributes: {
            'gen_ai.operation.name': 'chat',
            'gen_ai.request.model': 'gpt-4o-mini',
            'gen_ai.usage.input_tokens': 1000n,
            'gen_ai.usage.output_tokens': 100n,
            // A different prompt per call: the same input repeated in a trace is an agent loop (flagged).
            'gen_ai.prompt': `step ${i}: mail me at jane@example.com`,
          },
        }),
      );
      const res = await fetch(`${ingest.receiverUrl('otlp')}/v1/traces`, {
        method: 'POST',
        body: encodeTraceRequestProto(spans),
        headers: { 'content-type': 'application/x-protobuf', authorization: `Bearer ${API_KEY}` },
      });
      // 200 means durable in Kafka (acks=all), not yet in ClickHouse.
      expect(res.status).toBe(200);
    }
    const total = traces * perTrace;
    const count = async () => {
      try {
        return Number((await clickhouse.sql('SELECT count() FROM tiers.otel_traces FINAL', 'TabSeparated')).trim());
      } catch {
        return 0;
      }
    };
    await waitFor(`${total} stored spans`, async () => (await count()) === total, 40_000).catch(async (err: unknown) => {
      if (process.env.TIERS_DEBUG) console.error(await clickhouse.sql('SELECT count(), uniqExact(SpanId) FROM tiers.otel_traces', 'TabSeparated').catch(String));
      throw err;
    });
    const rows = JSON.parse(
      await clickhouse.sql(
        "SELECT uniqExact(SpanId) AS spans, uniqExact(TraceId) AS traces, min(Workspace) AS workspace, countIf(CostUsd > 0) AS priced, countIf(position(Input, 'jane@example.com') > 0) AS leaked FROM tiers.otel_traces FINAL",
        'JSONEachRow',
      ),
    );
    // redact ran in the ingest tier (no address leaves it), enrich in the store tier (priced).
    expect(rows).toEqual({ spans: total, traces, workspace: 'default', priced: total, leaked: 0 });
  });
});
