/**
 * Records stamped with their receive time collapse into one row when they are sent again, after a
 * restart (a new daemon on the same database) or after the idempotency window: the replay is
 * stamped with the first receive time, kept in the store, so it is the same row as the first copy.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ingestPipelineYaml, postJson, queryRows, startDaemon, uniqueDatabase, type TestDaemon } from '../support/daemon';

/** Long enough that a new receive time falls into another second of the sorting key. */
const LATER_MS = 1_200;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const attachmentsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tracehouse-replay-attachments-'));
afterAll(() => fs.rmSync(attachmentsDir, { recursive: true, force: true }));

function pipeline(database: string, ingest: string[] = []): string {
  return ingestPipelineYaml({
    receivers: {
      native: ingest,
      logs: [...ingest, `attachments_dir: ${JSON.stringify(attachmentsDir)}`],
      webhook: ingest,
      events: ingest,
      jsonapi: ingest,
    },
    database,
  });
}

interface Replayable {
  name: string;
  receiver: string;
  path: string;
  body: unknown;
  contentType?: string;
  /** Selects the record's rows in otel_traces. */
  where: string;
}

/** One record per receiver and route that stamps the receive time on a record with its own id. */
function records(tag: string): Replayable[] {
  const hex = Buffer.from(tag.padEnd(16, '0').slice(0, 16)).toString('hex');
  return [
    {
      name: 'native /api/traces with requestId',
      receiver: 'native',
      path: '/api/traces',
      body: {
        requestId: `req_${tag}`,
        actionName: 'support-reply',
        model: 'gpt-4o',
        prompt: 'Summarize',
        response: 'Summary',
        metrics: { promptTokens: 400, completionTokens: 100, estimatedCostUsd: 0.25 },
      },
      where: `SpanAttributes['aitracer.request_id'] = 'req_${tag}'`,
    },
    {
      name: 'native tool call with toolCallId',
      receiver: 'native',
      path: '/api/ingest/tool-calls',
      body: { toolCallId: `call_${tag}`, name: 'lookup_order', arguments: { id: 7 } },
      where: `SpanAttributes['gen_ai.tool.call.id'] = 'call_${tag}'`,
    },
    {
      name: 'native feedback with feedbackId',
      receiver: 'native',
      path: '/api/ingest/feedback',
      body: { traceId: `req_${tag}`, feedbackId: `fb_${tag}`, rating: 'up' },
      where: `SpanAttributes['aitracer.feedback_id'] = 'fb_${tag}'`,
    },
    {
      name: 'OpenAI Agents trace item alone',
      receiver: 'native',
      path: '/v1/traces/ingest',
      body: { data: [{ object: 'trace', id: `trace_${hex}`, workflow_name: `wf_${tag}` }] },
      where: `SpanName = 'wf_${tag}'`,
    },
    {
      name: 'logs /api/logs with id',
      receiver: 'logs',
      path: '/api/logs',
      body: { id: `log_${tag}`, project: 'replays', model: 'gpt-4o-mini', output: 'An answer.', costUsd: 0.5 },
      where: `SpanAttributes['tracehouse.log_id'] = 'log_${tag}'`,
    },
    {
      name: 'webhook delivery with delivery_id',
      receiver: 'webhook',
      path: '/api/ingest/webhooks',
      body: { source: 'scanner', severity: 'high', title: 'Leaked token', delivery_id: `dlv_${tag}` },
      where: `SpanAttributes['tracehouse.webhook.delivery_id'] = 'dlv_${tag}'`,
    },
    {
      name: 'change event without timestamp',
      receiver: 'events',
      path: '/v1/ingest/change',
      body: { provider: 'github', change_id: `chg_${tag}`, classification: 'deploy' },
      where: `SpanAttributes['tracehouse.change.id'] = 'chg_${tag}'`,
    },
    {
      name: 'JSON:API trace with a client id',
      receiver: 'jsonapi',
      path: '/instrumentation/tracing/v1/',
      contentType: 'application/vnd.api+json',
      body: { data: { type: 'trace', id: `jt_${tag}`, attributes: { name: `jsonapi_${tag}`, environment: 'prod' } } },
      where: `SpanAttributes['jsonapi.id'] = 'jt_${tag}'`,
    },
  ];
}

async function send(daemon: TestDaemon, record: Replayable): Promise<void> {
  const headers: Record<string, string> = record.contentType ? { 'content-type': record.contentType } : {};
  const res = await postJson(`${daemon.receiverUrl(record.receiver)}${record.path}`, record.body, headers);
  if (res.status >= 300) throw new Error(`${record.name}: ${res.status} ${res.text}`);
}

interface Stored {
  rows: string;
  timestamps: string;
  input_tokens: string;
  output_tokens: string;
  cost: number;
}

async function stored(daemon: TestDaemon, database: string, record: Replayable): Promise<Stored> {
  const [row] = await queryRows<Stored>(
    daemon,
    `SELECT toString(count()) AS rows, toString(uniqExact(Timestamp)) AS timestamps,
       toString(sum(InputTokens)) AS input_tokens, toString(sum(OutputTokens)) AS output_tokens, sum(CostUsd) AS cost
     FROM otel_traces FINAL WHERE ${record.where}`,
    database,
  );
  return row;
}

test('every record with a deterministic id is one row after a restart and a later replay, its tokens and cost counted once', async () => {
  const database = uniqueDatabase('replay_restart');
  const sent = records('restart');
  let first: TestDaemon | undefined = await startDaemon(pipeline(database));
  const before = new Map<string, Stored>();
  try {
    for (const record of sent) await send(first, record);
    for (const record of sent) before.set(record.name, await stored(first, database, record));
  } finally {
    await first.stop();
    first = undefined;
  }
  for (const record of sent) expect([record.name, before.get(record.name)?.rows]).toEqual([record.name, '1']);
  expect(before.get('native /api/traces with requestId')).toMatchObject({ input_tokens: '400', output_tokens: '100', cost: 0.25 });
  expect(before.get('logs /api/logs with id')).toMatchObject({ cost: 0.5 });

  await sleep(LATER_MS);
  // A new daemon: nothing in memory, the idempotency answers are gone.
  const second = await startDaemon(pipeline(database));
  try {
    for (const record of sent) await send(second, record);
    for (const record of sent) {
      const after = await stored(second, database, record);
      expect([record.name, after]).toEqual([record.name, before.get(record.name)]);
      expect([record.name, after.rows, after.timestamps]).toEqual([record.name, '1', '1']);
    }
  } finally {
    await second.stop();
  }
});

test('a replay after the idempotency window is stamped with the first receive time, on the same daemon', async () => {
  const database = uniqueDatabase('replay_window');
  const sent = records('window');
  const daemon = await startDaemon(pipeline(database, ['idempotency: { ttl_seconds: 1 }']));
  try {
    for (const record of sent) await send(daemon, record);
    await sleep(LATER_MS);
    for (const record of sent) await send(daemon, record);
    for (const record of sent) {
      const after = await stored(daemon, database, record);
      expect([record.name, after.rows, after.timestamps]).toEqual([record.name, '1', '1']);
    }
    const [traces] = await queryRows<{ input: string; cost: number }>(
      daemon,
      `SELECT toString(sum(InputTokens)) AS input, sum(CostUsd) AS cost FROM otel_traces FINAL WHERE ${sent[0].where}`,
      database,
    );
    expect(traces).toEqual({ input: '400', cost: 0.25 });
  } finally {
    await daemon.stop();
  }
});

test('the first receive time is kept in the store; records without ids keep their own receive time', async () => {
  const database = uniqueDatabase('replay_store');
  const daemon = await startDaemon(pipeline(database));
  try {
    const url = `${daemon.receiverUrl('native')}/api/traces`;
    expect((await postJson(url, { requestId: 'req_kept', model: 'gpt-4o' })).status).toBe(200);
    const kept = await queryRows<{ kind: string; record_id: string; first: string }>(
      daemon,
      `SELECT any(kind) AS kind, any(record_id) AS record_id, toString(min(first_received_unix_nano)) AS first
       FROM tracehouse_record_times GROUP BY record_key`,
      database,
    );
    expect(kept).toEqual([{ kind: 'aitracer.trace', record_id: 'req_kept', first: expect.stringMatching(/^\d{19}$/) }]);
    const [span] = await queryRows<{ end: string }>(
      daemon,
      `SELECT toString(toUnixTimestamp64Nano(Timestamp) + Duration) AS end FROM otel_traces FINAL WHERE SpanAttributes['aitracer.request_id'] = 'req_kept'`,
      database,
    );
    expect(span.end).toBe(kept[0].first);

    // Without an id each request is a record of its own.
    expect((await postJson(url, { model: 'gpt-4o', prompt: 'no id' })).status).toBe(200);
    await sleep(LATER_MS);
    expect((await postJson(url, { model: 'gpt-4o', prompt: 'no id' })).status).toBe(200);
    const [row] = await queryRows<{ n: string }>(
      daemon,
      `SELECT toString(count()) AS n FROM otel_traces FINAL WHERE SpanAttributes['aitracer.request_id'] = '' AND GenAIRequestModel = 'gpt-4o'`,
      database,
    );
    expect(row.n).toBe('2');
  } finally {
    await daemon.stop();
  }
});
