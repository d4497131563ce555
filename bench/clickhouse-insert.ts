/**
 * Insert throughput of the clickhouse exporter on the embedded engine, at several batch sizes.
 * Many concurrent "clients" each send 100-span calls (like OTLP requests) and wait for their
 * acknowledgement, which is how receivers drive the exporter. Used to choose max_spans/timeout_ms.
 *
 *   node dist/bench/clickhouse-insert.js [total_spans] [max_spans[:in_flight[:fsync]],...]
 *
 * `:fsync` runs with fsync_after_insert (or BENCH_FSYNC=1 for every run), e.g.
 * `100000 5000:2,5000:2:fsync,500:1,500:1:fsync` puts each next to its cost.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ObjectCatalog } from '../core/control/catalog';
import { silentLogger } from '../core/logger';
import { makeSpan, type Resource, type Span } from '../core/span';
import { Telemetry } from '../core/telemetry';
import { WorkspaceDirectory } from '../core/workspaces';
import type { Host, QueryBackend } from '../core/component';
import { clickhouseExporterConfigSchema } from '../exporters/clickhouse/config';
import { ClickhouseExporter } from '../exporters/clickhouse/exporter';
import { acquireEmbeddedSession } from '../core/clickhouse/embedded-engine';
import { encodeSpans } from '../exporters/clickhouse/rows';

const CALL_SPANS = 100;

const messages = JSON.stringify([
  { role: 'system', content: 'You are a helpful support assistant for an online store. Answer briefly.' },
  { role: 'user', content: 'My order #48213 has not arrived yet, it was due on Monday. Can you check the status for me?' },
]);
const answer = JSON.stringify([
  { role: 'assistant', content: 'Your order #48213 left our warehouse on Saturday and is expected tomorrow.' },
]);

function makeResource(i: number): Resource {
  return {
    attributes: {
      'service.name': `support-bot-${i % 4}`,
      'service.version': '1.4.2',
      'deployment.environment.name': 'production',
      'telemetry.sdk.language': 'python',
      'tracehouse.workspace': 'acme',
    },
    droppedAttributesCount: 0,
    schemaUrl: '',
  };
}

/** One 100-span call: an agent trace with LLM and tool spans sharing a resource. */
function makeCall(call: number): Span[] {
  const resource = makeResource(call);
  const start = 1_700_000_000_000_000_000n + BigInt(call) * 1_000_000_000n;
  const traceId = call.toString(16).padStart(32, '0');
  const spans: Span[] = [];
  for (let i = 0; i < CALL_SPANS; i++) {
    const llm = i % 3 !== 2;
    spans.push(
      makeSpan({
        traceId,
        spanId: (call * CALL_SPANS + i + 1).toString(16).padStart(16, '0'),
        parentSpanId: i === 0 ? '' : (call * CALL_SPANS + 1).toString(16).padStart(16, '0'),
        name: llm ? 'chat gpt-4o-mini' : 'execute_tool lookup_order',
        kind: llm ? 'client' : 'internal',
        startTimeUnixNano: start + BigInt(i) * 10_000_000n,
        endTimeUnixNano: start + BigInt(i) * 10_000_000n + 734_000_000n,
        status: { code: 'ok', message: '' },
        attributes: llm
          ? {
              'gen_ai.operation.name': 'chat',
              'gen_ai.provider.name': 'openai',
              'gen_ai.request.model': 'gpt-4o-mini',
              'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
              'gen_ai.request.temperature': 0.2,
              'gen_ai.usage.input_tokens': 412n,
              'gen_ai.usage.output_tokens': 57n,
              'gen_ai.response.finish_reasons': ['stop'],
              'gen_ai.conversation.id': `conv-${call}`,
              'gen_ai.input.messages': messages,
              'gen_ai.output.messages': answer,
              'tracehouse.project': 'helpdesk',
              'tracehouse.cost_usd': 0.000096,
              'tracehouse.verdict': 'pass',
            }
          : {
              'gen_ai.operation.name': 'execute_tool',
              'gen_ai.tool.name': 'lookup_order',
              'gen_ai.tool.call.id': `call_${i}`,
              'tracehouse.project': 'helpdesk',
            },
        resource,
        scope: { name: 'opentelemetry.instrumentation.openai', version: '0.48b0', attributes: {}, droppedAttributesCount: 0 },
      }),
    );
  }
  return spans;
}

const host: Host = {
  acquireHttpListener: () => Promise.reject(new Error('not used')),
  registerQueryBackend: (_owner: string, _backend: QueryBackend) => undefined,
  workspaces: new WorkspaceDirectory(),
  store: () => undefined,
  registerAdminAction: () => undefined,
  objects: ObjectCatalog.detached(silentLogger()),
  provide: () => undefined,
  capability: () => undefined,
};

interface Run {
  maxSpans: number;
  maxInFlight: number;
  fsync?: boolean;
}

interface Result {
  spansPerSecond: number;
  /** Process CPU (all threads, engine included) per span: steadier than wall time on a shared machine. */
  cpuMicrosPerSpan: number;
  inserts: number;
}

async function runOnce(dataPath: string, total: number, run: Run): Promise<Result> {
  const id = `clickhouse/bench_${run.maxSpans}_${run.maxInFlight}`;
  const telemetry = new Telemetry();
  const config = clickhouseExporterConfigSchema.parse({
    path: dataPath,
    database: 'bench',
    max_spans: run.maxSpans,
    timeout_ms: 200,
    queue_max_spans: 1_000_000,
    fsync_after_insert: run.fsync === true || process.env.BENCH_FSYNC === '1',
  });
  const exporter = new ClickhouseExporter(
    config,
    { id, logger: silentLogger(), telemetry: telemetry.forExporter(id) },
    { maxInFlight: run.maxInFlight },
  );
  await exporter.start(host);
  const calls = total / CALL_SPANS;
  const clients = Math.max(16, Math.ceil((2 * run.maxSpans * run.maxInFlight) / CALL_SPANS));
  let next = 0;
  const signal = new AbortController().signal;
  const started = performance.now();
  const cpu = process.cpuUsage();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < calls) {
        const call = next++;
        await exporter.consume(makeCall(call), signal);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const metrics = await telemetry.metricsText();
  const inserts = Number(/^tracehouse_exporter_batch_spans_count\{[^}]*\} (\d+)$/m.exec(metrics)?.[1] ?? 0);
  await exporter.shutdown();
  // Background merges of one run's parts would otherwise slow the next run down.
  const lease = acquireEmbeddedSession(dataPath, 'writer');
  await lease.session.queryAsync('DROP DATABASE bench SYNC');
  await lease.release();
  return { spansPerSecond: total / seconds, cpuMicrosPerSpan: (used.user + used.system) / total, inserts };
}

function encodeRate(total: number): number {
  const calls = Array.from({ length: 20 }, (_, i) => makeCall(i));
  let bytes = 0;
  const started = performance.now();
  for (let i = 0; i < total / CALL_SPANS; i++) bytes += encodeSpans(calls[i % calls.length]).length;
  const seconds = (performance.now() - started) / 1000;
  console.log(`row encoding alone: ${Math.round(total / seconds)} spans/s (${Math.round(bytes / (total / CALL_SPANS) / CALL_SPANS)} bytes/row)`);
  return total / seconds;
}

const DEFAULT_RUNS: Run[] = [
  { maxSpans: 1_000, maxInFlight: 1 },
  { maxSpans: 2_500, maxInFlight: 1 },
  { maxSpans: 5_000, maxInFlight: 1 },
  { maxSpans: 10_000, maxInFlight: 1 },
  { maxSpans: 20_000, maxInFlight: 1 },
  { maxSpans: 10_000, maxInFlight: 2 },
];

/** argv: [total_spans] [max_spans[:in_flight],...] */
export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  const total = Number(argv[0] ?? 200_000);
  const runs: Run[] = argv[1]
    ? argv[1].split(',').map((item) => {
        const [maxSpans, maxInFlight = '1', fsync] = item.split(':');
        return { maxSpans: Number(maxSpans), maxInFlight: Number(maxInFlight), fsync: fsync === 'fsync' };
      })
    : DEFAULT_RUNS;
  const dataPath = fs.mkdtempSync(path.join(os.tmpdir(), 'tracehouse-bench-ch-'));
  console.log(`clickhouse exporter, embedded engine, ${total} gen_ai spans in ${CALL_SPANS}-span calls, ${os.cpus().length} cores`);
  encodeRate(total);
  const repeats = Number(process.env.BENCH_REPEATS ?? 1);
  try {
    for (let r = 0; r < repeats; r++) for (const run of runs) {
      const result = await runOnce(dataPath, total, run);
      console.log(
        `max_spans=${String(run.maxSpans).padStart(6)} in_flight=${run.maxInFlight}` +
          `${run.fsync === true || process.env.BENCH_FSYNC === '1' ? ' fsync' : ''}: ` +
          `${String(Math.round(result.spansPerSecond)).padStart(7)} spans/s, ` +
          `${result.cpuMicrosPerSpan.toFixed(1)} µs CPU/span, ${result.inserts} inserts`,
      );
    }
  } finally {
    fs.rmSync(dataPath, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
