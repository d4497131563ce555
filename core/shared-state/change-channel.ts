/**
 * Control-plane change notifications through Redis pub/sub: the daemon that wrote an object
 * publishes its kind, and every daemon subscribed reads the store at once instead of at its next
 * poll (polling stays the fallback when Redis is away). Subscribing needs a connection of its own.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../logger';
import type { SharedRedis } from './redis';

export interface ChangeChannel {
  /** Tells the other daemons something of `kind` changed; never throws. */
  publish(kind: string): void;
  /** Calls `listener` whenever another daemon published. */
  subscribe(listener: (kind: string) => void): void;
}

export class RedisChangeChannel implements ChangeChannel {
  private readonly channel: string;
  private subscriber: Redis | undefined;
  private readonly listeners: ((kind: string) => void)[] = [];

  constructor(
    private readonly redis: SharedRedis,
    private readonly logger: Logger,
  ) {
    this.channel = `${redis.prefix}control-plane-changes`;
  }

  publish(kind: string): void {
    void this.redis.run('change_notifications', (client) => client.publish(this.channel, kind)).catch(() => undefined);
  }

  subscribe(listener: (kind: string) => void): void {
    this.listeners.push(listener);
    if (this.subscriber) return;
    // A duplicate keeps the options (timeouts, TLS) but may queue while reconnecting: it only listens.
    const subscriber = this.redis.client.duplicate({ enableOfflineQueue: true, lazyConnect: true, commandTimeout: undefined });
    this.subscriber = subscriber;
    subscriber.on('message', (channel: string, kind: string) => {
      if (channel !== this.channel) return;
      for (const l of this.listeners) l(kind);
    });
    // Subscriptions are restored by ioredis after a reconnect.
    subscriber.on('error', () => undefined);
    subscriber
      .connect()
      .then(() => subscriber.subscribe(this.channel))
      .catch(() => this.logger.debug('control-plane change notifications wait for Redis'));
  }

  stop(): void {
    this.subscriber?.disconnect();
    this.subscriber = undefined;
  }
}
