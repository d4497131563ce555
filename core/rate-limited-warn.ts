import type { Logger } from './logger';

/**
 * A warning that may fire thousands of times a second under attack (a connection cap hit, a
 * foreign Host): logged at most once per interval, with how many occurrences it stands for.
 */
export class RateLimitedWarn {
  private last = 0;
  private suppressed = 0;

  constructor(
    private readonly logger: Logger,
    private readonly message: string,
    private readonly intervalMs = 10_000,
  ) {}

  warn(fields: Record<string, unknown> = {}): void {
    const now = Date.now();
    if (this.last !== 0 && now - this.last < this.intervalMs) {
      this.suppressed += 1;
      return;
    }
    this.logger.warn({ ...fields, occurrences: this.suppressed + 1 }, this.message);
    this.last = now;
    this.suppressed = 0;
  }
}
