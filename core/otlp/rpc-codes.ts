/** google.rpc.Code values (the gRPC status codes), used by both transports' error answers. */
export const RPC_CODE = {
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/** Retry-After / RetryInfo delay when a receiver throttles (in-flight bound, shutting down). */
export const THROTTLE_RETRY_AFTER_SECONDS = 1;
