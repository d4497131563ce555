/**
 * The daemon's one connection to Redis (ioredis): every command bounded by command_timeout_ms,
 * no offline queue (a command while disconnected fails at once instead of waiting), reconnection
 * in the background for as long as the daemon runs. An outage is logged once when it starts and
 * once when it ends, and each command refused by it is counted per feature.
 *
 * A Redis that accepts connections but does not answer (overloaded, stopped, a network that drops
 * packets) keeps the connection "ready": after HUNG_AFTER_TIMEOUTS commands in a row time out it
 * counts as down too, so requests stop paying the full command timeout. Commands then fail at once
 * while a PING every cool-off probes it; the first answer ends the outage.
 */
import type { ConnectionOptions } from 'node:tls';
import { Redis } from 'ioredis';
import type { Logger } from '../logger';
import { tlsFileOptions } from '../tls';
import type { SharedStateConfig } from './config';

export class SharedStateUnavailable extends Error {}

export interface SharedStateTelemetry {
  unavailable(feature: string): void;
}

/** Commands timed out in a row before Redis counts as hung. */
export const HUNG_AFTER_TIMEOUTS = 3;
/** Shortest pause between PINGs to a hung Redis (longer when the command timeout is). */
const MIN_COOL_OFF_MS = 1_000;

export class SharedRedis {
  readonly client: Redis;
  readonly prefix: string;
  private down = false;
  private connectedOnce = false;
  private stopping = false;
  private timeoutsInARow = 0;
  /** Set while Redis is hung: the PINGs that probe it. */
  private probe: NodeJS.Timeout | undefined;
  private readonly coolOffMs: number;

  constructor(
    config: SharedStateConfig['redis'],
    private readonly logger: Logger,
    private readonly telemetry: SharedStateTelemetry,
  ) {
    this.prefix = config.key_prefix;
    this.coolOffMs = Math.max(MIN_COOL_OFF_MS, 2 * config.command_timeout_ms);
    this.client = new Redis(config.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      connectTimeout: config.connect_timeout_ms,
      commandTimeout: config.command_timeout_ms,
      maxRetriesPerRequest: 0,
      // Keep trying, but never faster than every 100 ms nor slower than every 2 s.
      retryStrategy: (times) => Math.min(2_000, 100 * times),
      ...tlsOf(config),
    });
    this.client.on('ready', () => {
      if (!this.connectedOnce) {
        this.connectedOnce = true;
        this.logger.info('shared state: connected to Redis');
      }
      // A fresh connection answers (ready means its INFO check did); a hang ends with it.
      this.endHang();
      this.markUp();
    });
    this.client.on('error', () => this.markDown());
    this.client.on('end', () => this.markDown());
  }

  /** Connects in the background; commands fail fast until the connection is up. */
  start(): void {
    this.client.connect().catch(() => this.markDown());
  }

  get available(): boolean {
    return this.client.status === 'ready' && this.probe === undefined;
  }

  /** Runs `command`; a Redis that is down or too slow is a SharedStateUnavailable, counted for `feature`. */
  async run<T>(feature: string, command: (client: Redis) => Promise<T>): Promise<T> {
    if (!this.available) {
      this.telemetry.unavailable(feature);
      throw new SharedStateUnavailable('Redis is unavailable');
    }
    try {
      const result = await command(this.client);
      this.timeoutsInARow = 0;
      return result;
    } catch (err) {
      this.telemetry.unavailable(feature);
      if (isTimeout(err)) this.timedOut();
      else if (!this.available) this.markDown();
      throw new SharedStateUnavailable(`Redis command failed: ${(err as Error).message}`);
    }
  }

  async stop(): Promise<void> {
    // A clean shutdown is no outage: nothing to log.
    this.stopping = true;
    this.endHang();
    this.client.disconnect();
  }

  private timedOut(): void {
    this.timeoutsInARow += 1;
    if (this.timeoutsInARow < HUNG_AFTER_TIMEOUTS || this.probe || this.stopping) return;
    this.markDown(`${this.timeoutsInARow} commands in a row timed out`);
    this.probe = setInterval(() => void this.ping(), this.coolOffMs);
    this.probe.unref?.();
  }

  private async ping(): Promise<void> {
    if (this.client.status !== 'ready') return; // reconnecting: the `ready` event ends the hang
    try {
      await this.client.ping();
    } catch {
      return;
    }
    this.endHang();
    this.markUp();
  }

  private endHang(): void {
    clearInterval(this.probe);
    this.probe = undefined;
    this.timeoutsInARow = 0;
  }

  private markUp(): void {
    if (!this.down) return;
    this.down = false;
    this.logger.warn('shared state: Redis is reachable again');
  }

  private markDown(reason?: string): void {
    if (this.down || this.stopping) return;
    this.down = true;
    // Never the URL: it may hold a password.
    this.logger.warn(reason ? { reason } : {}, 'shared state: Redis is unavailable; features fall back as configured (on_unavailable) until it returns');
  }
}

function isTimeout(err: unknown): boolean {
  return err instanceof Error && /timed out/i.test(err.message);
}

/** ioredis's `tls` option from shared_state.redis (url and tls); {} when TLS is off. */
export function tlsOf(config: Pick<SharedStateConfig['redis'], 'url' | 'tls'>): { tls?: ConnectionOptions } {
  const tls = config.tls;
  const byUrl = config.url.toLowerCase().startsWith('rediss://');
  if (tls === true) return { tls: {} };
  if (tls === false || !tls.enabled) return byUrl ? { tls: {} } : {};
  return {
    tls: {
      ...tlsFileOptions(tls, 'shared_state.redis.tls', 'CFG_REDIS_TLS_FILE'),
      ...(tls.servername ? { servername: tls.servername } : {}),
    },
  };
}
