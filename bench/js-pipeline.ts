/**
 * `npm run bench:js`: the JS main-thread cost per span of what the daemon does between the socket
 * and the exporter on the default pipeline, stage by stage, on one core and without ClickHouse:
 * OTLP protobuf decode, the receiver's stamp (stampSpans), then the processors of the `traces`
 * pipeline of pipelines.yaml, built from that file by their factories as the service builds them
 * (redact → enrich → evaluate_rules), ending in a sink that drops the batch.
 *
 * Two payload shapes, 100 spans per request, fresh trace ids, span ids and prompts in every
 * request (so no cache sees the same prompt twice):
 *   - genai:       the bench payload (bench/gen-ai-spans.ts): ten 10-span traces of GenAI calls.
 *   - openllmetry: the older OpenLLMetry style: gen_ai.system, a 200-character gen_ai.prompt,
 *                  gen_ai.usage.prompt_tokens / completion_tokens, traces of 90 spans.
 *
 * Requests are built and encoded between timed rounds; only decode and the pipeline are timed.
 * Per stage: wall time on the main thread per span (GC pauses land in the stage that triggered
 * them), and that time scaled by the main thread's CPU time over its wall time, an estimate of the
 * stage's CPU that holds up on a machine where other processes take turns on the cores. Then the
 * GC pauses alone, the main thread's CPU time (/proc/self/task) and the process CPU (main thread
 * plus V8's helper threads).
 *
 *   node dist/bench/js-pipeline.js [spans per shape, default 300000]
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
import { encodeTraceRequestProto } from '../core/otlp/encode';
import { makeSpan } from '../core/span';
import type { Resource, Span, SpanBatch } from '../core/span';
import { Telemetry } from '../core/telemetry';
import { buildGenAiSpans, SPANS_PER_REQUEST } from './gen-ai-spans';

const REQUESTS_PER_ROUND = 50;
const OPENLLMETRY_TRACE_SPANS = 90;
const WORDS = ['ticket', 'refund', 'invoice', 'shipping', 'delay', 'account', 'password', 'order', 'upgrade', 'billing', 'plan', 'export', 'report', 'crash', 'login', 'search'];

/** Text that differs per request and span, of exactly `length` characters, with nothing a detector finds. */
function freshText(seed: number, length: number): string {
  let text = `Request ${seed.toString(36)}: summarize the customer's message and list the action items.`;
  for (let n = seed; text.length < length; n = Math.floor(n / WORDS.length) + 7) text += ` ${WORDS[n % WORDS.length]}`;
  return text.slice(0, length);
}

function hexId(value: number, length: number): string {
  return value.toString(16).padStart(length, '0');
}

/** The bench payload with this request's own ids and prompts. */
function genAiRequest(template: readonly Span[], request: number): Span[] {
  return template.map((span, i) => ({
    ...span,
    traceId: `${hexId(request, 12)}${span.traceId.slice(12)}`,
    spanId: `${hexId(request, 8)}${span.spanId.slice(8)}`,
    parentSpanId: span.parentSpanId === '' ? '' : `${hexId(request, 8)}${span.parentSpanId.slice(8)}`,
    attributes: { ...span.attributes, 'gen_ai.prompt': freshText(request * SPANS_PER_REQUEST + i, 200) },
  }));
}

const OPENLLMETRY_RESOURCE: Resource = {
  attributes: { 'service.name': 'support-bot', 'telemetry.sdk.name': 'opentelemetry', 'telemetry.sdk.language': 'python' },
  droppedAttributesCount: 0,
  schemaUrl: '',
};

/** Request `request` of a stream of 90-span OpenLLMetry traces cut into 100-span requests. */
function openLlmetryRequest(request: number): Span[] {
  const spans: Span[] = [];
  for (let i = 0; i < SPANS_PER_REQUEST; i++) {
    const n = request * SPANS_PER_REQUEST + i;
    const trace = Math.floor(n / OPENLLMETRY_TRACE_SPANS);
    const position = n % OPENLLMETRY_TRACE_SPANS;
    const start = 1_763_900_000_000_000_000n + BigInt(n) * 1_000_000n;
    spans.push(
      makeSpan({
        traceId: hexId(trace, 32),
        spanId: hexId(n + 1, 16),
        parentSpanId: position === 0 ? '' : hexId(trace * OPENLLMETRY_TRACE_SPANS + 1, 16),
        name: 'openai.chat',
        kind: 'client',
        startTimeUnixNano: start,
        endTimeUnixNano: start + 640_000_000n,
        resource: OPENLLMETRY_RESOURCE,
        scope: { name: 'opentelemetry.instrumentation.openai.v1', version: '0.33.9', attributes: {}, droppedAttributesCount: 0 },
        attributes: {
          'llm.request.type': 'chat',
          'gen_ai.system': 'OpenAI',
          'gen_ai.request.model': 'gpt-4o-mini',
          'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
          'gen_ai.request.temperature': 0.2,
          'gen_ai.prompt': freshText(n, 200),
          'gen_ai.usage.prompt_tokens': 318n,
          'gen_ai.usage.completion_tokens': 77n,
          'llm.usage.total_tokens': 395n,
        },
      }),
    );
  }
  return spans;
}

const STAGES = ['decode', 'stamp', 'redact', 'enrich', 'evaluate_rules'] as const;

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
    consume: async () => {
      enter[names.length] = leave[names.length] = process.hrtime.bigint();
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

async function runShape(build: (request: number) => Span[], spansWanted: number): Promise<ShapeResult> {
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
  let request = 0;
  let spans = 0;
  let cpuUs = 0;
  let threadUs = 0;
  for (let round = 0; round < rounds; round++) {
    const bodies: Uint8Array[] = [];
    for (let r = 0; r < REQUESTS_PER_ROUND; r++) bodies.push(encodeTraceRequestProto(build(request++)));
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

export async function main(spansWanted = Number(process.argv[2] ?? 300_000)): Promise<void> {
  const template = buildGenAiSpans();
  const lines = [
    `JS pipeline per span: decode → stamp → processors of pipelines.yaml's traces pipeline, ${SPANS_PER_REQUEST} spans/request, node ${process.version}, ${new Date().toISOString().slice(0, 10)}`,
    report('genai (bench payload, 10-span traces)', await runShape((r) => genAiRequest(template, r), spansWanted)),
    report(`openllmetry (${OPENLLMETRY_TRACE_SPANS}-span traces)`, await runShape(openLlmetryRequest, spansWanted)),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

if (require.main === module) void main();
