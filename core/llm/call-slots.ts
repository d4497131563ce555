/**
 * A bound on concurrent provider calls: at most `maxActive` run at once and at most `maxWaiting`
 * wait for a slot; beyond that a caller is refused at once rather than queued without limit.
 * A waiter whose signal aborts leaves the queue.
 */
export class CallSlotsFullError extends Error {
  constructor(readonly maxWaiting: number) {
    super(`too many calls waiting (${maxWaiting})`);
  }
}

export class CallSlots {
  private active = 0;
  private readonly waiting: { grant: () => void; cancel: () => void }[] = [];

  constructor(
    readonly maxActive: number,
    readonly maxWaiting: number,
  ) {}

  get inUse(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /**
   * Resolves with the release function (idempotent) once a slot is free; rejects with
   * CallSlotsFullError when the queue is full, or with the signal's reason when it aborts first.
   */
  acquire(signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.active < this.maxActive) {
      this.active++;
      return Promise.resolve(this.releaser());
    }
    if (this.waiting.length >= this.maxWaiting) return Promise.reject(new CallSlotsFullError(this.maxWaiting));
    return new Promise((resolve, reject) => {
      const entry = {
        grant: () => {
          signal.removeEventListener('abort', onAbort);
          this.active++;
          resolve(this.releaser());
        },
        cancel: () => reject(signal.reason),
      };
      const onAbort = () => {
        const at = this.waiting.indexOf(entry);
        if (at >= 0) this.waiting.splice(at, 1);
        entry.cancel();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(entry);
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      this.waiting.shift()?.grant();
    };
  }
}
