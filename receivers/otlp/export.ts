import type { ApiKeyAuth } from '../../core/auth';
import type { SpanConsumer } from '../../core/component';
import type { InflightLimiter } from '../../core/inflight-limiter';
import { classifyDeliveryError } from '../../core/delivery-error';
import type { DeliveryFailure } from '../../core/delivery-error';
import type { Logger } from '../../core/logger';
import type { DecodedTraces } from '../../core/otlp/decode';
import type { PartialSuccess } from '../../core/otlp/encode';
import type { ReceiverTelemetry } from '../../core/telemetry';

/** What both transports share from the receiver: one auth, one in-flight bound, one pipeline. */
export interface OtlpTransportContext {
  auth: ApiKeyAuth;
  limiter: InflightLimiter;
  next: SpanConsumer;
  telemetry: ReceiverTelemetry;
  logger: Logger;
  /** False once the receiver is shutting down: new requests are refused retryably. */
  accepting: () => boolean;
}

export type ExportOutcome = { ok: true; partial: PartialSuccess | undefined } | { ok: false; failure: DeliveryFailure };

/** What both transports do with a decoded Export request: deliver, count, and say how it went. */
export async function deliverExport(
  decoded: DecodedTraces,
  context: { next: SpanConsumer; telemetry: ReceiverTelemetry; logger: Logger; signal: AbortSignal },
): Promise<ExportOutcome> {
  const { spans, rejected, rejectReasons } = decoded;
  const { telemetry } = context;
  if (rejected > 0) telemetry.refused(rejected, 'invalid_span');
  if (spans.length > 0) {
    try {
      await context.next.consume(spans, context.signal);
    } catch (err) {
      const failure = classifyDeliveryError(err);
      telemetry.refused(spans.length, failure.reason);
      if (failure.status === 503) {
        context.logger.warn({ err: failure.message, spans: spans.length }, 'downstream failed; asked the client to retry');
      }
      return { ok: false, failure };
    }
    telemetry.accepted(spans.length);
  }
  const partial = rejected > 0 ? { rejectedSpans: rejected, errorMessage: rejectReasons.join('; ') } : undefined;
  return { ok: true, partial };
}
