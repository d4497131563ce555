/**
 * `npm run bench:js`: the JS main-thread cost per span of what the daemon does between the socket
 * and the exporter on the default pipeline, stage by stage, on one core and without ClickHouse:
 * OTLP protobuf decode, the receiver's stamp (stampSpans), then the processors of the `traces`
 * pipeline of pipelines.yaml, built from that file by their factories as the service builds them
 * (redact → enrich → evaluate_rules), ending in the ClickHouse exporter's first step, the encoding
 * of the batch into Native columns (encodeNativeColumns), after which the batch is dropped.
 *
 * The two payloads of `npm run bench`'s OTLP transports, request for request (100 spans each, new
 * trace ids, span ids and prompts in every request, so no cache sees the same prompt twice):
 *   - genai:       bench/gen-ai-spans.ts, ten 10-span traces of GenAI calls.
 *   - openllmetry: bench/openllmetry-spans.ts, the older OpenLLMetry style: web requests with their
 *                  database and HTTP calls and LLM calls with gen_ai.system, gen_ai.prompt.N.* /
 *                  gen_ai.completion.N.*, gen_ai.usage.*, traces of 90 spans.
 *
 * Request bodies are rendered between timed rounds; only decode, the pipeline and the encoding are timed.
 * Per stage: wall time on the main thread per span (GC pauses land in the stage that triggered
 * them), and that time scaled by the main thread's CPU time over its wall time, an estimate of the
 * stage's CPU that holds up on a machine where other processes take turns on the cores. Then the
 * GC pauses alone, the main thread's CPU time (/proc/self/task) and the process CPU (main thread
 * plus V8's helper threads).
 *
 *   node dist/bench/js-pipeline.js [spans per shape, default 300000] [genai | openllmetry, default both]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { registry } from '../components';
import type { Processor, SpanConsumer } from '../core/component';
import { loadConfigFile } from '../core/config/load-config';
import { stampSpans } from '../core/ingest/attributes';
import { silentLogger } from '../core/logger';
import { decodeTraceRequestProto } from '../core/otlp/decode';
import { stampFor } from '../core/otlp/deliver-export';
import type { SpanBatch } from '../core/span';
import { Telemetry } from '../core/telemetry';
import { encodeNativeColumns } from '../exporters/clickhouse/native';
import { SPANS_PER_REQUEST } from './gen-ai-spans';
import { buildTemplate } from './harness';
import { openLlmetryRequests } from './openllmetry-spans';

const REQUESTS_PER_ROUND = 50;

const STAGES = ['decode', 'stamp', 'redact', 'enrich', 'evaluate_rules', 'encode'] as const;
const ENCODE = STAGES.indexOf('encode');

/** Time spent in each stage, summed over every timed request, in nanoseconds. */
class StageClock {
  readonly ns = new Float64Array(STAGES.length);
  add(stage: number, from: bigint, to: bigint): void {
    this.ns[stage] += Number(to - from);
  }
}

/**
 * The pipeline's processors as the service builds them, each followed by a probe that notes when
 * the batch left it and when the rest of the pipeline handed control back.
 */
function buildPipeline(clock: StageClock): { head: SpanConsumer; names: string[]; processors: Processor[] } {
  const loaded = loadConfigFile(path.join(__dirname, '..', '..', 'pipelines.yaml'), registry);
  if (!loaded.config) throw new Error(`pipelines.yaml: ${loaded.diagnostics.map((d) => d.message).join('; ')}`);
  const config = loaded.config;
  const names = config.service.pipelines.traces.processors;
  const telemetry = new Telemetry();
  const enter = new Array<bigint>(names.length + 1).fill(0n);
  const leave = new Array<bigint>(names.length + 1).fill(0n);
  const sink: SpanConsumer = {
    consume: async (batch: SpanBatch) => {
      enter[names.length] = process.hrtime.bigint();
      encodeNativeColumns(batch);
      leave[names.length] = process.hrtime.bigint();
      clock.add(ENCODE, enter[names.length], leave[names.length]);
    },
  };
  let next: SpanConsumer = sink;
  const processors: Processor[] = [];
  for (let k = names.length - 1; k >= 0; k--) {
    const id = names[k];
    const component = config.processors.get(id);
    if (!component) throw new Error(`processor ${id} is not configured`);
    const processor = component.factory.createProcessor(component.config, { id, logger: silentLogger(), telemetry: telemetry.forProcessor(id) }, next);
    processors.unshift(processor);
    const stage = STAGES.indexOf(id as (typeof STAGES)[number]);
    const after = k + 1;
    // The probe in front of processor k: its own time is up to the next probe, and after it.
    next = {
      consume: async (batch: SpanBatch, signal: AbortSignal) => {
        enter[k] = process.hrtime.bigint();
        const result = await processor.consume(batch, signal);
        leave[k] = process.hrtime.bigint();
        clock.add(stage, enter[k], enter[after]);
        clock.add(stage, leave[after], leave[k]);
        return result;
      },
    };
  }
  return { head: next, names, processors };
}

interface ShapeResult {
  spans: number;
  stageNs: Float64Array;
  gcNs: number;
  cpuUs: number;
  mainThreadCpuUs: number;
}

/** CPU time of the main thread alone (utime + stime of its /proc task), in µs; 10 ms resolution. */
function mainThreadCpuUs(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of stat(5), counted from the state (field 3) on; clock ticks of 10 ms.
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

async function runShape(bodyFor: (request: number) => Buffer, spansWanted: number): Promise<ShapeResult> {
  const clock = new StageClock();
  const { head, processors } = buildPipeline(clock);
  const stamp = stampFor({ sourceId: 'otlp' }, undefined);
  const signal = new AbortController().signal;
  const windows: [number, number][] = [];
  let gcNs = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (windows.some(([from, to]) => entry.startTime >= from && entry.startTime < to)) gcNs += entry.duration * 1e6;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  const warmupRounds = 20;
  const rounds = warmupRounds + Math.ceil(spansWanted / (REQUESTS_PER_ROUND * SPANS_PER_REQUEST));
  let request = 1;
  let spans = 0;
  let cpuUs = 0;
  let threadUs = 0;
  for (let round = 0; round < rounds; round++) {
    const bodies: Uint8Array[] = [];
    for (let r = 0; r < REQUESTS_PER_ROUND; r++) bodies.push(bodyFor(request++));
    const timed = round >= warmupRounds;
    if (round === warmupRounds) clock.ns.fill(0);
    const from = performance.now();
    const cpu = process.cpuUsage();
    const thread = mainThreadCpuUs();
    for (const body of bodies) {
      const t0 = process.hrtime.bigint();
      const decoded = decodeTraceRequestProto(body);
      const t1 = process.hrtime.bigint();
      const stamped = stampSpans(decoded.spans, stamp, 'client').spans;
      const t2 = process.hrtime.bigint();
      clock.add(0, t0, t1);
      clock.add(1, t1, t2);
      await head.consume(stamped, signal);
      if (timed) spans += stamped.length;
    }
    if (timed) {
      const used = process.cpuUsage(cpu);
      cpuUs += used.user + used.system;
      threadUs += mainThreadCpuUs() - thread;
      windows.push([from, performance.now()]);
    }
  }
  // GC entries are delivered asynchronously: let the last ones arrive.
  await new Promise((resolve) => setTimeout(resolve, 50));
  observer.disconnect();
  for (const processor of processors) await processor.shutdown();
  return { spans, stageNs: clock.ns, gcNs, cpuUs, mainThreadCpuUs: threadUs };
}

function report(label: string, result: ShapeResult): string {
  const wallNs = result.stageNs.reduce((a, b) => a + b, 0);
  const cpuShare = Math.min(1, (result.mainThreadCpuUs * 1000) / wallNs);
  const per = (ns: number) => (ns / 1000 / result.spans).toFixed(2).padStart(7);
  const row = (name: string, ns: number) => `  ${name.padEnd(16)} ${per(ns)} ${per(ns * cpuShare)}`;
  return [
    `${label}: ${result.spans.toLocaleString('en-US')} spans; µs/span: wall, est. CPU`,
    ...STAGES.map((stage, i) => row(stage, result.stageNs[i])),
    row('total', wallNs),
    `  ${'GC pauses'.padEnd(16)} ${per(result.gcNs)} (inside the stages above)`,
    `  ${'main thread CPU'.padEnd(16)} ${(result.mainThreadCpuUs / result.spans).toFixed(2).padStart(7)}`,
    `  ${'process CPU'.padEnd(16)} ${(result.cpuUs / result.spans).toFixed(2).padStart(7)} (main thread and V8's helper threads)`,
  ].join('\n');
}

export async function main(spansWanted = Number(process.argv[2] ?? 300_000), only = process.argv[3]): Promise<void> {
  const genAi = buildTemplate();
  const shapes: Record<string, [string, (n: number) => Buffer]> = {
    genai: ['genai (the bench payload, 10-span traces)', (n) => genAi.render(n)],
    openllmetry: ['openllmetry (the bench payload, 90-span traces)', openLlmetryRequests()],
  };
  const lines = [
    `JS pipeline per span: decode → stamp → processors of pipelines.yaml's traces pipeline → Native columns, ${SPANS_PER_REQUEST} spans/request, node ${process.version}, ${new Date().toISOString().slice(0, 10)}`,
  ];
  for (const name of only === undefined ? Object.keys(shapes) : [only]) {
    const shape = shapes[name];
    if (shape === undefined) throw new Error(`no payload shape "${name}": ${Object.keys(shapes).join(', ')}`);
    lines.push(report(shape[0], await runShape(shape[1], spansWanted)));
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

if (require.main === module) void main();
