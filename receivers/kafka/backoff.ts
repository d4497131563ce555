/**
 * Exponential backoff with jitter (0.5x..1.5x, capped), so receivers that failed together do not
 * retry in lockstep. `attempt` counts from 0; a downstream that named its own wait (Retry-After of a
 * BackpressureError) is not asked again sooner.
 */
export function backoffDelayMs(attempt: number, policy: { initial_backoff_ms: number; max_backoff_ms: number }, atLeastMs = 0): number {
  const base = Math.min(policy.initial_backoff_ms * 2 ** Math.min(attempt, 30), policy.max_backoff_ms);
  const jittered = Math.round(base * (0.5 + Math.random()));
  return Math.min(Math.max(jittered, atLeastMs), policy.max_backoff_ms);
}

/** Resolves after `ms`, or at once when `signal` fires (the caller checks why it woke up). */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Waits for `promise` at most `ms`; true when it settled in time. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const settled = promise.then(
    () => true as const,
    () => true as const,
  );
  try {
    return await Promise.race([settled, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
