/**
 * Which events a log's callback fires on: its `callbackEvents` (tracehouse.callback.events on the
 * span). Shared by rule evaluation (evaluation.completed) and the read API's decisions
 * (decision.recorded).
 */
import type { Verdict } from '../evaluation';

/** The values of a log's `callbackEvents`. */
export const CALLBACK_EVENT_FILTERS = ['all', 'flagged_error', 'pass', 'decisions', 'flagged_error_decisions'] as const;
export type CallbackEventFilter = (typeof CALLBACK_EVENT_FILTERS)[number];

export function isCallbackEventFilter(value: unknown): value is CallbackEventFilter {
  return typeof value === 'string' && (CALLBACK_EVENT_FILTERS as readonly string[]).includes(value);
}

/**
 * Whether a completed rule evaluation with `verdict` is posted under `filter`. `decisions` asks
 * for human decisions only, so it never fires on an evaluation; `flagged_error_decisions` fires on
 * evaluations exactly like `flagged_error` (and on decisions).
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

/**
 * Whether a reviewer's approve/reject is posted under `filter`: only `decisions` and
 * `flagged_error_decisions` ask for it. The log-evaluation document defines `all` as "fires on
 * every completion" and `decisions` as "on human approve/reject": a decision is not a completion,
 * so `all` (and a missing value, which means `all`), `flagged_error` and `pass` never post one.
 */
export function decisionMatches(filter: CallbackEventFilter): boolean {
  return filter === 'decisions' || filter === 'flagged_error_decisions';
}
