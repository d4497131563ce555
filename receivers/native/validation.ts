import { z } from 'zod';
import { fieldName, fieldProblemsOf, IngestError } from '../../core/ingest/problems';
import type { FieldProblem } from '../../core/ingest/problems';
import { isIsoTimestamp } from '../../core/ingest/time';

/** Field schemas the AITracer routes share, with messages a client can act on. */
export const idText = z.string().trim().min(1, 'must not be empty').max(256, 'must be at most 256 characters');
export const isoTimestamp = z.string().refine(isIsoTimestamp, 'must be an ISO 8601 timestamp with a time zone, e.g. 2026-01-31T12:00:00Z');
export const tokenCount = z.number().int('must be an integer').min(0, 'must not be negative');
export const nonNegative = z.number().min(0, 'must not be negative');
export const jsonObject = z.record(z.string(), z.unknown());

export type FieldPath = (string | number)[];

/**
 * Parses `value` with `schema`, returning the data and every failing field (paths under `at`)
 * instead of throwing, so that rules zod cannot express on a partly invalid body (aliases,
 * "one of these is required") can add their problems to the same 422.
 */
export function check<S extends z.ZodType>(schema: S, value: unknown, at: FieldPath = []): { data: z.output<S> | undefined; problems: FieldProblem[] } {
  const parsed = schema.safeParse(value, { reportInput: true });
  if (parsed.success) return { data: parsed.data, problems: [] };
  return { data: undefined, problems: fieldProblemsOf(parsed.error).map((p) => ({ ...p, path: [...at, ...p.path] })) };
}

/** Throws the 422 that lists every problem, worded as core's parseBody does. */
export function refuseInvalid(problems: FieldProblem[]): void {
  if (problems.length === 0) return;
  const summary = problems.map((f) => `${fieldName(f.path) || '(body)'}: ${f.message}`).join('; ');
  throw new IngestError(422, 'RCV_VALIDATION', `invalid request body: ${summary}`, problems);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** True when the record has the field with a value (null counts as absent, as the schemas treat it). */
export function present(body: unknown, key: string): boolean {
  return isRecord(body) && body[key] !== undefined && body[key] !== null;
}
