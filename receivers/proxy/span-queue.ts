import type { SpanConsumer } from '../../core/component';
import { errorMessage, isPermanent } from '../../core/errors';
import type { Logger } from '../../core/logger';
import type { Span } from '../../core/span';
import type { ReceiverTelemetry } from '../../core/telemetry';

export interface SpanQueueOptions {
  maxSpans: number;
  retryMaxElapsedMs: number;
  initialRetryMs?: number;
  maxRetryMs?: number;
}

interface Entry {
  spans: Span[];
  firstTriedAt?: number;
}

/**
 * The gateway's spans on their way into the pipeline, after the answer ended: bounded, delivered
 * one batch at a time with retries (backoff, up to retryMaxElapsedMs), and never silently lost:
 * spans that do not fit or cannot be delivered are counted (tracehouse_receiver_refused_spans_total
 * with reason span_queue_full or undeliverable) and logged.
 */
export class SpanQueue {
  private readonly entries: Entry[] = [];
  private queued = 0;
  private running: Promise<void> | undefined;
  private readonly controller = new AbortController();
  private retryTimer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly next: SpanConsumer,
    private readonly options: SpanQueueOptions,
    private readonly telemetry: ReceiverTelemetry,
    private readonly logger: Logger,
  ) {}

  get size(): number {
    return this.queued;
  }

  push(spans: Span[]): void {
    if (this.queued + spans.length > this.options.maxSpans) {
      this.telemetry.refused(spans.length, 'span_queue_full');
      this.logger.warn({ spans: spans.length, queued: this.queued }, 'proxy span queue is full: spans of a call are dropped');
      return;
    }
    this.entries.push({ spans });
    this.queued += spans.length;
    this.running ??= this.run().finally(() => {
      this.running = undefined;
      if (this.entries.length > 0 && !this.controller.signal.aborted) this.push([]);
    });
  }

  private async run(): Promise<void> {
    let delay = this.options.initialRetryMs ?? 200;
    while (this.entries.length > 0) {
      const entry = this.entries[0];
      if (entry.spans.length === 0) {
        this.entries.shift();
        continue;
      }
      entry.firstTriedAt ??= Date.now();
      try {
        await this.next.consume(entry.spans, this.controller.signal);
        this.telemetry.accepted(entry.spans.length);
        this.done(entry);
        delay = this.options.initialRetryMs ?? 200;
      } catch (err) {
        const expired = Date.now() - entry.firstTriedAt >= this.options.retryMaxElapsedMs;
        if (isPermanent(err) || expired || this.controller.signal.aborted) {
          this.telemetry.refused(entry.spans.length, 'undeliverable');
          this.logger.error({ err: errorMessage(err), spans: entry.spans.length }, 'proxy spans could not be delivered to the pipeline and are dropped');
          this.done(entry);
          continue;
        }
        await this.sleep(delay);
        delay = Math.min(delay * 2, this.options.maxRetryMs ?? 5_000);
      }
    }
  }

  private done(entry: Entry): void {
    this.entries.shift();
    this.queued -= entry.spans.length;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.retryTimer = setTimeout(resolve, ms);
    });
  }

  /** Delivers what is queued, within `timeoutMs`; what is left then is counted and logged as lost. */
  async drain(timeoutMs: number): Promise<void> {
    if (this.running) {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
      const outcome = await Promise.race([this.running.then(() => 'drained' as const), timedOut]);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        this.controller.abort();
        clearTimeout(this.retryTimer);
        this.wake?.();
        await this.running?.catch(() => undefined);
      }
    }
    if (this.queued > 0) {
      this.telemetry.refused(this.queued, 'undeliverable');
      this.logger.error({ spans: this.queued }, 'proxy spans still queued at shutdown are dropped');
      this.entries.length = 0;
      this.queued = 0;
    }
  }
}
