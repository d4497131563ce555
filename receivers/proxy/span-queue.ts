import type { SpanConsumer } from '../../core/component';
import { errorMessage, isPermanent } from '../../core/errors';
import type { Logger } from '../../core/logger';
import type { Span } from '../../core/span';
import type { ReceiverTelemetry } from '../../core/telemetry';

export interface SpanQueueOptions {
  maxSpans: number;
  retryMaxElapsedMs: number;
  /**
   * How long the first queued call waits for others before its batch goes (0: at once). Nobody
   * waits on this acknowledgement, so lingering costs only freshness, while every batch saves the
   * storage a fixed cost per insert.
   */
  lingerMs: number;
  initialRetryMs?: number;
  maxRetryMs?: number;
}

/** Spans handed to the pipeline at once: about what one ClickHouse insert takes comfortably. */
const MAX_BATCH_SPANS = 2_000;

interface Entry {
  spans: Span[];
  queuedAt: number;
  firstTriedAt?: number;
}

/**
 * The gateway's spans on their way into the pipeline, after the answer ended: bounded, delivered
 * in batches of the calls queued within lingerMs (or until a batch is full), one batch at a time, with retries (backoff, up to retryMaxElapsedMs), and never silently lost:
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
  /** Set by drain: what is queued goes without lingering. */
  private flushing = false;

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
    this.entries.push({ spans, queuedAt: Date.now() });
    this.queued += spans.length;
    if (this.queued >= MAX_BATCH_SPANS) this.interruptSleep();
    this.running ??= this.run().finally(() => {
      this.running = undefined;
      if (this.entries.length > 0 && !this.controller.signal.aborted) this.push([]);
    });
  }

  private async run(): Promise<void> {
    let delay = this.options.initialRetryMs ?? 200;
    while (this.entries.length > 0) {
      // The calls queued within the linger go in as one batch: one pipeline pass and one insert
      // share them, so the queue keeps up with the gateway instead of paying an insert per call.
      const wait = this.entries[0].queuedAt + this.options.lingerMs - Date.now();
      if (wait > 0 && !this.flushing && this.queued < MAX_BATCH_SPANS) await this.sleep(wait);
      const batch = this.takeBatch();
      if (batch.spans.length === 0) continue;
      try {
        await this.next.consume(batch.spans, this.controller.signal);
        this.telemetry.accepted(batch.spans.length);
        this.done(batch.entries);
        delay = this.options.initialRetryMs ?? 200;
      } catch (err) {
        const expired = Date.now() - (batch.entries[0].firstTriedAt ?? Date.now()) >= this.options.retryMaxElapsedMs;
        if (isPermanent(err) || expired || this.controller.signal.aborted) {
          this.telemetry.refused(batch.spans.length, 'undeliverable');
          this.logger.error({ err: errorMessage(err), spans: batch.spans.length }, 'proxy spans could not be delivered to the pipeline and are dropped');
          this.done(batch.entries);
          continue;
        }
        await this.sleep(delay);
        delay = Math.min(delay * 2, this.options.maxRetryMs ?? 5_000);
      }
    }
  }

  /** The entries at the head of the queue, up to MAX_BATCH_SPANS spans (at least one entry). */
  private takeBatch(): { entries: Entry[]; spans: Span[] } {
    const entries: Entry[] = [];
    const spans: Span[] = [];
    const now = Date.now();
    for (const entry of this.entries) {
      if (entries.length > 0 && spans.length + entry.spans.length > MAX_BATCH_SPANS) break;
      entry.firstTriedAt ??= now;
      entries.push(entry);
      for (const span of entry.spans) spans.push(span);
    }
    if (spans.length === 0) this.done(entries);
    return { entries, spans };
  }

  private done(entries: Entry[]): void {
    this.entries.splice(0, entries.length);
    for (const entry of entries) this.queued -= entry.spans.length;
  }

  /** A sleep that interruptSleep ends early (a full batch, a drain). */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.retryTimer = setTimeout(resolve, ms);
    });
  }

  private interruptSleep(): void {
    clearTimeout(this.retryTimer);
    this.wake?.();
  }

  /** Delivers what is queued, within `timeoutMs`; what is left then is counted and logged as lost. */
  async drain(timeoutMs: number): Promise<void> {
    this.flushing = true;
    if (this.running) {
      this.interruptSleep();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
      const outcome = await Promise.race([this.running.then(() => 'drained' as const), timedOut]);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        this.controller.abort();
        this.interruptSleep();
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
