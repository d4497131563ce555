/**
 * Paging of the agent list routes, by core/http-list.ts conventions (`?page&limit`, default 25,
 * at most 100, `?sort=field:dir`, unknown parameters 422) with the paging done in SQL:
 * `{data, total, page, limit}` and a `Link` header (first, prev, next, last) plus X-Total-Count.
 */
import type { TraceStore } from '../../core/component';
import { IngestError } from '../../core/ingest/problems';
import type { ListQuery } from '../../core/http-list';

/**
 * One page of a grouped query in `order`, with how many groups there are in all: one read (the
 * count is a window over the groups, taken before the page is cut), and a count of its own only
 * for a page past the end.
 */
export async function groupedPage<T>(store: TraceStore, grouped: string, order: string, list: ListQuery, signal?: AbortSignal): Promise<{ rows: T[]; total: number }> {
  const rows = await store.selectRows<T & { total_groups: string }>(
    `SELECT *, count() OVER () AS total_groups FROM (${grouped})\nORDER BY ${order}\nLIMIT ${list.limit} OFFSET ${(list.page - 1) * list.limit}`,
    signal,
  );
  if (rows.length > 0) return { rows, total: Number(rows[0].total_groups) };
  if (list.page === 1) return { rows, total: 0 };
  const [count] = await store.selectRows<{ total: string }>(`SELECT count() AS total FROM (${grouped})`, signal);
  return { rows, total: Number(count?.total ?? 0) };
}

export function pageAnswer<T>(data: T[], total: number, list: ListQuery, path: string, query: Record<string, string>) {
  const last = Math.max(1, Math.ceil(total / list.limit));
  const link = (page: number, rel: string) => `<${path}?${new URLSearchParams({ ...query, page: String(page), limit: String(list.limit) }).toString()}>; rel="${rel}"`;
  const links = [link(1, 'first')];
  if (list.page > 1) links.push(link(Math.min(list.page - 1, last), 'prev'));
  if (list.page < last) links.push(link(list.page + 1, 'next'));
  links.push(link(last, 'last'));
  return { status: 200, body: { data, total, page: list.page, limit: list.limit }, headers: { Link: links.join(', '), 'X-Total-Count': String(total) } };
}

/** A query parameter that must be one of `allowed` (422 naming it otherwise). */
export function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  const message = `must be one of ${allowed.join(', ')}`;
  throw new IngestError(422, 'API_VALIDATION', `invalid query: ${name}: ${message}`, [{ path: [name], message, code: 'invalid_value' }]);
}

/** A text filter: 1 to 256 characters. */
export function textFilter(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value.length >= 1 && value.length <= 256) return value;
  throw new IngestError(422, 'API_VALIDATION', `invalid query: ${name}: must be 1 to 256 characters`, [{ path: [name], message: 'must be 1 to 256 characters', code: 'invalid_value' }]);
}
