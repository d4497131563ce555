import type { Verdict } from '../../core/evaluation';

/** The values of a log's `callbackEvents` (tracehouse.callback.events on the span). */
export const CALLBACK_EVENT_FILTERS = ['all', 'flagged_error', 'pass', 'decisions', 'flagged_error_decisions'] as const;
export type CallbackEventFilter = (typeof CALLBACK_EVENT_FILTERS)[number];

export function isCallbackEventFilter(value: unknown): value is CallbackEventFilter {
  return typeof value === 'string' && (CALLBACK_EVENT_FILTERS as readonly string[]).includes(value);
}

/**
 * Whether a completed rule evaluation with `verdict` is posted under `filter`.
 *
 * `decisions` and `flagged_error_decisions` also ask for human approve/reject decisions, which
 * Tracehouse does not record yet: so `decisions` never fires on an evaluation, and
 * `flagged_error_decisions` fires on evaluations exactly like `flagged_error`.
 */
export function evaluationMatches(filter: CallbackEventFilter, verdict: Verdict): boolean {
  switch (filter) {
    case 'all':
      return true;
    case 'flagged_error':
    case 'flagged_error_decisions':
      return verdict === 'flagged' || verdict === 'error';
    case 'pass':
      return verdict === 'pass';
    case 'decisions':
      return false;
  }
}
