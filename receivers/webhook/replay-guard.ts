import { LRUCache } from 'lru-cache';
import type { OnUnavailable } from '../../core/shared-state/config';
import type { SharedReservations } from '../../core/shared-state/replay-store';

/**
 * Remembers the signatures of signed deliveries so that the same signed request cannot be
 * accepted twice. A signature is reserved when it is checked, so two concurrent identical
 * deliveries cannot both pass, and released again when its delivery is not accepted (the sender
 * may then retry with the same signature). With shared state, reservations are in Redis, so a
 * replay is refused whichever instance it reaches.
 *
 * Entries live for twice the timestamp tolerance: a replay older than that is refused as stale
 * anyway. The bound only matters under a flood of distinct signed deliveries within that time.
 */
export class ReplayGuard {
  private readonly seen: LRUCache<string, true>;
  private readonly ttlMs: number;
  private shared: { store: SharedReservations; onUnavailable: OnUnavailable } | undefined;

  constructor(maxEntries: number, toleranceSeconds: number) {
    this.ttlMs = 2 * toleranceSeconds * 1000;
    this.seen = new LRUCache({ max: maxEntries, ttl: this.ttlMs, ttlAutopurge: false });
  }

  /** Reserves in the store every instance shares from now on. */
  share(shared: { store: SharedReservations; onUnavailable: OnUnavailable } | undefined): void {
    this.shared = shared;
  }

  /**
   * Reserves `key`; false when it is already reserved or accepted (a replay). Throws
   * SharedStateUnavailable when the shared store is away and on_unavailable is refuse.
   */
  async reserve(key: string): Promise<boolean> {
    if (this.shared) {
      try {
        return await this.shared.store.reserve(key, this.ttlMs);
      } catch (err) {
        if (this.shared.onUnavailable === 'refuse') throw err;
      }
    }
    if (this.seen.has(key)) return false;
    this.seen.set(key, true);
    return true;
  }

  /**
   * Forgets a reservation whose delivery was refused or failed to be stored; resolves once the
   * shared store forgot it too (or could not be reached), so the refusal is sent only after that.
   */
  async release(key: string): Promise<void> {
    this.seen.delete(key);
    await this.shared?.store.release(key);
  }
}
