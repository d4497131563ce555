/**
 * Windowed conditions, computed in ClickHouse over the stored spans rather than from what this
 * process saw: several daemons each see part of the traffic, and only the store sees all of it.
 * One statement per rule returns the groups whose value crosses the threshold, with the value and
 * a few trace ids that show the problem.
 */
import type { TraceStore } from '../../core/component';
import type { AlertRuleConfig, WindowedCondition } from './config';
import { dimensionColumn, groupKey, groupOf, sqlString, type Group } from './group';
import { MAX_EXAMPLES } from './incidents';
import { modelMatcher } from './span-rules';

/** More crossing groups than this in one round is a misconfigured group_by, not an alert storm to send. */
export const MAX_GROUPS = 1000;

export interface WindowReading {
  groupKey: string;
  group: Group;
  value: number;
  exampleTraceIds: string[];
}

interface ReadingRow {
  value: number;
  examples: string[];
  [dimension: string]: unknown;
}

function ident(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

/** The aggregate, in the unit the threshold is given in (ms, USD, ratio, count). */
function valueExpression(condition: WindowedCondition): string {
  switch (condition.type) {
    case 'latency_avg':
      return 'avg(Duration) / 1e6';
    case 'latency_p95':
      return 'quantile(0.95)(Duration) / 1e6';
    case 'error_rate':
      return "countIf(StatusCode = 'Error') / count()";
    case 'cost_sum':
      return 'sum(CostUsd)';
    case 'tokens_sum':
      return 'sum(InputTokens + OutputTokens)';
    case 'flagged_count':
      return "countIf(Verdict = 'flagged')";
    case 'span_count':
      return condition.below ? `countIf(Timestamp >= ${since(condition.window_seconds)})` : 'count()';
  }
}

/** Trace ids that best show the problem: the slowest, costliest, failing or flagged spans' traces. */
function examplesExpression(condition: WindowedCondition): string {
  const n = MAX_EXAMPLES;
  // groupArraySorted keeps only the n smallest keys, so the memory stays bounded for any window.
  const topBy = (key: string) => `arrayDistinct(arrayMap(x -> x.2, groupArraySorted(${n})((-toFloat64(${key}), TraceId))))`;
  switch (condition.type) {
    case 'latency_avg':
    case 'latency_p95':
      return topBy('Duration');
    case 'error_rate':
      return `groupArrayIf(${n})(TraceId, StatusCode = 'Error')`;
    case 'cost_sum':
      return topBy('CostUsd');
    case 'tokens_sum':
      return topBy('InputTokens + OutputTokens');
    case 'flagged_count':
      return `groupArrayIf(${n})(TraceId, Verdict = 'flagged')`;
    case 'span_count':
      return `groupArray(${n})(TraceId)`;
  }
}

function since(seconds: number): string {
  return `now64(9) - INTERVAL ${seconds} SECOND`;
}

/** The window the statement scans; a count that must not fall too low also looks at the window before. */
function lookbackSeconds(condition: WindowedCondition): number {
  // A group with no span at all in the window is missing from a GROUP BY; scanning the window
  // before too lets a group that went silent show up with a count of 0.
  return condition.type === 'span_count' && condition.below ? condition.window_seconds * 2 : condition.window_seconds;
}

function havingClause(condition: WindowedCondition, threshold: number): string {
  const crossing = condition.type === 'span_count' && condition.below ? `value < ${threshold}` : `value > ${threshold}`;
  return condition.type === 'error_rate' ? `count() >= ${condition.min_spans} AND ${crossing}` : crossing;
}

export interface WindowQueryOptions {
  database: string;
  spansTable: string;
  /** When the rule filters on a model glob: the stored model names that match it. */
  models?: readonly string[];
}

/** The statement for one rule. Exported for tests and the README's explanation. */
export function windowQuery(rule: AlertRuleConfig, condition: WindowedCondition, threshold: number, options: WindowQueryOptions): string {
  const dimensions = rule.group_by.map((d, i) => `${dimensionColumn(d)} AS g${i}`);
  const where = [`Timestamp >= ${since(lookbackSeconds(condition))}`];
  const { filter } = rule;
  if (filter.workspace !== undefined) where.push(`Workspace = ${sqlString(filter.workspace)}`);
  if (filter.project !== undefined) where.push(`Project = ${sqlString(filter.project)}`);
  if (filter.operation !== undefined) where.push(`GenAIOperation = ${sqlString(filter.operation)}`);
  if (options.models !== undefined) {
    where.push(options.models.length ? `GenAIRequestModel IN (${options.models.map(sqlString).join(', ')})` : '0');
  }
  const select = [...dimensions, `toFloat64(${valueExpression(condition)}) AS value`, `${examplesExpression(condition)} AS examples`];
  return [
    `SELECT ${select.join(', ')}`,
    `FROM ${ident(options.database)}.${ident(options.spansTable)}`,
    `WHERE ${where.join(' AND ')}`,
    rule.group_by.length ? `GROUP BY ${rule.group_by.map((_, i) => `g${i}`).join(', ')}` : '',
    `HAVING ${havingClause(condition, threshold)}`,
    `ORDER BY value ${condition.type === 'span_count' && condition.below ? 'ASC' : 'DESC'}`,
    `LIMIT ${MAX_GROUPS}`,
  ]
    .filter((line) => line !== '')
    .join('\n');
}

/** Runs one windowed rule against the store: the groups whose value crosses the threshold now. */
export async function readWindow(
  store: TraceStore,
  rule: AlertRuleConfig,
  condition: WindowedCondition,
  threshold: number,
  spansTable: string,
  signal?: AbortSignal,
): Promise<WindowReading[]> {
  let models: string[] | undefined;
  if (rule.filter.model !== undefined) {
    // The glob is matched here, by the same matcher as per-span rules, over the few model names
    // the window holds, so both kinds of rule agree on what `gpt-4*` means.
    const matches = modelMatcher(rule.filter.model);
    const names = await store.selectRows<{ model: string }>(
      `SELECT DISTINCT GenAIRequestModel AS model FROM ${ident(store.database)}.${ident(spansTable)} WHERE Timestamp >= ${since(lookbackSeconds(condition))}`,
      signal,
    );
    models = names.map((r) => r.model).filter((m) => m !== '' && matches(m));
    if (models.length === 0 && !(condition.type === 'span_count' && condition.below)) return [];
  }
  const sql = windowQuery(rule, condition, threshold, { database: store.database, spansTable, models });
  const rows = await store.selectRows<ReadingRow>(sql, signal);
  return rows.map((row) => {
    const group = groupOf(rule.group_by, (d) => String(row[`g${rule.group_by.indexOf(d)}`] ?? ''));
    return {
      groupKey: groupKey(rule.group_by, group),
      group,
      value: Number(row.value),
      exampleTraceIds: (row.examples ?? []).filter((id) => id !== '').slice(0, MAX_EXAMPLES),
    };
  });
}
