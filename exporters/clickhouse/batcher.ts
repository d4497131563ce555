/**
 * Collects spans from many consume calls into inserts bounded by size and time, and keeps
 * the bounded queue that back-pressure is based on. It knows nothing about ClickHouse: `write`
 * receives the chunks of one insert and settles each of them.
 */

/**
 * Callers often share one signal across many concurrent calls (a connection's, or the service's
 * shutdown signal): one listener per signal, not per call, keeps that cheap and warning-free.
 */
const watched = new WeakMap<AbortSignal, Map<Waiter, () => unknown>>();

/** The promise of one consume call, settled when all of its chunks are written. */
export class Waiter {
  private remaining: number;
  private settled = false;
  private detach: (() => void) | undefined;

  constructor(
    parts: number,
    private readonly resolveFn: () => void,
    private readonly rejectFn: (err: unknown) => void,
  ) {
    this.remaining = parts;
  }

  /** Rejects early when the caller gives up; the chunks stay queued and are still written. */
  watch(signal: AbortSignal, reason: () => unknown): void {
    let waiters = watched.get(signal);
    if (!waiters) {
      const set = new Map<Waiter, () => unknown>();
      waiters = set;
      watched.set(signal, set);
      signal.addEventListener(
        'abort',
        () => {
          watched.delete(signal);
          for (const [waiter, why] of [...set]) waiter.fail(why());
        },
        { once: true },
      );
    }
    const own = waiters;
    own.set(this, reason);
    this.detach = () => own.delete(this);
  }

  partWritten(): void {
    this.remaining -= 1;
    if (this.remaining === 0) this.settle(() => this.resolveFn());
  }

  fail(err: unknown): void {
    this.settle(() => this.rejectFn(err));
  }

  private settle(action: () => void): void {
    if (this.settled) return;
    this.settled = true;
    this.detach?.();
    action();
  }
}

export interface Chunk<Rows> {
  /** The call's rows, in whatever form the writer joins into one insert. */
  rows: Rows;
  spans: number;
  /** The partitions (days) its rows fall into; an insert holds at most maxPartitions of them. */
  partitions: readonly number[];
  waiter: Waiter;
}

interface Queued<Rows> extends Chunk<Rows> {
  arrivedAt: number;
}

export interface BatcherOptions<Rows> {
  maxSpans: number;
  /** Most distinct partitions in one insert; a chunk alone never has more. */
  maxPartitions: number;
  timeoutMs: number;
  /** Spans held (waiting or being written) before hasRoom says no. */
  capacity: number;
  maxInFlight: number;
  /** Writes one insert and settles every chunk's waiter; a rejection fails the chunks. */
  write(chunks: Chunk<Rows>[]): Promise<void>;
  onQueueChange(held: number, capacity: number): void;
}

/** No call for this long (ms) means the wave of requests after an insert has arrived. */
export const QUIET_MS = 3;
/** A timer this much later than asked means the event loop was busy in between. */
const LATE_MS = 2;

export class Batcher<Rows> {
  private readonly waiting: Queued<Rows>[] = [];
  private waitingSpans = 0;
  /** Waiting chunks per partition: more partitions than one insert takes is a full insert too. */
  private readonly waitingPartitions = new Map<number, number>();
  private held = 0;
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private lastAddAt = 0;
  private peak = 0;
  private peakSince = 0;
  private flushing = false;
  private drained: Array<() => void> = [];

  constructor(private readonly options: BatcherOptions<Rows>) {}

  get heldSpans(): number {
    return this.held;
  }

  /** An empty queue takes any call, so one call larger than the capacity is not refused forever. */
  hasRoom(spans: number): boolean {
    return this.held === 0 || this.held + spans <= this.options.capacity;
  }

  add(chunks: readonly Chunk<Rows>[]): void {
    const now = performance.now();
    this.lastAddAt = now;
    for (const chunk of chunks) {
      this.waiting.push({ ...chunk, arrivedAt: now });
      this.waitingSpans += chunk.spans;
      for (const p of chunk.partitions) this.waitingPartitions.set(p, (this.waitingPartitions.get(p) ?? 0) + 1);
      this.held += chunk.spans;
    }
    this.notePeak(now);
    this.options.onQueueChange(this.held, this.options.capacity);
    this.pump();
  }

  /** Writes everything held without waiting for timers; resolves when nothing is held. */
  drain(): Promise<void> {
    this.flushing = true;
    this.pump();
    if (this.held === 0) return Promise.resolve();
    return new Promise((resolve) => this.drained.push(resolve));
  }

  /**
   * Group commit. Acknowledging after the insert means clients wait for it, so a fixed linger
   * would cap a closed-loop client at (its concurrency / linger) while the engine sits idle; and
   * writing whatever is waiting the moment an insert ends would cut the next wave of requests (the
   * clients just answered) into many small inserts, each paying the engine's fixed cost and its
   * merges. So a batch is due:
   * - when it is full (max_spans, or more days than one insert takes), or its oldest span has
   *   waited timeout_ms: then also as a second insert beside a running one;
   * - when no insert runs, once the wave has arrived: half of what was recently held at the peak
   *   is waiting (the peak halves every second, so it follows the load down), or no call came for
   *   QUIET_MS. A lone call on an idle exporter is therefore written at once.
   */
  private due(now: number): boolean {
    if (this.waiting.length === 0) return false;
    if (this.flushing || this.waitingSpans >= this.options.maxSpans) return true;
    if (this.waitingPartitions.size > this.options.maxPartitions) return true;
    if (now >= this.waiting[0].arrivedAt + this.options.timeoutMs) return true;
    if (this.inFlight > 0) return false;
    return this.waitingSpans >= this.peakAt(now) / 2 || now >= this.lastAddAt + QUIET_MS;
  }

  /** The recent peak of held spans, decayed by half per second since it was reached. */
  private peakAt(now: number): number {
    return this.peak * 0.5 ** ((now - this.peakSince) / 1000);
  }

  private notePeak(now: number): void {
    const decayed = this.peakAt(now);
    if (this.held >= decayed) {
      this.peak = this.held;
      this.peakSince = now;
    }
  }

  private pump(): void {
    let now = performance.now();
    while (this.inFlight < this.options.maxInFlight && this.due(now)) {
      this.dispatch(this.take());
      now = performance.now();
    }
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.waiting.length === 0 || this.inFlight >= this.options.maxInFlight) return;
    let at = this.waiting[0].arrivedAt + this.options.timeoutMs;
    if (this.inFlight === 0) at = Math.min(at, this.lastAddAt + QUIET_MS);
    // +1: a timer never fires early, but rounds; being due a moment late costs nothing.
    const delay = Math.max(0, Math.ceil(at - now)) + 1;
    const firesAt = now + delay;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // Fired late: the event loop was busy (encoding a batch, GC), so calls may be waiting in
      // socket buffers; that was not quiet. Look again once the loop had QUIET_MS to read them.
      const fired = performance.now();
      if (fired - firesAt > LATE_MS) this.lastAddAt = fired;
      this.pump();
    }, delay);
  }

  private take(): Chunk<Rows>[] {
    const batch: Chunk<Rows>[] = [];
    const partitions = new Set<number>();
    let spans = 0;
    while (this.waiting.length > 0) {
      const next = this.waiting[0];
      if (batch.length > 0) {
        if (spans + next.spans > this.options.maxSpans) break;
        let added = 0;
        for (const p of next.partitions) if (!partitions.has(p)) added++;
        if (partitions.size + added > this.options.maxPartitions) break;
      }
      this.waiting.shift();
      batch.push(next);
      spans += next.spans;
      for (const p of next.partitions) {
        partitions.add(p);
        const left = (this.waitingPartitions.get(p) ?? 1) - 1;
        if (left > 0) this.waitingPartitions.set(p, left);
        else this.waitingPartitions.delete(p);
      }
    }
    this.waitingSpans -= spans;
    return batch;
  }

  private dispatch(batch: Chunk<Rows>[]): void {
    this.inFlight += 1;
    const spans = batch.reduce((sum, chunk) => sum + chunk.spans, 0);
    this.options
      .write(batch)
      .catch((err: unknown) => {
        for (const chunk of batch) chunk.waiter.fail(err);
      })
      .finally(() => {
        this.inFlight -= 1;
        this.held -= spans;
        this.options.onQueueChange(this.held, this.options.capacity);
        this.pump();
        if (this.held === 0) for (const resolve of this.drained.splice(0)) resolve();
      });
  }
}
