/**
 * Error classes shared by every component. Receivers translate them into their protocol's answer:
 * PermanentError -> 400-class (retrying the same data cannot succeed), BackpressureError -> 429/503
 * with Retry-After, anything else -> 503 (retryable).
 */

export class TracehouseError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad data: retrying the same request cannot succeed. */
export class PermanentError extends TracehouseError {}

/** Temporarily refused because a queue or memory bound is reached; the caller should retry later. */
export class BackpressureError extends TracehouseError {
  constructor(
    code: string,
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(code, message);
  }
}

/** The component is shutting down and takes no more work. */
export class ShuttingDownError extends TracehouseError {
  constructor(component: string) {
    super('SVC_SHUTTING_DOWN', `${component} is shutting down`);
  }
}

export function isPermanent(err: unknown): boolean {
  return err instanceof PermanentError;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
