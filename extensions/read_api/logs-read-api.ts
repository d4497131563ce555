/**
 * The log-evaluation API's reads: `GET /api/logs` (filters, sorting, pages and the summary),
 * `GET /api/logs/:id`, `GET /api/logs/:id/status` and `GET /api/logs/tasks`. Every read goes to
 * the log index tables (log-index.ts) of the caller's workspace, never to the spans table.
 */
import type { Host, TraceStore } from '../../core/component';
import { OBJECTS_TABLE } from '../../core/control/object-table';
import type { ApiRoute } from '../../core/http-api';
import { notFound } from '../../core/http-api';
import { IngestError } from '../../core/ingest/problems';
import type { IndexRow } from './log-index';
import { INDEX_COLUMNS, LOG_IDS_TABLE, LOG_INDEX_TABLE, LOG_PROJECT_TABLE, LogIndex, rowsByIds } from './log-index';
import { listConditions, orderBy, parseLogListQuery } from './logs-query';
import type { LogListQuery } from './logs-query';
import { decisionIn, decisionsOf, executionOf, logOf, projectsByName, statusOf } from './logs-shape';
import type { LogDetail } from './logs-shape';
import { sqlString, sqlStringList, tableOf } from './projects-sql';
import type { ReadApiDeps } from './routes';

export const LOGS_LIST_PATH = '/api/logs';
/** Served beside the logs receiver's POST /api/logs, so not claimed (the receiver claims the path). */
export const LOGS_READ_PATHS = ['/api/logs/tasks', '/api/logs/:id', '/api/logs/:id/status'] as const;

/** Ids are at most this long (as the logs receiver accepts them); longer ones are unknown. */
export const MAX_LOG_ID = 256;

/** The store and its index, ready; 503 while no clickhouse exporter runs. */
export async function logStore(host: Host, deps: ReadApiDeps): Promise<TraceStore> {
  const store = host.store();
  if (!store) throw new IngestError(503, 'API_NO_STORE', 'no clickhouse exporter runs in this daemon: logs cannot be read', undefined, 60);
  await LogIndex.forStore(store, deps.logger).ensure();
  return store;
}

/** `[id]` when it can be a log id, else none. */
function validId(id: string): string[] {
  return id.length > 0 && id.length <= MAX_LOG_ID ? [id] : [];
}

/** The log's index row in the caller's workspace, or 404 (the same whether it exists elsewhere or not). */
export async function findLog(store: TraceStore, workspace: string, id: string): Promise<IndexRow> {
  const [row] = id.length > 0 && id.length <= MAX_LOG_ID ? await rowsByIds(store, workspace, [id]) : [];
  if (!row) throw notFound(`log "${id.slice(0, 100)}"`);
  return row;
}

/**
 * `log_key` of the workspace's decided logs (the latest decision objects, FINAL: a deleted
 * decision's older versions do not count), as a subquery: one range of the objects table's
 * ordering key (kind, workspace, id). Decisions are not held in memory (STORED_ONLY_KINDS).
 */
function decidedKeys(store: TraceStore, workspace: string): string {
  return `(SELECT cityHash64(id) FROM ${tableOf(store, OBJECTS_TABLE)} FINAL WHERE kind = 'decision' AND workspace = ${sqlString(workspace)} AND deleted = 0)`;
}

const FLAGGED_OR_ERROR = `status IN ('flagged', 'error')`;
// Parts of different months never hold the same log: FINAL need not merge across them. The skip
// indexes (session, subject, actor) apply under FINAL too: a replayed log keeps those values.
const READ_SETTINGS = 'SETTINGS do_not_merge_across_partitions_select_final = 1, use_skip_indexes_if_final = 1';

/** A log's index row with its text and detail: one lookup by id; 404 when not in the workspace. */
async function logWithDetail(store: TraceStore, workspace: string, id: string): Promise<IndexRow & LogDetail> {
  const [row] =
    id.length > 0 && id.length <= MAX_LOG_ID
      ? await store.selectRows<IndexRow & LogDetail>(
          `SELECT ${INDEX_COLUMNS}, detail AS attributes, input, output FROM ${tableOf(store, LOG_IDS_TABLE)} WHERE workspace = ${sqlString(workspace)} AND log_id = ${sqlString(id)} LIMIT 1`,
        )
      : [];
  if (!row) throw notFound(`log "${id.slice(0, 100)}"`);
  return row;
}

/** Pages up to this many rows deep (offset + limit) are read keys first. */
const KEYS_FIRST_DEPTH = 1_000;

/**
 * A page of the list. FINAL passes every filtered column of the whole range through its merge
 * (no PREWHERE under FINAL), so a newest-first page is read keys first: the first rows of any
 * version that match, without FINAL (read in the key's order, through the skip indexes, stopping
 * early), then FINAL on just those keys, filters applied again. Versions of a log share
 * (timestamp, log_key), so they rank together, and the candidates hold every log ranked before
 * the last of them: the page is exact whenever it comes back full or the candidates were all the
 * matching rows. Otherwise (a newer version of a candidate stopped matching) it is read in one
 * FINAL pass, as are other sort orders (a newer version may rank elsewhere) and deep pages.
 */
async function pageRows(store: TraceStore, index: string, where: string, query: LogListQuery): Promise<IndexRow[]> {
  const offset = (query.page - 1) * query.limit;
  const order = orderBy(query);
  const rest = `ORDER BY ${order} LIMIT ${query.limit} OFFSET ${offset} ${READ_SETTINGS}`;
  const whole = () => store.selectRows<IndexRow>(`SELECT ${INDEX_COLUMNS} FROM ${index} WHERE ${where} ${rest}`);
  if (query.sortBy !== 'timestamp' || offset + query.limit > KEYS_FIRST_DEPTH) return whole();
  const cap = 2 * (offset + query.limit);
  const keys = await store.selectRows<{ ns: string; key: string }>(
    `SELECT toString(toUnixTimestamp64Nano(timestamp)) AS ns, toString(log_key) AS key FROM ${index} WHERE ${where} ORDER BY ${order} LIMIT ${cap} SETTINGS final = 0`,
  );
  // No version of any log matches: nothing does.
  if (keys.length === 0) return [];
  const rows = await store.selectRows<IndexRow>(
    `SELECT ${INDEX_COLUMNS} FROM ${index} WHERE ${where} AND (toUnixTimestamp64Nano(timestamp), log_key) IN (${keys.map((k) => `(${BigInt(k.ns)}, ${BigInt(k.key)})`).join(', ')}) ${rest}`,
  );
  return rows.length < query.limit && keys.length === cap ? whole() : rows;
}

interface SummaryRow {
  total: string | number;
  failures: string | number;
  passes: string | number;
  pending: string | number;
}

export function logReadRoutes(deps: ReadApiDeps): ApiRoute[] {
  const { host } = deps;
  const objects = host.objects;
  return [
    {
      method: 'GET',
      path: LOGS_LIST_PATH,
      role: 'read',
      handle: async ({ workspace, query: raw }) => {
        const query = parseLogListQuery(raw);
        const store = await logStore(host, deps);
        const projects = projectsByName(objects, workspace);
        let names: string[] | undefined;
        if (query.project !== undefined) {
          const project = projects.get(query.project);
          names = project ? [...projects].filter(([, p]) => p.id === project.id).map(([n]) => n) : [query.project];
        }
        const conditions = listConditions(workspace, query, names);
        if (query.pending === true) conditions.push(`${FLAGGED_OR_ERROR} AND log_key NOT IN ${decidedKeys(store, workspace)}`);
        const where = conditions.join(' AND ');
        // Filtered by project: the project-ordered copy reads that project's range of its key only.
        const index = tableOf(store, names !== undefined ? LOG_PROJECT_TABLE : LOG_INDEX_TABLE);
        // The page and the summary read the same rows: asked at once, the answer waits for the slower.
        // The page's decisions: one read of the objects table for the page's ids.
        const [{ rows, decisions }, [summary]] = await Promise.all([
          pageRows(store, index, where, query)
            .then(async (page) => ({ rows: page, decisions: await decisionsOf(objects, workspace, page.map((row) => row.log_id)) })),
          store.selectRows<SummaryRow>(
            `SELECT count() AS total, countIf(${FLAGGED_OR_ERROR}) AS failures, countIf(status = 'pass') AS passes,
  countIf(${FLAGGED_OR_ERROR} AND log_key NOT IN ${decidedKeys(store, workspace)}) AS pending
FROM ${index} WHERE ${where} ${READ_SETTINGS}`,
          ),
        ]);
        const total = Number(summary?.total ?? 0);
        return {
          status: 200,
          body: {
            executions: rows.map((row) => executionOf(row, workspace, projects, decisionIn(decisions, row.log_id))),
            total,
            page: query.page,
            limit: query.limit,
            summary: {
              totalRuns: total,
              failuresDetected: Number(summary?.failures ?? 0),
              pendingReviews: Number(summary?.pending ?? 0),
              // Percent of the logs that passed, one decimal.
              successRate: total === 0 ? 0 : Math.round((Number(summary?.passes ?? 0) / total) * 1000) / 10,
            },
          },
        };
      },
    },
    {
      method: 'GET',
      path: '/api/logs/tasks',
      role: 'read',
      handle: async ({ workspace, query }) => {
        const unknown = Object.keys(query).filter((k) => k !== 'project');
        if (unknown.length > 0) throw new IngestError(422, 'API_VALIDATION', `invalid query: ${unknown[0]}: is not a parameter here (parameters: project)`, [{ path: [unknown[0]], message: 'is not a parameter here', code: 'unknown_field' }]);
        const project = query.project;
        if (project !== undefined && (project.length === 0 || project.length > 256)) {
          throw new IngestError(422, 'API_VALIDATION', 'invalid query: project: must be 1 to 256 characters', [{ path: ['project'], message: 'must be 1 to 256 characters', code: 'invalid_value' }]);
        }
        const store = await logStore(host, deps);
        const projects = projectsByName(objects, workspace);
        const target = project !== undefined ? projects.get(project) : undefined;
        const names = project === undefined ? undefined : target ? [...projects].filter(([, p]) => p.id === target.id).map(([n]) => n) : [project];
        const inferred = await store.selectRows<{ task: string }>(
          `SELECT DISTINCT task FROM ${tableOf(store, names ? LOG_PROJECT_TABLE : LOG_INDEX_TABLE)} WHERE workspace = ${sqlString(workspace)} AND task != ''${names ? ` AND project IN ${sqlStringList(names)}` : ''} ${READ_SETTINGS}`,
        );
        const registered = objects
          .list('task', workspace)
          .filter((t) => t.workspace === workspace && (project === undefined || (target !== undefined && t.spec.projectId === target.id)))
          .map((t) => t.spec.name)
          .filter((n): n is string => typeof n === 'string');
        return { status: 200, body: [...new Set([...registered, ...inferred.map((r) => r.task)])].sort() };
      },
    },
    {
      method: 'GET',
      path: '/api/logs/:id',
      role: 'read',
      handle: async ({ workspace, params }) => {
        const store = await logStore(host, deps);
        // The decision is read beside the log (by the asked id: the log's when it is found).
        const [row, decisions] = await Promise.all([logWithDetail(store, workspace, params.id), decisionsOf(objects, workspace, validId(params.id))]);
        return { status: 200, body: logOf(row, workspace, projectsByName(objects, workspace), decisionIn(decisions, row.log_id), row) };
      },
    },
    {
      method: 'GET',
      path: '/api/logs/:id/status',
      role: 'read',
      handle: async ({ workspace, params }) => {
        const store = await logStore(host, deps);
        const [row, decisions] = await Promise.all([findLog(store, workspace, params.id), decisionsOf(objects, workspace, validId(params.id))]);
        return { status: 200, body: statusOf(row, decisionIn(decisions, row.log_id)) };
      },
    },
  ];
}
