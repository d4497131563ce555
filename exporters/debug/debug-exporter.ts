import type { ComponentSettings, Exporter } from '../../core/component';
import type { ExporterTelemetry } from '../../core/telemetry';
import type { Logger } from '../../core/logger';
import { attributeToJson } from '../../core/span';
import type { Attributes, Span, SpanBatch } from '../../core/span';
import type { DebugExporterConfig } from './config';

/** Logs spans through pino; "durable" here means the log line was written. */
export class DebugExporter implements Exporter {
  private readonly logger: Logger;
  private readonly telemetry: ExporterTelemetry;

  constructor(
    private readonly config: DebugExporterConfig,
    settings: ComponentSettings<ExporterTelemetry>,
  ) {
    this.logger = settings.logger;
    this.telemetry = settings.telemetry;
  }

  async start(): Promise<void> {}

  async shutdown(): Promise<void> {}

  async consume(batch: SpanBatch, _signal: AbortSignal): Promise<void> {
    const traces = new Set(batch.map((s) => s.traceId)).size;
    this.logger.info({ spans: batch.length, traces }, 'spans received');
    if (this.config.verbosity === 'normal') {
      for (const span of batch) {
        this.logger.info(
          {
            trace_id: span.traceId,
            span_id: span.spanId,
            name: span.name,
            kind: span.kind,
            status: span.status.code,
            duration_ns: (span.endTimeUnixNano - span.startTimeUnixNano).toString(),
          },
          'span',
        );
      }
    } else if (this.config.verbosity === 'detailed') {
      for (const span of batch) this.logger.info({ span: describeSpan(span) }, 'span');
    }
    this.telemetry.sent(batch.length);
  }
}

/** A JSON-safe rendering of every field of a span (bigints as decimal strings). */
export function describeSpan(span: Span): Record<string, unknown> {
  const attrs = (a: Attributes) => attributeToJson(a);
  return {
    trace_id: span.traceId,
    span_id: span.spanId,
    parent_span_id: span.parentSpanId,
    trace_state: span.traceState,
    flags: span.flags,
    name: span.name,
    kind: span.kind,
    start_time_unix_nano: span.startTimeUnixNano.toString(),
    end_time_unix_nano: span.endTimeUnixNano.toString(),
    status: span.status,
    attributes: attrs(span.attributes),
    events: span.events.map((e) => ({ time_unix_nano: e.timeUnixNano.toString(), name: e.name, attributes: attrs(e.attributes) })),
    links: span.links.map((l) => ({ trace_id: l.traceId, span_id: l.spanId, attributes: attrs(l.attributes) })),
    resource: attrs(span.resource.attributes),
    scope: { name: span.scope.name, version: span.scope.version },
  };
}
