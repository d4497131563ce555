import { Writable } from 'node:stream';
import { createRootLogger } from '../../../core/logger';
import { makeSpan } from '../../../core/span';
import { Telemetry } from '../../../core/telemetry';
import { debugExporterConfigSchema } from '../../../exporters/debug/config';
import { DebugExporter } from '../../../exporters/debug/debug-exporter';

function exporterWithLog(verbosity: string): { exporter: DebugExporter; lines: Record<string, unknown>[]; telemetry: Telemetry } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().trim().split('\n')) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const telemetry = new Telemetry();
  const logger = createRootLogger({ level: 'info', destination }).child({ component: 'debug' });
  const exporter = new DebugExporter(debugExporterConfigSchema.parse({ verbosity }), { id: 'debug', logger, telemetry: telemetry.forExporter('debug') });
  return { exporter, lines, telemetry };
}

const span = makeSpan({
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  name: 'chat gpt-4o',
  kind: 'client',
  startTimeUnixNano: 1_000_000_000n,
  endTimeUnixNano: 1_250_000_000n,
  attributes: { 'gen_ai.usage.input_tokens': 9007199254740993n, 'gen_ai.request.model': 'gpt-4o' },
});

describe('debug exporter', () => {
  const signal = new AbortController().signal;

  it('basic logs one line per batch with counts, and counts the spans as sent', async () => {
    const { exporter, lines, telemetry } = exporterWithLog('basic');
    await exporter.consume([span, { ...span, spanId: 'b7ad6b7169203332' }], signal);
    expect(lines).toEqual([expect.objectContaining({ component: 'debug', msg: 'spans received', spans: 2, traces: 1 })]);
    expect(await telemetry.metricsText()).toMatch(/tracehouse_exporter_sent_spans_total\{exporter="debug"\} 2/);
  });

  it('normal adds one line per span with ids and duration', async () => {
    const { exporter, lines } = exporterWithLog('normal');
    await exporter.consume([span], signal);
    expect(lines[1]).toMatchObject({ msg: 'span', trace_id: span.traceId, span_id: span.spanId, kind: 'client', duration_ns: '250000000' });
  });

  it('detailed logs every field, ints beyond 2^53 exact', async () => {
    const { exporter, lines } = exporterWithLog('detailed');
    await exporter.consume([span], signal);
    expect(lines[1].span).toMatchObject({
      name: 'chat gpt-4o',
      start_time_unix_nano: '1000000000',
      attributes: { 'gen_ai.usage.input_tokens': '9007199254740993', 'gen_ai.request.model': 'gpt-4o' },
    });
  });
});
