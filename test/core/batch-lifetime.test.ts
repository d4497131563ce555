/**
 * A batch waiting for its insert is garbage once the exporter has encoded it: no frame on the way
 * (OTLP delivery, the JSON ingest routes, the kafka receiver, evaluate_rules, a fan-out, the
 * ClickHouse exporter) holds its spans. V8 keeps an async function's arguments and locals alive across every await; a frame
 * that held the batch made the young-generation collector copy every span twice while it waited
 * (core/component.ts handOn).
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import type { SpanConsumer } from '../../core/component';
import { silentLogger } from '../../core/logger';
import { deliverExport } from '../../core/otlp/deliver-export';
import { fanOut } from '../../core/pipeline-graph';
import { makeSpan, type Span } from '../../core/span';
import { Telemetry } from '../../core/telemetry';
import { evaluateRulesProcessorFactory } from '../../processors/evaluate_rules/factory';
import { deliverBatch } from '../../receivers/kafka/batch-delivery';
import { kafkaReceiverConfigSchema } from '../../receivers/kafka/config';
import { registry } from '../../components';
import { encodeTraceRequestProto } from '../../core/otlp/encode';
import { ClickhouseHttpServer } from '../support/clickhouse-http-server';
import { startDaemon, TEST_API_KEY, TEST_WORKSPACE } from '../support/daemon';
import { createRecorder, recordingRegistry } from '../support/recording-components';
import { waitFor } from '../support/wait';
import { createHarness, tempDir } from '../exporters/clickhouse/support';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const T0 = 1_700_000_000_000_000_000n;
let sequence = 0;

/** Spans of one call, and weak references to them (a WeakRef alone keeps nothing alive). */
function batch(n = 50): { spans: Span[]; refs: WeakRef<Span>[] } {
  const spans = Array.from({ length: n }, () => {
    sequence += 1;
    return makeSpan({
      traceId: sequence.toString(16).padStart(32, '0'),
      spanId: sequence.toString(16).padStart(16, '0'),
      name: 'chat gpt-4o',
      startTimeUnixNano: T0 + BigInt(sequence),
      endTimeUnixNano: T0 + BigInt(sequence) + 1_000_000n,
      attributes: { 'gen_ai.request.model': 'gpt-4o', 'gen_ai.prompt': `prompt ${sequence}` },
    });
  });
  return { spans, refs: spans.map((span) => new WeakRef(span)) };
}

/** Resolves each call when the test opens it; counts spans but keeps no batch. */
function gate(): { consumer: SpanConsumer; open(): void; received(): number } {
  const waiting: Array<() => void> = [];
  let received = 0;
  return {
    consumer: {
      consume: (spans) => {
        received += spans.length;
        return new Promise<void>((resolve) => waiting.push(resolve));
      },
    },
    open: () => waiting.splice(0).forEach((resolve) => resolve()),
    received: () => received,
  };
}

/** Whether every referenced span was collected (WeakRef targets live until the current job ends). */
async function collected(refs: readonly WeakRef<Span>[]): Promise<boolean> {
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  await new Promise((resolve) => setImmediate(resolve));
  gc();
  return refs.every((ref) => ref.deref() === undefined);
}

/** Starts a call in a frame of its own, so that the test's frame holds no span either. */
function start(call: (spans: Span[]) => Promise<unknown>): { pending: Promise<unknown>; refs: WeakRef<Span>[]; settled: () => boolean } {
  const { spans, refs } = batch();
  let done = false;
  const pending = call(spans).finally(() => (done = true));
  return { pending, refs, settled: () => done };
}

test('OTLP delivery: the decoded spans are garbage while the pipeline still works on them', async () => {
  const downstream = gate();
  const telemetry = new Telemetry().forReceiver('otlp');
  const { pending, refs, settled } = start((spans) =>
    deliverExport(
      { spans, rejected: 0, rejectReasons: [] },
      { next: downstream.consumer, telemetry, logger: silentLogger(), signal: new AbortController().signal, stamp: { 'tracehouse.workspace': 'w' } },
    ),
  );
  expect(downstream.received()).toBe(50);
  expect(await collected(refs)).toBe(true);
  expect(settled()).toBe(false);
  downstream.open();
  await expect(pending).resolves.toEqual({ ok: true, partial: undefined });
});

test('the kafka receiver keeps only counts of the messages whose spans wait for the pipeline', async () => {
  const downstream = gate();
  const refs: WeakRef<Span>[] = [];
  const spy: SpanConsumer = {
    consume: (spans, signal) => {
      for (const span of spans) refs.push(new WeakRef(span));
      return downstream.consumer.consume(spans, signal);
    },
  };
  const messages = [0, 1].map((n) => ({ offset: String(n), key: null, value: Buffer.from(encodeTraceRequestProto(batch(50).spans)), timestamp: '0', attributes: 0, headers: {} }));
  const pending = deliverBatch('spans', 0, messages, {
    config: kafkaReceiverConfigSchema.parse({}),
    receiverId: 'kafka',
    next: spy,
    telemetry: new Telemetry().forReceiver('kafka'),
    logger: silentLogger(),
    deadLetter: { send: () => Promise.reject(new Error('nothing is dead-lettered here')) } as never,
    signal: new AbortController().signal,
    running: () => true,
    heartbeat: async () => undefined,
  });
  expect(downstream.received()).toBe(100);
  expect(await collected(refs)).toBe(true);
  downstream.open();
  await expect(pending).resolves.toEqual({ lastDone: '1' });
});

test('evaluate_rules and a fan-out keep no batch while the exporters write it', async () => {
  const [first, second] = [gate(), gate()];
  const telemetry = new Telemetry();
  const processor = evaluateRulesProcessorFactory.createProcessor(
    evaluateRulesProcessorFactory.configSchema.parse({ rules: [] }),
    { id: 'evaluate_rules', logger: silentLogger(), telemetry: telemetry.forProcessor('evaluate_rules') },
    fanOut([first.consumer, second.consumer]),
  );
  const { pending, refs, settled } = start((spans) => processor.consume(spans, new AbortController().signal));
  expect([first.received(), second.received()]).toEqual([50, 50]);
  expect(await collected(refs)).toBe(true);
  expect(settled()).toBe(false);
  first.open();
  second.open();
  await pending;
  await processor.shutdown();
});

test('the ClickHouse exporter holds a call only as encoded columns while its insert is in flight', async () => {
  const server = await ClickhouseHttpServer.start({ path: tempDir('tracehouse-batch-lifetime-') });
  const h = createHarness({ endpoint: server.url, database: 'lifetime' });
  try {
    await h.exporter.start(h.host);
    const release = server.holdInserts();
    const { pending, refs, settled } = start((spans) => h.exporter.consume(spans, new AbortController().signal));
    try {
      expect(await collected(refs)).toBe(true);
      expect(settled()).toBe(false);
    } finally {
      release();
    }
    await pending;
    expect(await h.count()).toBe(50);
  } finally {
    await h.exporter.shutdown();
    await server.close();
  }
});

test('a daemon holds no span of OTLP/HTTP or JSON ingest requests while their export waits', async () => {
  const recorder = createRecorder();
  let open!: () => void;
  recorder.gate = new Promise<void>((resolve) => (open = resolve));
  const daemon = await startDaemon(
    `receivers:
  otlp:
    http: { listen: 127.0.0.1:0 }
    grpc: { enabled: false }
  native:
    listen: 127.0.0.1:0
exporters:
  releasing:
workspaces:
  ${TEST_WORKSPACE}:
    api_keys: ["${TEST_API_KEY}"]
service:
  admin:
    listen: 127.0.0.1:0
  pipelines:
    traces: { receivers: [otlp, native], exporters: [releasing] }
`,
    { registry: recordingRegistry(recorder, registry) },
  );
  try {
    const otlp = fetch(`${daemon.receiverUrl('otlp')}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf', authorization: `Bearer ${TEST_API_KEY}` },
      body: encodeTraceRequestProto(batch(100).spans),
    });
    const native = fetch(`${daemon.receiverUrl('native')}/api/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_API_KEY}` },
      body: JSON.stringify({ actionName: 'lifetime', requestId: 'req_lifetime_1', model: 'gpt-4o', prompt: 'p', response: 'r', metrics: { promptTokens: 3, completionTokens: 2 } }),
    });
    await waitFor('the exporter to get both requests', () => recorder.weak.length >= 101);
    expect(await collected(recorder.weak)).toBe(true);
    open();
    expect((await otlp).status).toBe(200);
    expect((await native).status).toBe(200);
  } finally {
    open();
    await daemon.stop();
  }
});
