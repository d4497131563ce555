/**
 * Deleting stored logs: a ClickHouse lightweight DELETE (it works embedded, on a server and, run
 * ON CLUSTER when the store has a cluster, on every node's local tables) of the workspace's log
 * spans matching the filter and of their rows in the log index tables (the rows are gone from every later read), then the attachment files those
 * logs referenced that no remaining log (of any workspace: files are shared by content) references.
 * The logs to delete are found in the narrow index tables, never by scanning the spans table.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { TraceStore } from '../../core/component';
import { onClusterClause } from '../../core/clickhouse/cluster-ddl';
import { LOG_IDS_TABLE, LOG_INDEX_TABLE, LOG_PROJECT_TABLE, LogIndex } from './log-index';
import { SPANS_TABLE, sqlString, sqlStringList, tableOf } from './projects-sql';
import type { ControlObjects } from '../../core/control/catalog';

export interface LogFilter {
  /** These log ids (at most MAX_DELETE_IDS per call). */
  ids?: readonly string[];
  project?: string;
  task?: string;
}

/** Ids one call deletes at most (the bulk API's bound). */
export const MAX_DELETE_IDS = 1_000;

const SHA256_REF = /^sha256:([0-9a-f]{64})$/;

/**
 * A lightweight DELETE of `name`'s rows matching `where`, ON CLUSTER on a clustered store. On a
 * store whose reads apply registered deletes (asyncDeletes), it returns once registered: waiting
 * for the engine to rewrite every part of a table partitioned by day took ~13 s per delete.
 */
export function deleteStatement(store: TraceStore, name: string, where: string): string {
  const settings = store.asyncDeletes ? ' SETTINGS lightweight_deletes_sync = 0' : '';
  return `DELETE FROM ${tableOf(store, name)}${onClusterClause(store.clusterName)} WHERE ${where}${settings}`;
}

interface Found {
  log_id: string;
  project: string;
  trace_id: string;
  span_id: string;
  day: string;
  attachment_refs: string[];
}

/**
 * Deletes the workspace's logs matching `filter` (every given field must match; an empty filter
 * deletes nothing) and their unreferenced attachments; resolves with the ids deleted.
 */
export async function deleteLogIds(store: TraceStore, workspace: string, filter: LogFilter, attachmentsDir: string): Promise<string[]> {
  if (filter.ids === undefined && filter.project === undefined && filter.task === undefined) return [];
  if (filter.ids !== undefined && filter.ids.length === 0) return [];
  if (filter.ids !== undefined && filter.ids.length > MAX_DELETE_IDS) throw new RangeError(`at most ${MAX_DELETE_IDS} ids per delete`);
  await LogIndex.forStore(store).ensure();
  const conditions = [`workspace = ${sqlString(workspace)}`];
  if (filter.ids !== undefined) conditions.push(`log_id IN ${sqlStringList(filter.ids)}`);
  if (filter.project !== undefined) conditions.push(`project = ${sqlString(filter.project)}`);
  if (filter.task !== undefined) conditions.push(`task = ${sqlString(filter.task)}`);
  const where = conditions.join(' AND ');
  if (filter.ids === undefined) return deleteByProject(store, workspace, filter, where, attachmentsDir);
  // By id: the ids table's key (a project or task: deleteByProject, on the index).
  const found = await store.selectRows<Found>(`SELECT log_id, project, trace_id, span_id, toString(toDate(timestamp)) AS day, attachment_refs FROM ${tableOf(store, LOG_IDS_TABLE)} WHERE ${where}`);
  if (found.length === 0) return [];
  // The spans by their trace and span ids (bloom-filter index), within their days (partitions).
  await store.command(
    deleteStatement(
      store,
      SPANS_TABLE,
      `toDate(Timestamp) IN ${sqlStringList([...new Set(found.map((f) => f.day))])} AND TraceId IN ${sqlStringList([...new Set(found.map((f) => f.trace_id))])} AND SpanId IN ${sqlStringList(found.map((f) => f.span_id))} AND ${LOG_SPANS_OF(workspace)}`,
    ),
  );
  const ids = [...new Set(found.map((f) => f.log_id))];
  const idWhere = `workspace = ${sqlString(workspace)} AND log_id IN ${sqlStringList(ids)}`;
  await store.command(deleteStatement(store, LOG_INDEX_TABLE, idWhere));
  // The project-ordered copy by its key's project too (its logs' projects).
  await store.command(deleteStatement(store, LOG_PROJECT_TABLE, `${idWhere} AND project IN ${sqlStringList([...new Set(found.map((f) => f.project))])}`));
  await store.command(deleteStatement(store, LOG_IDS_TABLE, idWhere));
  await removeUnreferencedFiles(store, found.flatMap((f) => f.attachment_refs), attachmentsDir);
  return ids;
}

const LOG_SPANS_OF = (workspace: string) => `Workspace = ${sqlString(workspace)} AND SpanAttributes['tracehouse.record_type'] = 'log'`;

/** A project's (or a project task's) logs: one DELETE per table by the same condition. */
async function deleteByProject(store: TraceStore, workspace: string, filter: LogFilter, where: string, attachmentsDir: string): Promise<string[]> {
  const found = await store.selectRows<{ ids: string[]; refs: string[] }>(
    `SELECT groupUniqArray(log_id) AS ids, groupUniqArrayArray(attachment_refs) AS refs FROM ${tableOf(store, LOG_PROJECT_TABLE)} WHERE ${where}`,
  );
  const ids = found[0]?.ids ?? [];
  if (ids.length === 0) return [];
  const spanConditions = [LOG_SPANS_OF(workspace)];
  if (filter.project !== undefined) spanConditions.push(`Project = ${sqlString(filter.project)}`);
  if (filter.task !== undefined) spanConditions.push(`SpanAttributes['tracehouse.task'] = ${sqlString(filter.task)}`);
  await store.command(deleteStatement(store, SPANS_TABLE, spanConditions.join(' AND ')));
  for (const name of [LOG_INDEX_TABLE, LOG_PROJECT_TABLE, LOG_IDS_TABLE]) await store.command(deleteStatement(store, name, where));
  await removeUnreferencedFiles(store, found[0]?.refs ?? [], attachmentsDir);
  return ids;
}

/** Deletes the workspace's logs matching `filter` and their unreferenced attachments; resolves with how many logs went. */
export async function deleteLogs(store: TraceStore, workspace: string, filter: LogFilter, attachmentsDir: string): Promise<number> {
  return (await deletedLogIds(store, workspace, filter, attachmentsDir)).length;
}

/** As deleteLogs, resolving with the ids of the logs that went (for their tombstones). */
export async function deletedLogIds(store: TraceStore, workspace: string, filter: LogFilter, attachmentsDir: string): Promise<string[]> {
  if (filter.ids === undefined || filter.ids.length <= MAX_DELETE_IDS) return deleteLogIds(store, workspace, filter, attachmentsDir);
  const ids: string[] = [];
  for (let i = 0; i < filter.ids.length; i += MAX_DELETE_IDS) ids.push(...(await deleteLogIds(store, workspace, { ...filter, ids: filter.ids.slice(i, i + MAX_DELETE_IDS) }, attachmentsDir)));
  return ids;
}

/**
 * Deletes a project's (or a project task's) logs and writes their `deleted_log` tombstones, so that
 * a replay of one of their ids within the idempotency window stays deleted, as for a single log.
 * Their decisions go too (a later log with the same id must not inherit one); the audit table
 * keeps the record.
 */
export async function deleteProjectLogs(store: TraceStore, objects: ControlObjects, workspace: string, filter: { project: string; task?: string }, attachmentsDir: string, principal: string): Promise<void> {
  const ids = await deletedLogIds(store, workspace, filter, attachmentsDir);
  const deletedAt = new Date().toISOString();
  for (let i = 0; i < ids.length; i += MAX_DELETE_IDS) {
    const chunk = ids.slice(i, i + MAX_DELETE_IDS);
    await objects.writeMany('deleted_log', workspace, chunk.map((id) => ({ id, spec: { deletedAt, project: filter.project, ...(filter.task !== undefined ? { task: filter.task } : {}) } })), principal);
    const decided = [...(await objects.fetch('decision', workspace, chunk)).keys()];
    if (decided.length > 0) await objects.writeMany('decision', workspace, decided.map((id) => ({ id, spec: null })), principal);
  }
}

async function removeUnreferencedFiles(store: TraceStore, refs: readonly string[], attachmentsDir: string): Promise<void> {
  const candidates = [...new Set(refs.filter((ref) => SHA256_REF.test(ref)))];
  if (candidates.length === 0) return;
  const kept = await store.selectRows<{ ref: string }>(
    `SELECT DISTINCT arrayJoin(attachment_refs) AS ref FROM ${tableOf(store, LOG_IDS_TABLE)} WHERE hasAny(attachment_refs, [${candidates.map(sqlString).join(', ')}]) AND ref IN ${sqlStringList(candidates)}`,
  );
  const stillUsed = new Set(kept.map((k) => k.ref));
  for (const ref of candidates) {
    if (stillUsed.has(ref)) continue;
    // The file name is the SHA-256 the pattern matched: 64 hex digits, never user text.
    const sha = SHA256_REF.exec(ref)?.[1];
    if (sha) await rm(path.join(attachmentsDir, sha), { force: true });
  }
}
