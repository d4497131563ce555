/**
 * Bodies up to this size may always take a share of the bound while they arrive, even when slow
 * bodies hold `maxReceivingBytes`: an ordinary small request is never refused because of them.
 */
export const SMALL_BODY_BYTES = 64 * 1024;

/**
 * A bound on the request bytes a receiver holds at once (bodies being read, decoded and delivered).
 * Reservations are refused immediately when they would exceed the bound, so overload turns into
 * 429/RESOURCE_EXHAUSTED answers instead of memory growth.
 *
 * Bodies are reserved as their bytes arrive, never for bytes a client only announced, and bodies
 * still arriving may hold at most `maxReceivingBytes` (default three quarters of the bound) beyond
 * their first SMALL_BODY_BYTES each: clients that send most of a body and then stall cannot take
 * the whole bound, so complete requests keep getting through until the stalled ones time out.
 */
export class InflightLimiter {
  private used = 0;
  private receivingBytes = 0;
  readonly maxReceivingBytes: number;

  constructor(
    readonly maxBytes: number,
    maxReceivingBytes?: number,
  ) {
    this.maxReceivingBytes = Math.min(maxReceivingBytes ?? Math.floor((maxBytes * 3) / 4), maxBytes);
  }

  get inUse(): number {
    return this.used;
  }

  /** Bytes of bodies still arriving. */
  get receiving(): number {
    return this.receivingBytes;
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

  /**
   * Admits a request body of `declared` bytes (0 when unknown) if it could fit now, without
   * reserving anything yet: the returned reservation grows as the bytes arrive. Undefined when the
   * body cannot fit, so the request is refused before anything is read.
   */
  admitBody(declared: number): BodyReservation | undefined {
    if (this.used > 0 && this.used + declared > this.maxBytes) return undefined;
    if (declared > SMALL_BODY_BYTES && this.receivingBytes > 0 && this.receivingBytes + declared > this.maxReceivingBytes) return undefined;
    return new LimiterBodyReservation(this);
  }

  /** @internal used by reservations */
  growBy(held: number, receivingHeld: number, bytes: number, complete: boolean): boolean {
    const othersHold = this.used - held > 0;
    if (othersHold && this.used + bytes > this.maxBytes) return false;
    if (!complete) {
      const othersReceive = this.receivingBytes - receivingHeld > 0;
      if (othersReceive && held + bytes > SMALL_BODY_BYTES && this.receivingBytes + bytes > this.maxReceivingBytes) return false;
      this.receivingBytes += bytes;
    }
    this.used += bytes;
    return true;
  }

  /** @internal used by reservations */
  settle(usedBytes: number, receivingBytes: number): void {
    this.used -= usedBytes;
    this.receivingBytes -= receivingBytes;
  }
}

/** The bytes one request body holds in its receiver's bound. */
export interface BodyReservation {
  /** Bytes held. */
  readonly bytes: number;
  /**
   * Takes `bytes` more, as they arrive; `complete` says the body ends with them. False when the
   * bound (or the share of bodies still arriving) is reached: the request must be refused.
   */
  grow(bytes: number, complete: boolean): boolean;
  /** The body has arrived: its bytes no longer count as still arriving. */
  complete(): void;
  /** Gives everything back (idempotent). */
  release(): void;
}

class LimiterBodyReservation implements BodyReservation {
  private held = 0;
  private arriving = 0;
  private released = false;

  constructor(private readonly limiter: InflightLimiter) {}

  get bytes(): number {
    return this.held;
  }

  grow(bytes: number, complete: boolean): boolean {
    if (this.released) return false;
    if (!this.limiter.growBy(this.held, this.arriving, bytes, complete)) return false;
    this.held += bytes;
    if (complete) this.complete();
    else this.arriving += bytes;
    return true;
  }

  complete(): void {
    this.limiter.settle(0, this.arriving);
    this.arriving = 0;
  }

  release = (): void => {
    if (this.released) return;
    this.released = true;
    this.limiter.settle(this.held, this.arriving);
    this.held = 0;
    this.arriving = 0;
  };
}
