import type { Authenticator } from '../auth';
import { handOn, type SpanConsumer } from '../component';
import { classifyDeliveryError } from '../delivery-error';
import type { DeliveryFailure } from '../delivery-error';
import type { InflightLimiter } from '../inflight-limiter';
import { stampSpans } from '../ingest/attributes';
import type { Logger } from '../logger';
import type { Attributes } from '../span';
import { DEFAULT_WORKSPACE } from '../workspaces';
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
  /** The receiver's id, stamped as tracehouse.source on every span. */
  sourceId?: string;
  /** tracehouse.workspace of spans whose request names no workspace (no key, or a plain API key). */
  defaultWorkspace?: string;
}

/** What a transport stamps on the spans of one request: the workspace of its key, the receiver. */
export function stampFor(transport: Pick<OtlpTransportContext, 'sourceId' | 'defaultWorkspace'>, workspace: string | undefined): Attributes {
  const stamp: Attributes = { 'tracehouse.workspace': workspace ?? transport.defaultWorkspace ?? DEFAULT_WORKSPACE };
  if (transport.sourceId !== undefined) stamp['tracehouse.source'] = transport.sourceId;
  return stamp;
}

export type ExportOutcome = { ok: true; partial: PartialSuccess | undefined } | { ok: false; failure: DeliveryFailure };

/**
 * What both transports do with a decoded Export request: deliver, count, and say how it went.
 * Not async itself: the spans are handed on here and only a count waits for the pipeline, so they
 * are garbage as soon as the exporter has encoded them (an async function keeps its arguments and
 * locals alive across every await).
 */
export function deliverExport(
  decoded: DecodedTraces,
  context: {
    next: SpanConsumer;
    telemetry: ReceiverTelemetry;
    logger: Logger;
    signal: AbortSignal;
    /** Attributes stamped on every span (stampFor: the workspace, the receiver). */
    stamp: Attributes;
  },
): Promise<ExportOutcome> {
  const { rejected, rejectReasons } = decoded;
  // Every attribute of an OTLP request is the client's: its tracehouse.* ones are moved aside.
  const { spans, renamed } = stampSpans(decoded.spans, context.stamp, 'client');
  if (renamed > 0) context.logger.debug({ renamed }, 'client-set tracehouse.* attributes kept as client.tracehouse.*');
  if (rejected > 0) context.telemetry.refused(rejected, 'invalid_span');
  const partial = rejected > 0 ? { rejectedSpans: rejected, errorMessage: rejectReasons.join('; ') } : undefined;
  if (spans.length === 0) return Promise.resolve({ ok: true, partial });
  return settleExport(handOn(context.next, spans, context.signal), spans.length, partial, context);
}

async function settleExport(
  pending: Promise<unknown>,
  count: number,
  partial: PartialSuccess | undefined,
  context: { telemetry: ReceiverTelemetry; logger: Logger },
): Promise<ExportOutcome> {
  try {
    await pending;
  } catch (err) {
    const failure = classifyDeliveryError(err);
    context.telemetry.refused(count, failure.reason);
    if (failure.status === 503) {
      context.logger.warn({ err: failure.message, spans: count }, 'downstream failed; asked the client to retry');
    }
    return { ok: false, failure };
  }
  context.telemetry.accepted(count);
  return { ok: true, partial };
}
