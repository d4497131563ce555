import type { FindingOutcome } from '../evaluation';

/** One rule's outcome on one text or span; `detail` says why, never quoting the text. */
export interface CheckResult {
  outcome: FindingOutcome;
  detail?: string;
}

export const PASSED: CheckResult = Object.freeze({ outcome: 'passed' });

export function triggered(detail: string): CheckResult {
  return { outcome: 'triggered', detail };
}

export function erred(detail: string): CheckResult {
  return { outcome: 'error', detail };
}
