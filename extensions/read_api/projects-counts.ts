/**
 * How many logs each project and task of a workspace has, and when its first log came: one
 * GROUP BY over the narrow log index (tracehouse_log_index) when it exists, over the spans table
 * restricted to the workspace's logs otherwise.
 */
import type { TraceStore } from '../../core/component';
import { SPANS_TABLE, sqlString, sqlStringList, tableOf } from './projects-sql';

export interface LogCount {
  project: string;
  /** '' for logs without a task. */
  task: string;
  count: number;
  /** Milliseconds since the epoch of the earliest log. */
  firstAt: number;
}

interface CountRow {
  project: string;
  task: string;
  n: string | number;
  first_ms: string | number;
}

/** Counts per (project, task) of `workspace`, optionally only for the given project names. */
export async function logCounts(store: TraceStore, workspace: string, projects?: readonly string[]): Promise<LogCount[]> {
  if (projects && projects.length === 0) return [];
  const onlyProjects = projects ? ` AND Project IN ${sqlStringList(projects)}` : '';
  const sql = `SELECT Project AS project, SpanAttributes['tracehouse.task'] AS task, count() AS n, toUnixTimestamp64Milli(min(Timestamp)) AS first_ms
FROM ${tableOf(store, SPANS_TABLE)}
WHERE Workspace = ${sqlString(workspace)} AND SpanAttributes['tracehouse.record_type'] = 'log'${onlyProjects}
GROUP BY project, task`;
  const rows = await store.selectRows<CountRow>(sql);
  return rows.map((r) => ({ project: r.project, task: r.task, count: Number(r.n), firstAt: Number(r.first_ms) }));
}

/** Logs of any of `names` (a project's name and former names), optionally of one task. */
export function countOf(counts: readonly LogCount[], names: readonly string[], task?: string): number {
  let total = 0;
  for (const c of counts) if (names.includes(c.project) && (task === undefined || c.task === task)) total += c.count;
  return total;
}

/** The earliest log of any of `names`, if any. */
export function firstLogOf(counts: readonly LogCount[], names: readonly string[], task?: string): number | undefined {
  let first: number | undefined;
  for (const c of counts) {
    if (names.includes(c.project) && (task === undefined || c.task === task) && (first === undefined || c.firstAt < first)) first = c.firstAt;
  }
  return first;
}
