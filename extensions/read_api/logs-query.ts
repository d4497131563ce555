/**
 * GET /api/logs query parameters (the log-evaluation document's list): parsed in linear time,
 * bounded (limit ≤ 100, q ≤ 200 characters, ≤ 20 tags), refused with 422 naming the parameter,
 * and turned into conditions on the log index with every value a quoted literal.
 */
import { IngestError } from '../../core/ingest/problems';
import type { FieldProblem } from '../../core/ingest/problems';
import { SEARCH_COLUMNS, SEARCH_SEPARATOR } from './log-index';
import { sqlString, sqlStringList } from './projects-sql';

export const LOG_STATUSES = ['pending', 'pass', 'flagged', 'error'] as const;
export const SORT_FIELDS = { timestamp: 'timestamp', projectName: 'project', model: 'model', status: 'status', latencyMs: 'latency_ms', costUsd: 'cost_usd' } as const;
export type SortBy = keyof typeof SORT_FIELDS;

export const DEFAULT_LOG_LIMIT = 25;
export const MAX_LOG_LIMIT = 100;
const MAX_PAGE = 100_000;
const MAX_Q = 200;
const MAX_TAGS = 20;
const MAX_VALUE = 256;

export interface LogListQuery {
  pending?: boolean;
  status?: (typeof LOG_STATUSES)[number];
  project?: string;
  task?: string;
  sessionId?: string;
  subjectId?: string;
  actorId?: string;
  q?: string;
  tags?: string[];
  fromMs?: number;
  toMs?: number;
  /** `to` was a date only: toMs is the next midnight, excluded (the whole day is in). */
  toIsDayEnd?: boolean;
  sortBy: SortBy;
  sortDir: 'asc' | 'desc';
  page: number;
  limit: number;
}

const KNOWN = new Set(['pending', 'status', 'project', 'task', 'sessionId', 'subjectId', 'actorId', 'q', 'tags', 'from', 'to', 'sortBy', 'sortDir', 'page', 'limit']);
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

const DAY_MS = 86_400_000;

/**
 * An ISO 8601 date or date-time with a zone, as milliseconds; undefined when not one. A date is
 * its midnight UTC, or with `dayEnd` the next midnight (a date-only `to` takes in its whole day).
 */
function timeOf(value: string, dayEnd = false): number | undefined {
  if (value.length > 40 || !(DATE_ONLY.test(value) || DATE_TIME.test(value))) return undefined;
  const dateOnly = DATE_ONLY.test(value);
  const ms = Date.parse(dateOnly ? `${value}T00:00:00Z` : value);
  return Number.isFinite(ms) ? ms + (dateOnly && dayEnd ? DAY_MS : 0) : undefined;
}

export function parseLogListQuery(query: Record<string, string>): LogListQuery {
  const problems: FieldProblem[] = [];
  const bad = (name: string, message: string) => problems.push({ path: [name], message, code: 'invalid_value' });
  for (const name of Object.keys(query)) if (!KNOWN.has(name)) problems.push({ path: [name], message: `is not a parameter of this list (parameters: ${[...KNOWN].join(', ')})`, code: 'unknown_field' });

  const text = (name: string, max = MAX_VALUE): string | undefined => {
    const value = query[name];
    if (value === undefined) return undefined;
    if (value.length === 0 || value.length > max) {
      bad(name, `must be 1 to ${max} characters`);
      return undefined;
    }
    return value;
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[]): T | undefined => {
    const value = query[name];
    if (value === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(value)) {
      bad(name, `must be one of ${allowed.join(', ')}`);
      return undefined;
    }
    return value as T;
  };
  const whole = (name: string, fallback: number, max: number): number => {
    const value = query[name];
    if (value === undefined) return fallback;
    if (!/^\d{1,7}$/.test(value) || Number(value) < 1 || Number(value) > max) {
      bad(name, `must be a whole number from 1 to ${max}`);
      return fallback;
    }
    return Number(value);
  };
  const time = (name: string): number | undefined => {
    const value = query[name];
    if (value === undefined) return undefined;
    const ms = timeOf(value, name === 'to');
    if (ms === undefined) bad(name, 'must be an ISO 8601 date (2024-11-15) or date-time with a time zone (2024-11-15T10:30:00Z)');
    return ms;
  };

  const pending = oneOf('pending', ['true', 'false'] as const);
  let tags: string[] | undefined;
  const tagText = text('tags', MAX_TAGS * 101);
  if (tagText !== undefined) {
    tags = [...new Set(tagText.split(',').map((t) => t.trim()).filter((t) => t !== ''))];
    if (tags.length === 0 || tags.length > MAX_TAGS || tags.some((t) => t.length > 100)) bad('tags', `must be 1 to ${MAX_TAGS} comma-separated tags of at most 100 characters`);
  }
  const parsed: LogListQuery = {
    pending: pending === undefined ? undefined : pending === 'true',
    status: oneOf('status', LOG_STATUSES),
    project: text('project'),
    task: text('task'),
    sessionId: text('sessionId'),
    subjectId: text('subjectId'),
    actorId: text('actorId'),
    q: text('q', MAX_Q),
    tags,
    fromMs: time('from'),
    toMs: time('to'),
    toIsDayEnd: query.to !== undefined && DATE_ONLY.test(query.to),
    sortBy: oneOf('sortBy', Object.keys(SORT_FIELDS) as SortBy[]) ?? 'timestamp',
    sortDir: oneOf('sortDir', ['asc', 'desc'] as const) ?? 'desc',
    page: whole('page', 1, MAX_PAGE),
    limit: whole('limit', DEFAULT_LOG_LIMIT, MAX_LOG_LIMIT),
  };
  if (parsed.fromMs !== undefined && parsed.toMs !== undefined && (parsed.toIsDayEnd ? parsed.fromMs >= parsed.toMs : parsed.fromMs > parsed.toMs)) bad('to', 'must not be before from');
  if (problems.length > 0) {
    throw new IngestError(422, 'API_VALIDATION', `invalid query: ${problems.map((p) => `${p.path[0]}: ${p.message}`).join('; ')}`, problems);
  }
  return parsed;
}

/** Milliseconds as a DateTime64 literal. */
function timeLiteral(ms: number): string {
  return `fromUnixTimestamp64Milli(toInt64(${Math.trunc(ms)}))`;
}

/**
 * The conditions of a list on the index (besides `pending`, which needs the decisions).
 * `projectNames`: the names the project filter stands for (a renamed project's former names too).
 */
export function listConditions(workspace: string, query: LogListQuery, projectNames: readonly string[] | undefined): string[] {
  const out = [`workspace = ${sqlString(workspace)}`];
  if (projectNames !== undefined) out.push(`project IN ${sqlStringList(projectNames)}`);
  if (query.task !== undefined) out.push(`task = ${sqlString(query.task)}`);
  if (query.sessionId !== undefined) out.push(`session = ${sqlString(query.sessionId)}`);
  if (query.subjectId !== undefined) out.push(`subject = ${sqlString(query.subjectId)}`);
  if (query.actorId !== undefined) out.push(`actor = ${sqlString(query.actorId)}`);
  if (query.status !== undefined) out.push(`status = ${sqlString(query.status)}`);
  if (query.fromMs !== undefined) out.push(`timestamp >= ${timeLiteral(query.fromMs)}`);
  if (query.toMs !== undefined) out.push(`timestamp ${query.toIsDayEnd ? '<' : '<='} ${timeLiteral(query.toMs)}`);
  if (query.tags !== undefined) out.push(`hasAny(tags, [${query.tags.map(sqlString).join(', ')}])`);
  if (query.q !== undefined) out.push(searchCondition(query.q));
  return out;
}

/** `%`, `_` and `\` of a LIKE pattern, taken literally. */
const LIKE_SPECIAL = /[\\%_]/g;

/**
 * q anywhere in project, task, model, session, subject or actor, case-insensitively: a LIKE on
 * the lowercased search column (its n-gram index skips granules), or column by column when q
 * holds the column separator.
 */
function searchCondition(q: string): string {
  if (q.includes(SEARCH_SEPARATOR)) return `(${SEARCH_COLUMNS.map((c) => `positionCaseInsensitiveUTF8(${c}, ${sqlString(q)}) > 0`).join(' OR ')})`;
  return `search LIKE lowerUTF8(${sqlString(`%${q.replace(LIKE_SPECIAL, (c) => `\\${c}`)}%`)})`;
}

/** ORDER BY of a list: the chosen field, then the newest first, then the id. */
export function orderBy(query: LogListQuery): string {
  const field = SORT_FIELDS[query.sortBy];
  const direction = query.sortDir === 'asc' ? 'ASC' : 'DESC';
  return field === 'timestamp' ? `timestamp ${direction}, log_key ${direction}` : `${field} ${direction}, timestamp DESC, log_key DESC`;
}
