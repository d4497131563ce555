/**
 * State every instance must agree on, offered to components through the host (`host.shared`):
 * backed by Redis when `shared_state.redis` is configured, absent otherwise (each process keeps
 * its own, as a single instance needs).
 */
import { DEFAULT_INFLIGHT_LOCK_MS } from '../ingest/idempotency';
import type { IdempotencyConfig, IdempotencyStore, MemoryIdempotencyStore } from '../ingest/idempotency';
import type { SharedLimits } from '../ingest/rate-limit';
import { RedisIdempotencyStore } from './idempotency-store';
import { RedisClaims } from './claims';
import type { SharedClaims } from './claims';
import { RedisLeases } from './leases';
import { RedisLocks } from './locks';
import type { LockOutcome } from './locks';
import type { Leases } from './leases';
import { RedisReservations } from './replay-store';
import type { SharedReservations } from './replay-store';
import type { OnUnavailable } from './config';
import { RedisBreakerStore } from './breakers';
import { RedisBroadcasts } from './broadcast';
import type { Broadcast } from './broadcast';
import type { Logger } from '../logger';
import type { SharedStateConfig } from './config';
import { SharedRateWindow } from './rate-window';
import { SharedRedis } from './redis';
import type { SharedStateTelemetry } from './redis';

export interface SharedState {
  /** Rate-limit windows shared by every instance. */
  readonly rateLimits: SharedLimits;
  /** Reservations every instance shares (webhook replay guards), for `scope` (the receiver id). */
  reservations(scope: string): { store: SharedReservations; onUnavailable: OnUnavailable };
  /**
   * A short lock every instance respects (a control-plane write), taken within `waitMs`: held
   * (renewed until released), busy (another holder kept it longer), or unavailable (Redis away:
   * what to do then is `lockPolicy`).
   */
  lock(name: string, ttlMs: number, waitMs: number): Promise<LockOutcome>;
  /** control_plane.on_unavailable: write without the lock (allow) or refuse the write (refuse). */
  readonly lockPolicy: OnUnavailable;
  /** Leases on work only one instance may do (alert rules), for `scope` (the component id). */
  leases(scope: string): { leases: Leases; onUnavailable: OnUnavailable };
  /** Claims every instance sees (incidents of per-span alert rules), for `scope` (the component id). */
  claims(scope: string): SharedClaims;
  /** An idempotency store every instance shares, for the receiver `scope` (its id). */
  idempotencyStore(scope: string, config: IdempotencyConfig, memory: MemoryIdempotencyStore): IdempotencyStore;
  /** Messages every instance hears at once (control-plane changes, gateway breakers), by channel name. */
  broadcast(name: string): Broadcast;
  /** Open gateway breakers kept for instances that start later, for `scope` (the receiver id). */
  breakers(scope: string): RedisBreakerStore;
}

export class RedisSharedState implements SharedState {
  readonly redis: SharedRedis;
  readonly rateLimits: SharedLimits;
  private readonly broadcasts: RedisBroadcasts;

  constructor(config: SharedStateConfig, logger: Logger, telemetry: SharedStateTelemetry) {
    this.redis = new SharedRedis(config.redis, logger, telemetry);
    this.rateLimits = { window: new SharedRateWindow(this.redis), onUnavailable: config.rate_limits.on_unavailable };
    this.broadcasts = new RedisBroadcasts(this.redis, logger);
    this.idempotencyPolicy = config.idempotency.on_unavailable;
    this.replayPolicy = config.replay_guard.on_unavailable;
    this.leasePolicy = config.alert_ownership.on_unavailable;
    this.lockPolicy = config.control_plane.on_unavailable;
    this.locks = new RedisLocks(this.redis);
  }

  private readonly idempotencyPolicy: OnUnavailable;
  private readonly replayPolicy: OnUnavailable;
  private readonly leasePolicy: OnUnavailable;
  readonly lockPolicy: OnUnavailable;
  readonly locks: RedisLocks;

  lock(name: string, ttlMs: number, waitMs: number): Promise<LockOutcome> {
    return this.locks.acquire(name, ttlMs, waitMs);
  }

  leases(scope: string): { leases: Leases; onUnavailable: OnUnavailable } {
    return { leases: new RedisLeases(this.redis, scope, 'alert_ownership'), onUnavailable: this.leasePolicy };
  }

  claims(scope: string): SharedClaims {
    return new RedisClaims(this.redis, scope);
  }

  reservations(scope: string): { store: SharedReservations; onUnavailable: OnUnavailable } {
    return { store: new RedisReservations(this.redis, scope), onUnavailable: this.replayPolicy };
  }

  idempotencyStore(scope: string, config: IdempotencyConfig, memory: MemoryIdempotencyStore): IdempotencyStore {
    return new RedisIdempotencyStore(this.redis, scope, { ttlSeconds: config.ttl_seconds, maxAnswerBytes: config.max_answer_bytes, claimMs: config.inflight_lock_ms ?? DEFAULT_INFLIGHT_LOCK_MS, memory, onUnavailable: this.idempotencyPolicy });
  }

  broadcast(name: string): Broadcast {
    return this.broadcasts.channel(name);
  }

  breakers(scope: string): RedisBreakerStore {
    return new RedisBreakerStore(this.redis, scope);
  }

  start(): void {
    this.redis.start();
  }

  stop(): Promise<void> {
    this.broadcasts.stop();
    return this.redis.stop();
  }
}
