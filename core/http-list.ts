/**
 * List conventions of the resource APIs (the self-hosted contract): `?page=1&limit=50` (default
 * 25, max 100: a larger limit is served as 100 where `clampLimit` says so) answered with the
 * total and a `Link` header (first, prev, next, last);
 * `?sort=created_at:desc` over an allow-list of fields; equality filters (`?status=active`) over
 * an allow-list. Bad values are 422 naming the parameter.
 */
import { IngestError } from './ingest/problems';
import type { FieldProblem } from './ingest/problems';

export const DEFAULT_LIMIT = 25;
export const MAX_LIMIT = 100;

export interface ListQuery {
  page: number;
  limit: number;
  sort: { field: string; direction: 'asc' | 'desc' };
  filters: Record<string, string>;
}

export interface ListOptions {
  /** Fields `sort` may name. */
  sortable: readonly string[];
  defaultSort: { field: string; direction: 'asc' | 'desc' };
  /** Query parameters that filter by equality on the field of the same name. */
  filterable: readonly string[];
  /** Other names `sort` may give a sortable field by (e.g. severity for default_severity). */
  sortAliases?: Readonly<Record<string, string>>;
  /** A limit above the maximum is served as the maximum (the contract's "max: 100") instead of refused. */
  clampLimit?: boolean;
}

const RESERVED = new Set(['page', 'limit', 'sort']);

export function parseListQuery(query: Record<string, string>, options: ListOptions): ListQuery {
  const problems: FieldProblem[] = [];
  const whole = (name: string, fallback: number, max: number, clamp = false): number => {
    const raw = query[name];
    if (raw === undefined) return fallback;
    if (clamp && /^\d{1,15}$/.test(raw) && Number(raw) > max) return max;
    if (!/^\d{1,6}$/.test(raw) || Number(raw) < 1 || Number(raw) > max) {
      problems.push({ path: [name], message: `must be a whole number from 1 to ${max}`, code: 'invalid_value' });
      return fallback;
    }
    return Number(raw);
  };
  const page = whole('page', 1, 1_000_000);
  const limit = whole('limit', DEFAULT_LIMIT, MAX_LIMIT, options.clampLimit);
  let sort = options.defaultSort;
  if (query.sort !== undefined) {
    const [named, direction = 'asc', extra] = query.sort.split(':');
    const field = options.sortAliases && Object.prototype.hasOwnProperty.call(options.sortAliases, named) ? options.sortAliases[named] : named;
    if (extra !== undefined || !options.sortable.includes(field) || (direction !== 'asc' && direction !== 'desc')) {
      problems.push({ path: ['sort'], message: `must be <field>:asc or <field>:desc with field one of ${options.sortable.join(', ')}`, code: 'invalid_value' });
    } else sort = { field, direction };
  }
  const filters: Record<string, string> = {};
  for (const [name, value] of Object.entries(query)) {
    if (RESERVED.has(name)) continue;
    if (!options.filterable.includes(name)) {
      problems.push({ path: [name], message: `is not a filter here (filters: ${options.filterable.join(', ') || 'none'})`, code: 'unknown_field' });
      continue;
    }
    filters[name] = value;
  }
  if (problems.length > 0) {
    throw new IngestError(422, 'API_VALIDATION', `invalid query: ${problems.map((p) => `${p.path[0]}: ${p.message}`).join('; ')}`, problems);
  }
  return { page, limit, sort, filters };
}

export interface ListPage<T> {
  body: { data: T[]; total: number; page: number; limit: number };
  headers: Record<string, string>;
}

/**
 * Filters, sorts and pages `items` (flat records; filters compare the field's text), with the
 * `Link` header built on `path` and the request's other query parameters.
 */
export function listPage<T extends Record<string, unknown>>(items: readonly T[], list: ListQuery, path: string, query: Record<string, string>): ListPage<T> {
  const matching = items.filter((item) => Object.entries(list.filters).every(([name, value]) => item[name] !== undefined && String(item[name]) === value));
  const { field, direction } = list.sort;
  const sign = direction === 'asc' ? 1 : -1;
  const sorted = [...matching].sort((a, b) => sign * compare(a[field], b[field]));
  const total = sorted.length;
  const data = sorted.slice((list.page - 1) * list.limit, list.page * list.limit);
  return { body: { data, total, page: list.page, limit: list.limit }, headers: pageHeaders(total, list, path, query) };
}

/** `Link` (first, prev, next, last) and `X-Total-Count` of one page, for lists paged elsewhere (in SQL). */
export function pageHeaders(total: number, list: ListQuery, path: string, query: Record<string, string>): Record<string, string> {
  const last = Math.max(1, Math.ceil(total / list.limit));
  const link = (page: number, rel: string) => {
    const params = new URLSearchParams({ ...query, page: String(page), limit: String(list.limit) });
    return `<${path}?${params.toString()}>; rel="${rel}"`;
  };
  const links = [link(1, 'first')];
  if (list.page > 1) links.push(link(Math.min(list.page - 1, last), 'prev'));
  if (list.page < last) links.push(link(list.page + 1, 'next'));
  links.push(link(last, 'last'));
  return { Link: links.join(', '), 'X-Total-Count': String(total) };
}

/** Severity sorts by gravity, not alphabetically. */
const SEVERITY_ORDER: Readonly<Record<string, number>> = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };

function compare(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === undefined || a === null) return -1;
  if (b === undefined || b === null) return 1;
  if (typeof a === 'string' && typeof b === 'string' && a in SEVERITY_ORDER && b in SEVERITY_ORDER) return SEVERITY_ORDER[a] - SEVERITY_ORDER[b];
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b));
}
