export interface RetryPolicy {
  initialIntervalMs: number;
  maxIntervalMs: number;
  /** 0: one attempt only. */
  maxElapsedMs: number;
}

export interface RetryOutcome {
  attempts: number;
  elapsedMs: number;
}

/** The last error of an exhausted retry loop, with how long it tried. */
export class RetriesExhausted extends Error {
  constructor(
    readonly lastError: unknown,
    readonly outcome: RetryOutcome,
  ) {
    super(lastError instanceof Error ? lastError.message : String(lastError), { cause: lastError });
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Exponential backoff with jitter (0.5x..1.5x), so exporters that failed together do not retry in
 * lockstep. A wait that would end past the elapsed bound is not taken: the caller learns at once.
 * Errors for which `retryable` is false are rethrown as they are, without waiting.
 */
export async function withRetry<T>(
  attempt: () => Promise<T>,
  policy: RetryPolicy,
  retryable: (err: unknown) => boolean,
  onRetry?: (err: unknown, delayMs: number, attempts: number) => void,
): Promise<T> {
  const started = Date.now();
  let interval = policy.initialIntervalMs;
  for (let attempts = 1; ; attempts++) {
    try {
      return await attempt();
    } catch (err) {
      if (!retryable(err)) throw err;
      const delay = Math.round(interval * (0.5 + Math.random()));
      const elapsed = Date.now() - started;
      if (elapsed + delay > policy.maxElapsedMs) {
        throw new RetriesExhausted(err, { attempts, elapsedMs: elapsed });
      }
      onRetry?.(err, delay, attempts);
      await sleep(delay);
      interval = Math.min(interval * 2, policy.maxIntervalMs);
    }
  }
}
