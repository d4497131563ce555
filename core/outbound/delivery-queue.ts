import { errorMessage } from '../errors';
import type { Logger } from '../logger';
import type { OutboundConfig } from './config';
import { OutboundError } from './outbound-error';

/**
 * delivered: the send succeeded. retried: an attempt failed and another is scheduled.
 * failed: given up (not retryable, attempts used up, or shutdown). dropped: never attempted,
 * because the queue was full or shutting down.
 */
export type DeliveryOutcome = 'delivered' | 'retried' | 'failed' | 'dropped';

export interface DeliveryQueueOptions<T> {
  /** Names the queue in logs, e.g. the component id. */
  name: string;
  config: OutboundConfig;
  /** One attempt; rejects to fail it (OutboundError.retryable decides, anything else is retried). */
  send: (item: T, signal: AbortSignal) => Promise<void>;
  logger: Logger;
  onOutcome?: (outcome: DeliveryOutcome, item: T) => void;
  /** Attempts in flight at once. */
  concurrency?: number;
}

interface Entry<T> {
  item: T;
  attempts: number;
}

const DEFAULT_CONCURRENCY = 8;
/** After shutdown's deadline aborts in-flight sends, how long to wait for them to notice. */
const ABORT_GRACE_MS = 1000;

/**
 * Delivers items in the background with bounded memory and concurrency, retrying failed attempts
 * with exponential backoff and jitter (or the receiver's Retry-After). `enqueue` never blocks and
 * nothing here throws into the caller: the pipeline must not stall because a receiver is down.
 */
export class DeliveryQueue<T> {
  private readonly ready: Entry<T>[] = [];
  private readonly retrying = new Map<Entry<T>, NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private readonly concurrency: number;
  private idleWaiters: (() => void)[] = [];
  private closed = false;

  constructor(private readonly options: DeliveryQueueOptions<T>) {
    this.concurrency = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY);
  }

  /** Items queued, in flight or waiting for a retry. */
  get pending(): number {
    return this.ready.length + this.inFlight.size + this.retrying.size;
  }

  /** Queues `item`; false (counted as 'dropped') when max_pending is reached or shutting down. */
  enqueue(item: T): boolean {
    if (this.closed || this.pending >= this.options.config.max_pending) {
      this.outcome('dropped', item);
      return false;
    }
    this.ready.push({ item, attempts: 0 });
    this.pump();
    return true;
  }

  /**
   * Stops intake and retries, sends what is queued and waits for what is in flight, for at most
   * `timeoutMs`; then aborts in-flight sends and drops what was never attempted.
   */
  async shutdown(timeoutMs: number): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      for (const [entry, timer] of this.retrying) {
        clearTimeout(timer);
        this.giveUp(entry, 'shutting down before the next retry');
      }
      this.retrying.clear();
    }
    const drained = await this.idleWithin(timeoutMs);
    if (drained) return;
    for (const entry of this.ready.splice(0)) this.outcome('dropped', entry.item);
    this.abort.abort();
    await this.idleWithin(ABORT_GRACE_MS);
  }

  private pump(): void {
    while (this.inFlight.size < this.concurrency && this.ready.length > 0) {
      this.attempt(this.ready.shift() as Entry<T>);
    }
    if (this.ready.length === 0 && this.inFlight.size === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  private attempt(entry: Entry<T>): void {
    entry.attempts++;
    const run = (async () => {
      try {
        await this.options.send(entry.item, this.abort.signal);
        this.outcome('delivered', entry.item);
      } catch (err) {
        this.attemptFailed(entry, err);
      }
    })();
    this.inFlight.add(run);
    void run.finally(() => {
      this.inFlight.delete(run);
      this.pump();
    });
  }

  private attemptFailed(entry: Entry<T>, err: unknown): void {
    const retryable = !(err instanceof OutboundError) || err.retryable;
    if (!retryable || entry.attempts >= this.options.config.max_attempts || this.closed) {
      const why = !retryable ? 'not retryable' : this.closed ? 'shutting down' : `${entry.attempts} attempts made`;
      this.giveUp(entry, why, err);
      return;
    }
    const delay = this.retryDelay(entry.attempts, err);
    this.options.logger.debug({ queue: this.options.name, attempts: entry.attempts, delayMs: Math.round(delay), ...errorFields(err) }, 'outbound delivery failed; retrying');
    this.outcome('retried', entry.item);
    const timer = setTimeout(() => {
      this.retrying.delete(entry);
      this.ready.push(entry);
      this.pump();
    }, delay);
    // A pending retry must not keep a process alive that has nothing else to do.
    timer.unref();
    this.retrying.set(entry, timer);
  }

  /** The receiver's Retry-After when it gave one (429/503), else capped exponential backoff with jitter. */
  private retryDelay(attempts: number, err: unknown): number {
    const { initial_backoff_ms: initial, max_backoff_ms: max } = this.options.config;
    if (err instanceof OutboundError && err.retryAfterMs !== undefined && (err.status === 429 || err.status === 503)) {
      return Math.min(err.retryAfterMs, max);
    }
    const base = Math.min(max, initial * 2 ** (attempts - 1));
    // "Equal jitter": at least half the backoff, so receivers recovering from an outage are not
    // hit by every sender at the same instant.
    return base / 2 + Math.random() * (base / 2);
  }

  private giveUp(entry: Entry<T>, why: string, err?: unknown): void {
    this.options.logger.warn(
      { queue: this.options.name, attempts: entry.attempts, reason: why, ...(err === undefined ? {} : errorFields(err)) },
      'outbound delivery failed; giving up',
    );
    this.outcome('failed', entry.item);
  }

  private outcome(outcome: DeliveryOutcome, item: T): void {
    try {
      this.options.onOutcome?.(outcome, item);
    } catch (err) {
      this.options.logger.error({ queue: this.options.name, err: errorMessage(err) }, 'outbound delivery outcome handler threw');
    }
  }

  /** Resolves true once nothing is queued or in flight, false after `ms` otherwise. */
  private idleWithin(ms: number): Promise<boolean> {
    if (this.ready.length === 0 && this.inFlight.size === 0) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}

/** What is safe to log about a failed attempt: code, status and the host-only message. */
function errorFields(err: unknown): Record<string, unknown> {
  if (err instanceof OutboundError) return { code: err.code, status: err.status, err: err.message };
  return { err: errorMessage(err) };
}
