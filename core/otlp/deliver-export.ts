import type { Authenticator } from '../auth';
import type { SpanConsumer } from '../component';
import { classifyDeliveryError } from '../delivery-error';
import type { DeliveryFailure } from '../delivery-error';
import type { InflightLimiter } from '../inflight-limiter';
import type { Logger } from '../logger';
import { withSpanAttributes } from '../span';
import type { ReceiverTelemetry } from '../telemetry';
import type { DecodedTraces } from './decode';
import type { PartialSuccess } from './encode';

/** What both transports share from the receiver: one auth, one in-flight bound, one pipeline. */
export interface OtlpTransportContext {
  auth: Authenticator;
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
  context: {
    next: SpanConsumer;
    telemetry: ReceiverTelemetry;
    logger: Logger;
    signal: AbortSignal;
    /** The authenticated workspace, stamped on every span as tracehouse.workspace. */
    workspace?: string;
  },
): Promise<ExportOutcome> {
  const { rejected, rejectReasons } = decoded;
  const spans = context.workspace === undefined ? decoded.spans : withSpanAttributes(decoded.spans, { 'tracehouse.workspace': context.workspace });
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
