import { LRUCache } from 'lru-cache';

/**
 * Remembers the signatures of signed deliveries so that the same signed request cannot be
 * accepted twice. A signature is reserved when it is checked, so two concurrent identical
 * deliveries cannot both pass, and released again when its delivery is not accepted (the sender
 * may then retry with the same signature).
 *
 * Entries live for twice the timestamp tolerance: a replay older than that is refused as stale
 * anyway. The bound only matters under a flood of distinct signed deliveries within that time.
 */
export class ReplayGuard {
  private readonly seen: LRUCache<string, true>;

  constructor(maxEntries: number, toleranceSeconds: number) {
    this.seen = new LRUCache({ max: maxEntries, ttl: 2 * toleranceSeconds * 1000, ttlAutopurge: false });
  }

  /** Reserves `key`; false when it is already reserved or accepted (a replay). */
  reserve(key: string): boolean {
    if (this.seen.has(key)) return false;
    this.seen.set(key, true);
    return true;
  }

  /** Forgets a reservation whose delivery was refused or failed to be stored. */
  release(key: string): void {
    this.seen.delete(key);
  }
}
