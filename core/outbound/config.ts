import { z } from 'zod';

/**
 * Options of every component that makes outbound HTTP calls (rule callbacks, alert deliveries).
 * Kept as a plain shape too, so components compose it into their own strict config objects.
 */
export const outboundConfigShape = {
  /**
   * Allow URLs whose host is (or resolves to) a loopback, private, link-local, CGNAT, unique-local,
   * multicast or unspecified address. Off by default: a URL taken from span data must not be able
   * to reach the daemon's own network (SSRF).
   */
  allow_private_addresses: z.boolean().default(false),
  /** Deadline of one attempt: connect, send, and the response headers. */
  timeout_ms: z.number().int().positive().default(10_000),
  /** Attempts per delivery, the first included; 1 means no retry. */
  max_attempts: z.number().int().min(1).max(100).default(5),
  /** Delay before the first retry; doubled per attempt (with jitter) up to max_backoff_ms. */
  initial_backoff_ms: z.number().int().nonnegative().default(500),
  /** Longest delay between attempts, also the cap on a receiver's Retry-After. */
  max_backoff_ms: z.number().int().nonnegative().default(60_000),
  /** Deliveries queued or waiting for a retry; beyond it new ones are dropped and counted. */
  max_pending: z.number().int().positive().default(10_000),
};

export const outboundConfigSchema = z
  .strictObject(outboundConfigShape)
  .refine((c) => c.max_backoff_ms >= c.initial_backoff_ms, {
    message: 'max_backoff_ms must be at least initial_backoff_ms',
    path: ['max_backoff_ms'],
  });

export type OutboundConfig = z.output<typeof outboundConfigSchema>;
