/**
 * One request must not poison the insert it shares with others: a backfill over years (more days
 * than ClickHouse takes partitions in one insert) is stored, and a request whose rows the engine
 * refuses fails alone with a 4xx while every request batched with it is stored and answered 200.
 */
import { EmbeddedConnection } from '../../exporters/clickhouse/embedded-connection';
import { processDataDir, queryRows, startDaemon, uniqueDatabase, type TestDaemon } from '../support/daemon';

const DAY_NS = 86_400_000_000_000n;
const JAN_2020_NS = 1_577_836_800_000_000_000n;

/** Inserts wait for the running one (group commit) instead of a short linger: requests share inserts. */
function pipeline(database: string): string {
  return `receivers:
  otlp:
    http: { listen: 127.0.0.1:0 }
    grpc: { enabled: false }
exporters:
  clickhouse:
    path: \${env:TEST_DATA_DIR}
    database: ${database}
    timeout_ms: 60000
service:
  admin:
    listen: 127.0.0.1:0
  pipelines:
    traces: { receivers: [otlp], exporters: [clickhouse] }
`;
}

let counter = 0;
interface SpanSpec {
  name: string;
  service: string;
  startNs: bigint;
  inputTokens?: number;
}

function otlpBody(specs: SpanSpec[]): string {
  return JSON.stringify({
    resourceSpans: specs.map((spec) => {
      counter += 1;
      const id = counter.toString(16);
      return {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: spec.service } }] },
        scopeSpans: [
          {
            spans: [
              {
                traceId: id.padStart(32, 'a'),
                spanId: id.padStart(16, 'b'),
                name: spec.name,
                kind: 3,
                startTimeUnixNano: spec.startNs.toString(),
                endTimeUnixNano: (spec.startNs + 1_000_000_000n).toString(),
                attributes: [{ key: 'gen_ai.usage.input_tokens', value: { intValue: String(spec.inputTokens ?? 10) } }],
              },
            ],
          },
        ],
      };
    }),
  });
}

async function post(daemon: TestDaemon, body: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${daemon.receiverUrl('otlp')}/v1/traces`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  return { status: res.status, text: await res.text() };
}

async function count(daemon: TestDaemon, database: string, where: string): Promise<number> {
  const [row] = await queryRows<{ n: string }>(daemon, `SELECT toString(count()) AS n FROM otel_traces FINAL WHERE ${where}`, database);
  return Number(row.n);
}

/** Inserts attempted, and those with more than 10 spans (several requests shared them). */
async function insertStats(daemon: TestDaemon): Promise<{ inserts: number; shared: number }> {
  const text = await (await fetch(`${daemon.adminUrl}/metrics`)).text();
  const total = /^tracehouse_exporter_batch_spans_count\{[^}]*\} (\d+)$/m.exec(text);
  const small = /^tracehouse_exporter_batch_spans_bucket\{[^}]*le="10"[^}]*\} (\d+)$/m.exec(text);
  const inserts = total ? Number(total[1]) : 0;
  return { inserts, shared: inserts - (small ? Number(small[1]) : 0) };
}

/** Holds the embedded engine's writer for a while, so requests sent meanwhile queue into one batch. */
async function whileWriterBusy<T>(work: () => Promise<T>): Promise<T> {
  const connection = new EmbeddedConnection(processDataDir, 30_000);
  try {
    const busy = connection.command('SELECT sleep(2)');
    const result = await work();
    await busy;
    return result;
  } finally {
    await connection.close();
  }
}

test('a backfill spanning several years is stored completely and answered 200', async () => {
  const database = uniqueDatabase('backfill');
  const daemon = await startDaemon(pipeline(database));
  try {
    // Every day of three years: eleven times the engine's 100 partitions per insert.
    const days = 3 * 365;
    const specs = Array.from({ length: days }, (_, i) => ({ name: 'backfill', service: 'history', startNs: JAN_2020_NS + BigInt(i) * DAY_NS }));
    const res = await post(daemon, otlpBody(specs));
    expect(res.status).toBe(200);
    expect(await count(daemon, database, "SpanName = 'backfill'")).toBe(days);
    const [row] = await queryRows<{ days: string; tokens: string }>(
      daemon,
      "SELECT toString(uniqExact(toDate(Timestamp))) AS days, toString(sum(InputTokens)) AS tokens FROM otel_traces FINAL WHERE SpanName = 'backfill'",
      database,
    );
    expect(row).toEqual({ days: String(days), tokens: String(days * 10) });
  } finally {
    await daemon.stop();
  }
});

test('one bad request batched with many good ones and a backfill fails alone with a 4xx; the others are stored', async () => {
  const database = uniqueDatabase('poison');
  const daemon = await startDaemon(pipeline(database));
  try {
    expect((await post(daemon, otlpBody([{ name: 'warm-up', service: 'shop', startNs: BigInt(Date.now()) * 1_000_000n }]))).status).toBe(200);
    // A permanently bad row: one the engine refuses, whatever the batch (an operator's constraint).
    const setup = new EmbeddedConnection(processDataDir, 30_000);
    await setup.command(`ALTER TABLE ${database}.otel_traces ADD CONSTRAINT no_poison CHECK SpanName != 'poison'`);
    await setup.close();
    const before = await insertStats(daemon);

    const now = BigInt(Date.now()) * 1_000_000n;
    const good = Array.from({ length: 24 }, (_, i) => otlpBody([{ name: `good-${i}`, service: 'shop', startNs: now + BigInt(i) }]));
    const bad = otlpBody([{ name: 'poison', service: 'shop', startNs: now }]);
    // 150 days, one span each: alone it already exceeds the 100 partitions of one insert block.
    const backfill = otlpBody(Array.from({ length: 150 }, (_, i) => ({ name: 'old', service: 'shop', startNs: now - BigInt(i + 1) * DAY_NS })));
    const answers = await whileWriterBusy(() =>
      Promise.all([...good.slice(0, 12), bad, backfill, ...good.slice(12)].map((body) => post(daemon, body))),
    );

    const badAnswer = answers[12];
    expect(badAnswer.status).toBeGreaterThanOrEqual(400);
    expect(badAnswer.status).toBeLessThan(500);
    const others = answers.filter((_, i) => i !== 12);
    expect(others.map((a) => a.status)).toEqual(others.map(() => 200));
    expect(await count(daemon, database, "startsWith(SpanName, 'good-')")).toBe(24);
    expect(await count(daemon, database, "SpanName = 'old'")).toBe(150);
    expect(await count(daemon, database, "SpanName = 'poison'")).toBe(0);

    // They really shared inserts with the bad request: some insert carried more than 10 spans.
    const after = await insertStats(daemon);
    expect(after.shared - before.shared).toBeGreaterThan(0);
  } finally {
    await daemon.stop();
  }
});
