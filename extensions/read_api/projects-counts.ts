/**
 * How many logs each project and task of a workspace has, and when its first log came: one
 * GROUP BY over the narrow log index (tracehouse_log_index, keyed by workspace first), never over
 * the spans table.
 */
import type { TraceStore } from '../../core/component';
import { LOG_INDEX_TABLE, LogIndex } from './log-index';
import { sqlString, sqlStringList, tableOf } from './projects-sql';

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
  await LogIndex.forStore(store).ensure();
  const onlyProjects = projects ? ` AND project IN ${sqlStringList(projects)}` : '';
  const sql = `SELECT project, task, count() AS n, toUnixTimestamp64Milli(min(timestamp)) AS first_ms
FROM ${tableOf(store, LOG_INDEX_TABLE)}
WHERE workspace = ${sqlString(workspace)}${onlyProjects}
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
