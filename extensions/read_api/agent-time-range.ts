/**
 * The time range of list routes: `from` and `to`, each an ISO 8601 time or epoch milliseconds.
 * Without them, the last 7 days; at most 93 days at once (a list reads that window, no more).
 * The range is [from, to): a date-only `to` (2024-11-15) means the end of that day (UTC), so the
 * day itself is included; a date-only `from` is the start of its day.
 */
import { IngestError } from '../../core/ingest/problems';

export const DEFAULT_RANGE_MS = 7 * 24 * 3600 * 1000;
export const MAX_RANGE_MS = 93 * 24 * 3600 * 1000;
const DAY_MS = 24 * 3600 * 1000;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

export interface TimeRange {
  fromMs: number;
  toMs: number;
}

function invalid(field: string, message: string): IngestError {
  return new IngestError(422, 'API_VALIDATION', `invalid query: ${field}: ${message}`, [{ path: [field], message, code: 'invalid_value' }]);
}

function timeOf(field: string, raw: string): number {
  const ms = /^\d{1,15}$/.test(raw) ? Number(raw) : /^\d{4}-\d{2}-\d{2}/.test(raw) ? Date.parse(raw) : Number.NaN;
  if (!Number.isFinite(ms)) throw invalid(field, 'must be an ISO 8601 time or epoch milliseconds');
  return ms;
}

export function parseTimeRange(query: Record<string, string>, now = Date.now()): TimeRange {
  const toMs = query.to === undefined ? now : timeOf('to', query.to) + (DATE_ONLY.test(query.to) ? DAY_MS : 0);
  const fromMs = query.from === undefined ? toMs - DEFAULT_RANGE_MS : timeOf('from', query.from);
  if (fromMs >= toMs) throw invalid('from', 'must be before to');
  if (toMs - fromMs > MAX_RANGE_MS) throw invalid('from', 'the range from..to may span at most 93 days');
  return { fromMs, toMs };
}
