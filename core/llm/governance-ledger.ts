/**
 * What each workspace spent on LLM calls over a sliding window, for the gateway's spend budgets.
 * The interface lets a store shared by several daemons implement it; the default keeps it in this
 * process's memory (behind a load balancer with N daemons, a workspace can spend up to N budgets).
 */
export interface SpendLedger {
  /** USD credited to `workspace` within the window that ends at `nowMs`. */
  spent(workspace: string, nowMs: number): number;
  /** Credits `usd` to `workspace` at `nowMs`. */
  add(workspace: string, usd: number, nowMs: number): void;
}

interface Buckets {
  usd: Float64Array;
  /** The bucket number (time / width) each slot holds, or -1. */
  epoch: Float64Array;
}

/**
 * A sliding window of `slots` buckets of window/slots each: a credit counts for one full window
 * and drops out within one bucket after that. Memory: two arrays of `slots` numbers per workspace
 * that ever spent (workspaces come from the configuration, so they are few).
 */
export class InMemorySpendLedger implements SpendLedger {
  private readonly width: number;
  private readonly byWorkspace = new Map<string, Buckets>();

  constructor(
    windowMs: number,
    private readonly slots = 60,
  ) {
    this.width = Math.max(1, windowMs / slots);
  }

  spent(workspace: string, nowMs: number): number {
    const b = this.byWorkspace.get(workspace);
    if (b === undefined) return 0;
    const current = Math.floor(nowMs / this.width);
    let total = 0;
    for (let i = 0; i < this.slots; i++) {
      const e = b.epoch[i];
      if (e > current - this.slots && e <= current) total += b.usd[i];
    }
    return total;
  }

  add(workspace: string, usd: number, nowMs: number): void {
    if (!(usd > 0) || !Number.isFinite(usd)) return;
    let b = this.byWorkspace.get(workspace);
    if (b === undefined) {
      b = { usd: new Float64Array(this.slots), epoch: new Float64Array(this.slots).fill(-1) };
      this.byWorkspace.set(workspace, b);
    }
    const current = Math.floor(nowMs / this.width);
    const slot = current % this.slots;
    if (b.epoch[slot] !== current) {
      b.epoch[slot] = current;
      b.usd[slot] = 0;
    }
    b.usd[slot] += usd;
  }
}
