/**
 * Deleting stored logs: a ClickHouse lightweight DELETE of the workspace's log spans matching the
 * filter (the rows are gone from every later read), then the attachment files those logs
 * referenced that no remaining log (of any workspace: files are shared by content) references.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { TraceStore } from '../../core/component';
import { SPANS_TABLE, sqlString, sqlStringList, tableOf } from './projects-sql';

export interface LogFilter {
  project?: string;
  task?: string;
}

const SHA256_REF = /sha256:([0-9a-f]{64})/g;

/** Deletes the workspace's logs matching `filter` and their unreferenced attachments; resolves with how many logs went. */
export async function deleteLogs(store: TraceStore, workspace: string, filter: LogFilter, attachmentsDir: string): Promise<number> {
  const table = tableOf(store, SPANS_TABLE);
  const conditions = [`Workspace = ${sqlString(workspace)}`, `SpanAttributes['tracehouse.record_type'] = 'log'`];
  if (filter.project !== undefined) conditions.push(`Project = ${sqlString(filter.project)}`);
  if (filter.task !== undefined) conditions.push(`SpanAttributes['tracehouse.task'] = ${sqlString(filter.task)}`);
  const where = conditions.join(' AND ');
  const found = await store.selectRows<{ n: string | number; refs: string[] }>(
    `SELECT count() AS n, groupUniqArrayArray(extractAll(SpanAttributes['tracehouse.attachments'], 'sha256:[0-9a-f]{64}')) AS refs FROM ${table} WHERE ${where}`,
  );
  const count = Number(found[0]?.n ?? 0);
  if (count === 0) return 0;
  await store.command(`DELETE FROM ${table} WHERE ${where}`);
  const candidates = [...new Set((found[0]?.refs ?? []).flatMap((ref) => [...ref.matchAll(SHA256_REF)].map((m) => m[1])))];
  if (candidates.length > 0) {
    const kept = await store.selectRows<{ ref: string }>(
      `SELECT DISTINCT ref FROM (SELECT arrayJoin(extractAll(SpanAttributes['tracehouse.attachments'], 'sha256:[0-9a-f]{64}')) AS ref FROM ${table} WHERE mapContains(SpanAttributes, 'tracehouse.attachments')) WHERE ref IN ${sqlStringList(candidates.map((c) => `sha256:${c}`))}`,
    );
    const stillUsed = new Set(kept.map((k) => k.ref.slice('sha256:'.length)));
    // The file name is the SHA-256 the regex above matched: 64 hex digits, never user text.
    for (const sha of candidates) if (!stillUsed.has(sha)) await rm(path.join(attachmentsDir, sha), { force: true });
  }
  return count;
}
