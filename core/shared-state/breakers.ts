/**
 * Gateway circuit breakers shared by every instance running one gateway receiver. A breaker that
 * opens is announced (so the others open it at once) and stored: a key per upstream that expires
 * with the cooldown, so an instance that starts later, or missed the announcement while Redis was
 * away, reads the open breakers when its subscription is (re)established. A breaker that closes is
 * announced and its key deleted.
 */
import { randomBytes } from 'node:crypto';
import type { BreakerChange } from '../llm/failover';
import type { Broadcast } from './broadcast';
import type { SharedRedis } from './redis';

/** What shares its breakers: UpstreamHealth of core/llm/failover.ts. */
export interface SharedBreakerHealth {
  onChange: ((change: BreakerChange) => void) | undefined;
  apply(change: BreakerChange): void;
}

/** Open breakers kept in Redis, one key per upstream, expiring when the cooldown ends. */
export class RedisBreakerStore {
  private readonly base: string;

  constructor(
    private readonly redis: SharedRedis,
    scope: string,
  ) {
    this.base = `${redis.prefix}breaker:${scope}:`;
  }

  async open(upstream: string, at: number, cooldownMs: number): Promise<void> {
    const left = at + cooldownMs - Date.now();
    if (left <= 0) return;
    await this.redis.run('gateway_breakers', (client) => client.set(this.base + upstream, String(at), 'PX', left));
  }

  async close(upstream: string): Promise<void> {
    await this.redis.run('gateway_breakers', (client) => client.del(this.base + upstream));
  }

  /** The open breakers among `upstreams`, with the time each opened. */
  async openOnes(upstreams: readonly string[]): Promise<{ upstream: string; at: number }[]> {
    if (upstreams.length === 0) return [];
    const values = await this.redis.run('gateway_breakers', (client) => client.mget(upstreams.map((u) => this.base + u)));
    const out: { upstream: string; at: number }[] = [];
    upstreams.forEach((upstream, i) => {
      const at = Number(values[i]);
      if (values[i] !== null && Number.isFinite(at)) out.push({ upstream, at });
    });
    return out;
  }
}

/** A breaker change another instance published, or undefined when the message is not one. */
function breakerChangeOf(message: string): (BreakerChange & { from?: string }) | undefined {
  try {
    const value = JSON.parse(message) as Record<string, unknown>;
    if (typeof value.upstream !== 'string' || typeof value.open !== 'boolean') return undefined;
    return { upstream: value.upstream, open: value.open, ...(typeof value.at === 'number' ? { at: value.at } : {}), ...(typeof value.from === 'string' ? { from: value.from } : {}) };
  } catch {
    return undefined;
  }
}

/**
 * Shares `health`'s breakers over `channel` and `store`: its changes are announced and stored,
 * other instances' announcements applied (its own are recognised by an id of this start), and the
 * stored open breakers applied each time the subscription is established.
 */
export function shareBreakers(health: SharedBreakerHealth, channel: Broadcast, store: RedisBreakerStore, options: { upstreams: readonly string[]; cooldownMs: number }): void {
  const self = randomBytes(8).toString('hex');
  const known = new Set(options.upstreams);
  health.onChange = (change) => {
    channel.publish(JSON.stringify({ ...change, from: self }));
    const stored = change.open ? store.open(change.upstream, change.at ?? Date.now(), options.cooldownMs) : store.close(change.upstream);
    void stored.catch(() => undefined);
  };
  channel.subscribe(
    (message) => {
      const change = breakerChangeOf(message);
      if (change && change.from !== self && known.has(change.upstream)) health.apply(change);
    },
    () =>
      void store.openOnes(options.upstreams).then(
        (open) => {
          for (const { upstream, at } of open) health.apply({ upstream, open: true, at });
        },
        () => undefined,
      ),
  );
}
