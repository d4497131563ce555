/**
 * Keys held with a token (a lock, a lease, an in-flight claim): only the holder may extend or
 * release them, each in one script so that a key taken over meanwhile is left alone.
 */
import type { Redis } from 'ioredis';

const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

type WithHeldKeys = Redis & {
  tracehouseRenewHeld(key: string, token: string, ttlMs: number): Promise<number>;
  tracehouseReleaseHeld(key: string, token: string): Promise<number>;
};

function defined(client: Redis): WithHeldKeys {
  if (!('tracehouseRenewHeld' in client)) {
    client.defineCommand('tracehouseRenewHeld', { numberOfKeys: 1, lua: RENEW });
    client.defineCommand('tracehouseReleaseHeld', { numberOfKeys: 1, lua: RELEASE });
  }
  return client as WithHeldKeys;
}

/** Extends `key` to `ttlMs` if `token` still holds it; 1 when it did. */
export function renewHeld(client: Redis, key: string, token: string, ttlMs: number): Promise<number> {
  return defined(client).tracehouseRenewHeld(key, token, ttlMs);
}

/** Deletes `key` if `token` still holds it; 1 when it did. */
export function releaseHeld(client: Redis, key: string, token: string): Promise<number> {
  return defined(client).tracehouseReleaseHeld(key, token);
}
