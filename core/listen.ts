import { isIP } from 'node:net';
import { z } from 'zod';

export interface ListenAddress {
  host: string;
  port: number;
}

/** Parses "host:port", "[::1]:port" or ":port" (all interfaces, as the OpenTelemetry Collector reads it). */
export function parseListen(listen: string): ListenAddress | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(listen.trim());
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  const host = m[1] ?? m[2];
  return { host: host === '' ? '0.0.0.0' : host, port };
}

export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

export function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

/** Zod type for a listen option; validates the shape so a typo is a config error, not a bind error. */
export const listenSchema = z
  .string()
  .refine((v) => parseListen(v) !== undefined, { message: 'must be "host:port", e.g. "127.0.0.1:4318"' });

/** Canonical key of an address, so "localhost:4318" and "127.0.0.1:4318" are recognized as the same. */
export function listenKey(listen: string): string {
  const addr = parseListen(listen);
  if (!addr) return listen;
  const host = addr.host === 'localhost' ? '127.0.0.1' : addr.host;
  return `${host}:${addr.port}`;
}
