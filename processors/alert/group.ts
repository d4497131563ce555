/**
 * What an incident is "for": the values of a rule's group_by dimensions. The same dimension is
 * read from a span in memory (per-span rules) and from a stored row in SQL (windowed rules), and
 * both must agree, so the two readings live side by side here and follow exporters/clickhouse/rows.ts
 * (which attribute fills which column).
 */
import { attributeToString, type AttributeValue, type Attributes, type Span } from '../../core/span';

const ATTRIBUTE_PREFIX = 'attribute:';

function firstText(sources: readonly Attributes[], keys: readonly string[]): string {
  for (const attrs of sources) {
    for (const key of keys) {
      const value: AttributeValue | undefined = attrs[key];
      if (value !== undefined && value !== null && value !== '') return attributeToString(value);
    }
  }
  return '';
}

/** The value of one group_by dimension on a span, as the spans table would store it. */
export function spanDimension(span: Span, dimension: string): string {
  const own = span.attributes;
  const resource = span.resource.attributes;
  switch (dimension) {
    case 'workspace':
      return firstText([own, resource], ['tracehouse.workspace']);
    case 'project':
      return firstText([own, resource], ['tracehouse.project']);
    case 'environment':
      return firstText([own, resource], ['tracehouse.environment', 'deployment.environment.name', 'deployment.environment']);
    case 'model':
      return firstText([own], ['gen_ai.request.model']);
    case 'service':
      return firstText([resource], ['service.name']);
    default: {
      const value = own[dimension.slice(ATTRIBUTE_PREFIX.length)];
      return value === undefined ? '' : attributeToString(value);
    }
  }
}

/** ClickHouse string literal (single quotes; backslash and quote escaped). */
export function sqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** The column (or map lookup) of the spans table that holds a dimension. */
export function dimensionColumn(dimension: string): string {
  switch (dimension) {
    case 'workspace':
      return 'Workspace';
    case 'project':
      return 'Project';
    case 'environment':
      return 'Environment';
    case 'model':
      return 'GenAIRequestModel';
    case 'service':
      return 'ServiceName';
    default:
      return `SpanAttributes[${sqlString(dimension.slice(ATTRIBUTE_PREFIX.length))}]`;
  }
}

/** The group as shown to people: { workspace: 'acme', 'attribute:customer.tier': 'gold' }. */
export type Group = Record<string, string>;

export function groupOf(groupBy: readonly string[], valueOf: (dimension: string) => string): Group {
  const group: Group = {};
  for (const dimension of groupBy) group[dimension] = valueOf(dimension);
  return group;
}

/** A stable key for a group (dimension order as configured); '' when the rule is ungrouped. */
export function groupKey(groupBy: readonly string[], group: Group): string {
  return groupBy.length === 0 ? '' : JSON.stringify(groupBy.map((d) => [d, group[d] ?? '']));
}

/** "workspace=acme, model=gpt-4o", or "all spans" for an ungrouped rule. */
export function describeGroup(group: Group): string {
  const entries = Object.entries(group);
  return entries.length === 0 ? 'all spans' : entries.map(([k, v]) => `${k}=${v === '' ? '(none)' : v}`).join(', ');
}
