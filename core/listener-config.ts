import { z } from 'zod';
import type { HttpListenerOptions } from './component';
import type { BodyTimeouts } from './http-body';
import { allowedHostsSchema } from './http-guard';

/**
 * Options every HTTP receiver listener has (spread into the receiver's own strictObject). They are
 * optional without schema defaults; the defaults live where they apply (DEFAULT_MAX_CONNECTIONS,
 * DEFAULT_BODY_IDLE_TIMEOUT_MS, DEFAULT_BODY_MIN_BYTES_PER_SECOND) and in the receivers' READMEs.
 */
export const httpListenerOptions = {
  /** Host names (and name:port, *.domain, or "*") the listener answers besides its own addresses. */
  allowed_hosts: allowedHostsSchema.optional(),
  /** Connections held at once (default 1024); beyond it new connections are closed at once. */
  max_connections: z.number().int().positive().optional(),
  /** A request body that sends no byte for this long is aborted with 408 (default 10000; 0: off). */
  body_idle_timeout_ms: z.number().int().nonnegative().optional(),
  /** Least rate of a body over every idle-timeout window (default 1024; 0: off). */
  body_min_bytes_per_second: z.number().int().nonnegative().optional(),
};

export interface HttpListenerConfig {
  allowed_hosts?: string[];
  max_connections?: number;
  body_idle_timeout_ms?: number;
  body_min_bytes_per_second?: number;
}

export function listenerOptionsOf(config: HttpListenerConfig): HttpListenerOptions {
  return { allowedHosts: config.allowed_hosts, maxConnections: config.max_connections };
}

export function bodyTimeoutsOf(config: HttpListenerConfig): BodyTimeouts {
  return { idleTimeoutMs: config.body_idle_timeout_ms, minBytesPerSecond: config.body_min_bytes_per_second };
}

/**
 * Bytes of request bodies still arriving that a receiver holds at once (default three quarters of
 * max_inflight_bytes): the rest of the bound stays for complete requests while slow ones arrive.
 */
export const maxReceivingBytesSchema = z.number().int().positive().optional();
