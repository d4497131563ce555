import { z } from 'zod';
import type { SpanEvaluation } from '../../core/evaluation';
import type { Logger } from '../../core/logger';
import { outboundConfigShape } from '../../core/outbound/config';
import { DeliveryQueue, type DeliveryOutcome } from '../../core/outbound/delivery-queue';
import { OutboundError, postJson } from '../../core/outbound/post-json';
import type { Span } from '../../core/span';
import type { ProcessorTelemetry } from '../../core/telemetry';
import { evaluationMatches, isCallbackEventFilter, type CallbackEventFilter } from './callbacks-events';
import { evaluationCallback, type EvaluationCallback } from './callbacks-payload';

export const CALLBACK_URL = 'tracehouse.callback.url';
export const CALLBACK_EVENTS = 'tracehouse.callback.events';

export const callbacksConfigSchema = z
  .strictObject({
    /** POST evaluation results to the callback URLs logs name; off ignores them. */
    enabled: z.boolean().default(true),
    /**
     * Signs every callback (X-Tracehouse-Timestamp, X-Tracehouse-Signature: v1=<hex HMAC-SHA256 of
     * "<timestamp>.<body>">), usually given as ${env:...}. Unsigned when not set.
     */
    signing_secret: z.string().min(1).optional(),
    ...outboundConfigShape,
  })
  .refine((c) => c.max_backoff_ms >= c.initial_backoff_ms, {
    message: 'max_backoff_ms must be at least initial_backoff_ms',
    path: ['max_backoff_ms'],
  })
  .prefault({});

export type CallbacksConfig = z.output<typeof callbacksConfigSchema>;

interface Delivery {
  url: string;
  payload: EvaluationCallback;
}

/**
 * Posts each log's evaluation result to its callbackUrl (tracehouse.callback.url), filtered by its
 * callbackEvents (tracehouse.callback.events, default all). Deliveries run in the background
 * through a bounded, retrying queue: `send` returns at once and never throws, so a slow or dead
 * callback receiver cannot stall ingestion. URLs come from clients, so the outbound address policy
 * (no private, loopback or link-local targets unless allowed) guards every call.
 */
export class CallbackSender {
  private readonly queue: DeliveryQueue<Delivery> | undefined;
  private readonly logger: Logger;
  private readonly telemetry: ProcessorTelemetry;

  constructor(
    private readonly config: CallbacksConfig,
    settings: { logger: Logger; telemetry: ProcessorTelemetry },
  ) {
    this.logger = settings.logger;
    this.telemetry = settings.telemetry;
    if (!config.enabled) return;
    this.queue = new DeliveryQueue<Delivery>({
      name: 'callbacks',
      config,
      logger: settings.logger,
      send: (delivery, signal) => this.post(delivery, signal),
      onOutcome: (outcome: DeliveryOutcome) => this.telemetry.event('callback', 1, outcome),
    });
  }

  /** Queues the callback `span` asks for, if any and if `evaluation` matches its filter. */
  send(span: Span, evaluation: SpanEvaluation): void {
    if (!this.queue) return;
    try {
      const url = span.attributes[CALLBACK_URL];
      if (typeof url !== 'string' || url === '') return;
      const filter = this.filterOf(span);
      if (filter === undefined || !evaluationMatches(filter, evaluation.verdict)) return;
      this.queue.enqueue({ url, payload: evaluationCallback(span, evaluation) });
    } catch (err) {
      // Building a payload cannot fail on well-formed spans; if it ever does, ingestion goes on.
      this.telemetry.event('callback', 1, 'failed');
      this.logger.error({ traceId: span.traceId, spanId: span.spanId, err: err instanceof Error ? err.message : String(err) }, 'callback not queued');
    }
  }

  /** Sends what is queued and waits for what is in flight, for at most one attempt's timeout. */
  async shutdown(): Promise<void> {
    await this.queue?.shutdown(this.config.timeout_ms);
  }

  private filterOf(span: Span): CallbackEventFilter | undefined {
    const value = span.attributes[CALLBACK_EVENTS];
    if (value === undefined || value === null || value === '') return 'all';
    if (isCallbackEventFilter(value)) return value;
    // Only the logs route validates the value; an OTLP client may send anything.
    this.telemetry.event('callback', 1, 'invalid_events');
    return undefined;
  }

  private async post(delivery: Delivery, signal: AbortSignal): Promise<void> {
    try {
      await postJson(delivery.url, delivery.payload, {
        signingSecret: this.config.signing_secret,
        allowPrivateAddresses: this.config.allow_private_addresses,
        timeoutMs: this.config.timeout_ms,
        signal,
      });
    } catch (err) {
      if (err instanceof OutboundError && (err.code === 'OUT_ADDRESS_REFUSED' || err.code === 'OUT_BAD_URL')) {
        // Logged here with the log it belongs to (never the URL, whose path may hold a token);
        // the queue counts it as failed without retrying.
        this.telemetry.event('callback', 1, err.code === 'OUT_ADDRESS_REFUSED' ? 'address_refused' : 'bad_url');
        this.logger.warn({ logId: delivery.payload.id, traceId: delivery.payload.traceId, spanId: delivery.payload.spanId, code: err.code, err: err.message }, 'callback refused');
      }
      throw err;
    }
  }
}
