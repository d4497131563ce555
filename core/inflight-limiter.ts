/**
 * A bound on the request bytes a receiver holds at once (bodies being read, decoded and delivered).
 * Reservations are refused immediately when they would exceed the bound, so overload turns into
 * 429/RESOURCE_EXHAUSTED answers instead of memory growth.
 */
export class InflightLimiter {
  private used = 0;

  constructor(readonly maxBytes: number) {}

  get inUse(): number {
    return this.used;
  }

  /**
   * Reserves `bytes` and returns the function that gives them back (idempotent), or undefined when
   * the bound would be exceeded. When nothing is held, any single request is admitted, so a request
   * larger than the bound (but within the body limit) is not refused forever.
   */
  tryReserve(bytes: number): (() => void) | undefined {
    if (this.used > 0 && this.used + bytes > this.maxBytes) return undefined;
    this.used += bytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used -= bytes;
    };
  }
}
