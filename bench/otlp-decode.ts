/**
 * Micro-benchmark of the OTLP codec on one core: a 100-span request with gen_ai attributes is
 * encoded once, then decoded into the span model N times. Prints spans/s for protobuf (also the
 * bare generated decoder without conversion, to show where time goes) and for OTLP/JSON.
 *
 *   compile with tsc, then: node dist/bench/otlp-decode.js [iterations]
 */
import { decodeTraceRequestJson, decodeTraceRequestProto } from '../core/otlp/decode';
import { encodeTraceRequestJson, encodeTraceRequestProto } from '../core/otlp/encode';
import { ExportTraceServiceRequest } from '../core/otlp/pb';
import { createOtlpReader } from '../core/otlp/proto-reader';
import { buildGenAiSpans, SPANS_PER_REQUEST } from './gen-ai-spans';


function measure(label: string, iterations: number, decode: () => number): string {
  // Warm-up lets the JIT settle before timing.
  for (let i = 0; i < Math.min(2000, iterations); i++) decode();
  const started = process.hrtime.bigint();
  let spans = 0;
  for (let i = 0; i < iterations; i++) spans += decode();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return `${label}: ${Math.round(spans / seconds).toLocaleString('en-US')} spans/s (${(seconds * 1e6 / iterations).toFixed(1)} µs/request)`;
}

export function main(iterations = Number(process.argv[2] ?? 20000)): void {
  const spans = buildGenAiSpans();
  const proto = encodeTraceRequestProto(spans);
  const json = encodeTraceRequestJson(spans);
  const lines = [
    `OTLP decode, ${SPANS_PER_REQUEST} gen_ai spans/request (protobuf ${proto.length} B, JSON ${json.length} B), ${iterations} iterations`,
    measure('protobuf -> span model', iterations, () => decodeTraceRequestProto(proto).spans.length),
    measure('protobuf, generated decoder only', iterations, () => {
      const req = ExportTraceServiceRequest.decode(createOtlpReader(proto));
      return req.resourceSpans[0].scopeSpans![0].spans!.length;
    }),
    measure('OTLP/JSON -> span model', Math.ceil(iterations / 2), () => decodeTraceRequestJson(json).spans.length),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

if (require.main === module) main();
