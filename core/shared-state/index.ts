/**
 * State every instance must agree on, offered to components through the host (`host.shared`):
 * backed by Redis when `shared_state.redis` is configured, absent otherwise (each process keeps
 * its own, as a single instance needs).
 */
import type { SharedLimits } from '../ingest/rate-limit';
import { RedisChangeChannel } from './change-channel';
import type { ChangeChannel } from './change-channel';
import type { Logger } from '../logger';
import type { SharedStateConfig } from './config';
import { SharedRateWindow } from './rate-window';
import { SharedRedis } from './redis';
import type { SharedStateTelemetry } from './redis';

export interface SharedState {
  /** Rate-limit windows shared by every instance. */
  readonly rateLimits: SharedLimits;
  /** Control-plane changes announced to every instance. */
  readonly changes: ChangeChannel;
}

export class RedisSharedState implements SharedState {
  readonly redis: SharedRedis;
  readonly rateLimits: SharedLimits;
  readonly changes: RedisChangeChannel;

  constructor(config: SharedStateConfig, logger: Logger, telemetry: SharedStateTelemetry) {
    this.redis = new SharedRedis(config.redis, logger, telemetry);
    this.rateLimits = { window: new SharedRateWindow(this.redis), onUnavailable: config.rate_limits.on_unavailable };
    this.changes = new RedisChangeChannel(this.redis, logger);
  }

  start(): void {
    this.redis.start();
  }

  stop(): Promise<void> {
    this.changes.stop();
    return this.redis.stop();
  }
}
