/**
 * Per-span conditions: decided on each span as it passes through, from its attributes alone.
 * A batch is reduced to one reading per rule and group (how many spans matched, the latest ones'
 * trace ids), so a burst of matching spans costs one incident update, not one per span.
 */
import type { Severity } from '../../core/evaluation';
import { globMatcher } from '../../core/glob';
import { attributeAsNumber, type Span, type SpanBatch } from '../../core/span';
import type { AlertFilter, AlertRuleConfig, PerSpanCondition } from './config';
import { groupKey, groupOf, spanDimension, type Group } from './group';

const SEVERITY_RANK: Record<Severity, number> = { low: 1, medium: 2, high: 3, critical: 4 };

/**
 * `*` crosses `/` too (bash globstar rules), so `*gpt-4o*` matches `openai/gpt-4o`. Model names
 * come from clients: the glob matches in linear time (core/glob), however long the name.
 */
export function modelMatcher(glob: string): (model: string) => boolean {
  return globMatcher(glob, { braces: true, questionMarkSkipsSlash: true });
}

/** Whether a span is one the rule's filter lets through. */
export function spanFilter(filter: AlertFilter): (span: Span) => boolean {
  const model = filter.model === undefined ? undefined : modelMatcher(filter.model);
  return (span) =>
    (filter.workspace === undefined || spanDimension(span, 'workspace') === filter.workspace) &&
    (filter.project === undefined || spanDimension(span, 'project') === filter.project) &&
    (model === undefined || model(spanDimension(span, 'model'))) &&
    (filter.operation === undefined || span.attributes['gen_ai.operation.name'] === filter.operation);
}

/** The span's value for the condition when it meets it, else undefined. */
export function spanValue(condition: PerSpanCondition, span: Span): number | undefined {
  const attrs = span.attributes;
  switch (condition.type) {
    case 'verdict': {
      const verdict = attrs['tracehouse.verdict'];
      if (verdict !== 'flagged' && verdict !== 'error') return undefined;
      if (!condition.verdicts.includes(verdict)) return undefined;
      // Only triggered findings carry a severity: an 'error' verdict (a rule could not run) has none.
      if (condition.min_severity !== undefined && verdict === 'flagged') {
        const severity = attrs['tracehouse.verdict.severity'];
        const rank = typeof severity === 'string' ? SEVERITY_RANK[severity as Severity] : undefined;
        if (rank === undefined || rank < SEVERITY_RANK[condition.min_severity]) return undefined;
      }
      return 1;
    }
    case 'error_status':
      return span.status.code === 'error' ? 1 : undefined;
    case 'cost_above': {
      const cost = attributeAsNumber(attrs['tracehouse.cost_usd']);
      return cost !== undefined && Number.isFinite(cost) && cost > condition.threshold_usd ? cost : undefined;
    }
  }
}

/** What one batch showed for one rule and group. */
export interface SpanMatches {
  groupKey: string;
  group: Group;
  /** Matching spans in the batch. */
  count: number;
  /** The value of the last matching span (its cost for cost_above). */
  lastValue: number;
  /** Trace ids of the matching spans, latest first, distinct. */
  traceIds: string[];
}

export class SpanRule {
  private readonly passes: (span: Span) => boolean;

  constructor(
    readonly config: AlertRuleConfig,
    readonly condition: PerSpanCondition,
  ) {
    this.passes = spanFilter(config.filter);
  }

  /** Groups the matching spans of a batch. */
  match(batch: SpanBatch, maxTraceIds: number): SpanMatches[] {
    const groups = new Map<string, SpanMatches>();
    for (const span of batch) {
      if (!this.passes(span)) continue;
      const value = spanValue(this.condition, span);
      if (value === undefined) continue;
      const group = groupOf(this.config.group_by, (d) => spanDimension(span, d));
      const key = groupKey(this.config.group_by, group);
      let matches = groups.get(key);
      if (!matches) {
        matches = { groupKey: key, group, count: 0, lastValue: value, traceIds: [] };
        groups.set(key, matches);
      }
      matches.count += 1;
      matches.lastValue = value;
      const at = matches.traceIds.indexOf(span.traceId);
      if (at >= 0) matches.traceIds.splice(at, 1);
      matches.traceIds.unshift(span.traceId);
      if (matches.traceIds.length > maxTraceIds) matches.traceIds.length = maxTraceIds;
    }
    return [...groups.values()];
  }

  /**
   * The incident value after these matches: the number of matching spans since the incident
   * opened for verdict and error-status rules, the latest span's cost for cost_above.
   */
  valueAfter(previous: number | undefined, matches: SpanMatches): number {
    return this.condition.type === 'cost_above' ? matches.lastValue : (previous ?? 0) + matches.count;
  }
}

/** Latest trace ids first, without repeats, at most `max`. */
export function mergeTraceIds(latest: readonly string[], earlier: readonly string[], max: number): string[] {
  const out: string[] = [];
  for (const id of [...latest, ...earlier]) {
    if (!out.includes(id)) out.push(id);
    if (out.length === max) break;
  }
  return out;
}
