/**
 * The daemon's one connection to Redis (ioredis): every command bounded by command_timeout_ms,
 * no offline queue (a command while disconnected fails at once instead of waiting), reconnection
 * in the background for as long as the daemon runs. An outage is logged once when it starts and
 * once when it ends, and each command refused by it is counted per feature.
 */
import { Redis } from 'ioredis';
import type { Logger } from '../logger';
import type { SharedStateConfig } from './config';

export class SharedStateUnavailable extends Error {}

export interface SharedStateTelemetry {
  unavailable(feature: string): void;
}

export class SharedRedis {
  readonly client: Redis;
  readonly prefix: string;
  private down = false;
  private connectedOnce = false;

  constructor(
    config: SharedStateConfig['redis'],
    private readonly logger: Logger,
    private readonly telemetry: SharedStateTelemetry,
  ) {
    this.prefix = config.key_prefix;
    this.client = new Redis(config.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      connectTimeout: config.connect_timeout_ms,
      commandTimeout: config.command_timeout_ms,
      maxRetriesPerRequest: 0,
      // Keep trying, but never faster than every 100 ms nor slower than every 2 s.
      retryStrategy: (times) => Math.min(2_000, 100 * times),
      ...(config.tls || config.url.toLowerCase().startsWith('rediss://') ? { tls: {} } : {}),
    });
    this.client.on('ready', () => {
      if (!this.connectedOnce) {
        this.connectedOnce = true;
        this.logger.info('shared state: connected to Redis');
      }
      if (!this.down) return;
      this.down = false;
      this.logger.warn('shared state: Redis is reachable again');
    });
    this.client.on('error', () => this.markDown());
    this.client.on('end', () => this.markDown());
  }

  /** Connects in the background; commands fail fast until the connection is up. */
  start(): void {
    this.client.connect().catch(() => this.markDown());
  }

  get available(): boolean {
    return this.client.status === 'ready';
  }

  /** Runs `command`; a Redis that is down or too slow is a SharedStateUnavailable, counted for `feature`. */
  async run<T>(feature: string, command: (client: Redis) => Promise<T>): Promise<T> {
    if (!this.available) {
      this.telemetry.unavailable(feature);
      throw new SharedStateUnavailable('Redis is unavailable');
    }
    try {
      return await command(this.client);
    } catch (err) {
      this.telemetry.unavailable(feature);
      if (!this.available) this.markDown();
      throw new SharedStateUnavailable(`Redis command failed: ${(err as Error).message}`);
    }
  }

  async stop(): Promise<void> {
    this.down = false;
    this.client.disconnect();
  }

  private markDown(): void {
    if (this.down) return;
    this.down = true;
    // Never the URL: it may hold a password.
    this.logger.warn('shared state: Redis is unavailable; features fall back as configured (on_unavailable) until it returns');
  }
}
