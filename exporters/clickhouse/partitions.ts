/**
 * The spans table is `PARTITION BY toDate(Timestamp)`, and ClickHouse refuses a whole insert whose
 * rows fall into more than `max_partitions_per_insert_block` (default 100) partitions. A backfill
 * of a few months in one request would then fail every request sharing its insert, again on each
 * retry. So a call is cut into groups of at most MAX_DAYS_PER_INSERT days, and the batcher never
 * puts more days than that into one insert.
 *
 * Days are counted in UTC: toDate() uses the server's time zone, in which one UTC day touches at
 * most two dates, so 48 UTC days are at most 96 partitions in any time zone.
 */
import type { Span } from '../../core/span';

export const MAX_DAYS_PER_INSERT = 48;

const NANOS_PER_DAY = 86_400_000_000_000n;
const MAX_INT64 = (1n << 63n) - 1n;

/** The UTC day of the span's Timestamp column, clamped as rows.ts clamps it. */
export function dayOf(span: Span): number {
  const t = span.startTimeUnixNano;
  if (t <= 0n) return 0;
  return Number((t > MAX_INT64 ? MAX_INT64 : t) / NANOS_PER_DAY);
}

/** Distinct days of spans[from, to). */
export function daysOf(spans: readonly Span[], from: number, to: number): number[] {
  const days = new Set<number>();
  for (let i = from; i < to; i++) days.add(dayOf(spans[i]));
  return [...days];
}

export interface SpanGroup {
  spans: readonly Span[];
  days: number[];
}

/**
 * The call as groups of at most `maxSpans` spans and `maxDays` days. The common case (a call
 * within a few days) keeps the spans in their order and cuts by size only.
 */
export function groupByDays(spans: readonly Span[], maxSpans: number, maxDays = MAX_DAYS_PER_INSERT): SpanGroup[] {
  const groups: SpanGroup[] = [];
  if (daysOf(spans, 0, spans.length).length <= maxDays) {
    for (let from = 0; from < spans.length; from += maxSpans) {
      const to = Math.min(from + maxSpans, spans.length);
      const part = from === 0 && to === spans.length ? spans : spans.slice(from, to);
      groups.push({ spans: part, days: daysOf(spans, from, to) });
    }
    return groups;
  }
  const byDay = new Map<number, Span[]>();
  for (const span of spans) {
    const day = dayOf(span);
    const list = byDay.get(day);
    if (list) list.push(span);
    else byDay.set(day, [span]);
  }
  let current: Span[] = [];
  let days: number[] = [];
  const close = () => {
    if (current.length > 0) groups.push({ spans: current, days });
    current = [];
    days = [];
  };
  for (const day of [...byDay.keys()].sort((a, b) => a - b)) {
    for (const span of byDay.get(day) as Span[]) {
      const newDay = days[days.length - 1] !== day;
      if (current.length >= maxSpans || (newDay && days.length >= maxDays)) close();
      if (days[days.length - 1] !== day) days.push(day);
      current.push(span);
    }
  }
  close();
  return groups;
}
