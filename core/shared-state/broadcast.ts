/**
 * Messages every instance hears at once, through Redis pub/sub: control-plane changes, gateway
 * breakers opening and closing. Publishing never throws (a message lost while Redis is away is
 * covered by each feature's own fallback: polling, local breakers). Subscribing needs a
 * connection of its own, shared by every channel of this instance.
 *
 * The subscriber connection keeps reconnecting for as long as the daemon runs, whether or not
 * Redis was there at start. Each time it is (re)connected it subscribes every known channel again
 * and calls each subscriber's `resync`: messages published while it was away are lost, so the
 * feature reads the state those messages announced (a catalog refresh, the stored breakers).
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../logger';
import type { SharedRedis } from './redis';

export interface Broadcast {
  publish(message: string): void;
  /**
   * Calls `listener` with each message; `resync` (when given) each time the subscription is
   * established, the first time included, to catch up on what was missed while it was not.
   */
  subscribe(listener: (message: string) => void, resync?: () => void): void;
}

interface Subscription {
  listeners: ((message: string) => void)[];
  resyncs: (() => void)[];
}

export class RedisBroadcasts {
  private subscriber: Redis | undefined;
  private readonly channels = new Map<string, Subscription>();

  constructor(
    private readonly redis: SharedRedis,
    private readonly logger: Logger,
  ) {}

  /** The broadcast called `name` (one Redis channel under the key prefix). */
  channel(name: string): Broadcast {
    const channel = `${this.redis.prefix}broadcast:${name}`;
    return {
      publish: (message) => void this.redis.run('broadcast', (client) => client.publish(channel, message)).catch(() => undefined),
      subscribe: (listener, resync) => {
        let subscription = this.channels.get(channel);
        const known = subscription !== undefined;
        subscription ??= { listeners: [], resyncs: [] };
        this.channels.set(channel, subscription);
        subscription.listeners.push(listener);
        if (resync) subscription.resyncs.push(resync);
        const subscriber = this.connect();
        // Not ready yet: the `ready` handler subscribes and resyncs every known channel.
        if (subscriber.status !== 'ready') return;
        if (!known) this.subscribeTo(subscriber, channel, subscription);
        else resync?.();
      },
    };
  }

  /** Names of the channels this instance listens to (tests, diagnostics). */
  get subscribedChannels(): string[] {
    return [...this.channels.keys()];
  }

  private connect(): Redis {
    if (this.subscriber) return this.subscriber;
    // A duplicate keeps the options (TLS, connect timeout). It only listens: no command timeout,
    // and no automatic resubscription (the `ready` handler does it for every channel, also after
    // a first connection that failed, when ioredis has nothing to restore).
    const subscriber = this.redis.client.duplicate({ lazyConnect: true, commandTimeout: undefined, autoResubscribe: false, enableOfflineQueue: false });
    this.subscriber = subscriber;
    subscriber.on('message', (channel: string, message: string) => {
      for (const listener of this.channels.get(channel)?.listeners ?? []) listener(message);
    });
    subscriber.on('ready', () => {
      for (const [channel, subscription] of this.channels) this.subscribeTo(subscriber, channel, subscription);
    });
    subscriber.on('error', () => undefined);
    subscriber.connect().catch(() => this.logger.debug('broadcast subscriptions wait for Redis'));
    return subscriber;
  }

  private subscribeTo(subscriber: Redis, channel: string, subscription: Subscription): void {
    subscriber.subscribe(channel).then(
      () => {
        for (const resync of subscription.resyncs) resync();
      },
      // The connection dropped meanwhile: the next `ready` subscribes again.
      () => this.logger.debug({ channel }, 'broadcast subscription waits for Redis'),
    );
  }

  stop(): void {
    this.subscriber?.disconnect();
    this.subscriber = undefined;
  }
}
