import { z } from 'zod';
import type { SpanEvaluation } from '../evaluation';
import type { Logger } from '../logger';
import { outboundConfigShape } from '../outbound/config';
import { DeliveryQueue, type DeliveryOutcome } from '../outbound/delivery-queue';
import { OutboundError, postJson } from '../outbound/post-json';
import type { Span } from '../span';
import { decisionMatches, evaluationMatches, isCallbackEventFilter, type CallbackEventFilter } from './events';
import { evaluationCallback, type CallbackDelivery, type DecisionCallback } from './payload';

export const CALLBACK_URL = 'tracehouse.callback.url';
export const CALLBACK_EVENTS = 'tracehouse.callback.events';

export const callbacksConfigSchema = z
  .strictObject({
    /** POST evaluation results (and reviewers' decisions) to the callback URLs logs name; off ignores them. */
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

/** Counts what happened to callbacks (a component's telemetry). */
export interface CallbackCounter {
  event(event: string, count: number, kind?: string): void;
}

/** A log's callback target as stored: its URL and its callbackEvents ('' means all). */
export interface CallbackTarget {
  url: string;
  events: string;
}

/**
 * Reviewers' decisions posted to logs' callbacks; offered by the owner of the callback sender
 * (evaluate_rules) so that decisions go out signed and guarded exactly like evaluations.
 */
export interface DecisionCallbacks {
  /** Queues the decision when the log's callbackEvents asks for decisions; true when queued. */
  sendDecision(target: CallbackTarget, payload: DecisionCallback): boolean;
}

/**
 * Posts callbacks to the URLs logs name (tracehouse.callback.url), filtered by their
 * callbackEvents (tracehouse.callback.events, default all). Deliveries run in the background
 * through a bounded, retrying queue: sending returns at once and never throws, so a slow or dead
 * callback receiver cannot stall ingestion or a review. URLs come from clients, so the outbound
 * address policy (no private, loopback or link-local targets unless allowed) guards every call.
 */
export class CallbackSender implements DecisionCallbacks {
  private readonly queue: DeliveryQueue<CallbackDelivery> | undefined;

  constructor(
    private readonly config: CallbacksConfig,
    private readonly settings: { logger: Logger; telemetry: CallbackCounter },
  ) {
    if (!config.enabled) return;
    this.queue = new DeliveryQueue<CallbackDelivery>({
      name: 'callbacks',
      config,
      logger: settings.logger,
      send: (delivery, signal) => this.post(delivery, signal),
      onOutcome: (outcome: DeliveryOutcome) => this.settings.telemetry.event('callback', 1, outcome),
    });
  }

  /** Queues the callback `span` asks for, if any and if `evaluation` matches its filter. */
  send(span: Span, evaluation: SpanEvaluation): void {
    if (!this.queue) return;
    try {
      const url = span.attributes[CALLBACK_URL];
      if (typeof url !== 'string' || url === '') return;
      const filter = this.filterOf(span.attributes[CALLBACK_EVENTS]);
      if (filter === undefined || !evaluationMatches(filter, evaluation.verdict)) return;
      this.queue.enqueue({ url, payload: evaluationCallback(span, evaluation) });
    } catch (err) {
      // Building a payload cannot fail on well-formed spans; if it ever does, ingestion goes on.
      this.settings.telemetry.event('callback', 1, 'failed');
      this.settings.logger.error({ traceId: span.traceId, spanId: span.spanId, err: err instanceof Error ? err.message : String(err) }, 'callback not queued');
    }
  }

  sendDecision(target: CallbackTarget, payload: DecisionCallback): boolean {
    if (!this.queue || target.url === '') return false;
    const filter = this.filterOf(target.events);
    if (filter === undefined || !decisionMatches(filter)) return false;
    return this.queue.enqueue({ url: target.url, payload });
  }

  /** Sends what is queued and waits for what is in flight, for at most one attempt's timeout. */
  async shutdown(): Promise<void> {
    await this.queue?.shutdown(this.config.timeout_ms);
  }

  private filterOf(value: unknown): CallbackEventFilter | undefined {
    if (value === undefined || value === null || value === '') return 'all';
    if (isCallbackEventFilter(value)) return value;
    // Only the logs route validates the value; an OTLP client may send anything.
    this.settings.telemetry.event('callback', 1, 'invalid_events');
    return undefined;
  }

  private async post(delivery: CallbackDelivery, signal: AbortSignal): Promise<void> {
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
        this.settings.telemetry.event('callback', 1, err.code === 'OUT_ADDRESS_REFUSED' ? 'address_refused' : 'bad_url');
        this.settings.logger.warn({ logId: delivery.payload.id, traceId: delivery.payload.traceId, spanId: delivery.payload.spanId, code: err.code, err: err.message }, 'callback refused');
      }
      throw err;
    }
  }
}
