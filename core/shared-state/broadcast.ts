/**
 * Messages every instance hears at once, through Redis pub/sub: control-plane changes, gateway
 * breakers opening and closing. Publishing never throws (a message lost while Redis is away is
 * covered by each feature's own fallback: polling, local breakers). Subscribing needs a
 * connection of its own, shared by every channel of this instance.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../logger';
import type { SharedRedis } from './redis';

export interface Broadcast {
  publish(message: string): void;
  subscribe(listener: (message: string) => void): void;
}

export class RedisBroadcasts {
  private subscriber: Redis | undefined;
  private readonly listeners = new Map<string, ((message: string) => void)[]>();

  constructor(
    private readonly redis: SharedRedis,
    private readonly logger: Logger,
  ) {}

  /** The broadcast called `name` (one Redis channel under the key prefix). */
  channel(name: string): Broadcast {
    const channel = `${this.redis.prefix}broadcast:${name}`;
    return {
      publish: (message) => void this.redis.run('broadcast', (client) => client.publish(channel, message)).catch(() => undefined),
      subscribe: (listener) => {
        const known = this.listeners.get(channel);
        this.listeners.set(channel, [...(known ?? []), listener]);
        if (!known) void this.connect().then((subscriber) => subscriber.subscribe(channel)).catch(() => this.logger.debug({ channel }, 'broadcast subscription waits for Redis'));
      },
    };
  }

  private async connect(): Promise<Redis> {
    if (this.subscriber) return this.subscriber;
    // A duplicate keeps the options (TLS, timeouts) but queues while reconnecting: it only listens,
    // and ioredis restores its subscriptions after a reconnect.
    const subscriber = this.redis.client.duplicate({ enableOfflineQueue: true, lazyConnect: true, commandTimeout: undefined });
    this.subscriber = subscriber;
    subscriber.on('message', (channel: string, message: string) => {
      for (const listener of this.listeners.get(channel) ?? []) listener(message);
    });
    subscriber.on('error', () => undefined);
    await subscriber.connect();
    return subscriber;
  }

  stop(): void {
    this.subscriber?.disconnect();
    this.subscriber = undefined;
  }
}
