/**
 * The log-evaluation API's reads and reviews (Tracira's `/api/logs` routes besides POST, which the
 * logs receiver serves on the same listener).
 */
import type { ApiRoute } from '../../core/http-api';
import { LOGS_READ_PATHS, logReadRoutes } from './logs-read-api';
import { LOGS_REVIEW_PATHS, logReviewRoutes } from './logs-review-api';
import type { ReadApiDeps } from './routes';

/** Claimed for the config's conflict checks; GET /api/logs shares the receiver's claimed path. */
export const LOGS_PATHS: readonly string[] = [...LOGS_READ_PATHS, ...LOGS_REVIEW_PATHS];

/** Fixed paths (/api/logs/tasks, /api/logs/bulk) are mounted before /api/logs/:id would take them. */
export function logRoutes(deps: ReadApiDeps): ApiRoute[] {
  const routes = [...logReadRoutes(deps), ...logReviewRoutes(deps)];
  return [...routes.filter((r) => !r.path.includes(':')), ...routes.filter((r) => r.path.includes(':'))];
}
