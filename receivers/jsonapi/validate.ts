import { z } from 'zod';
import { fieldName, fieldProblemsOf, IngestError } from '../../core/ingest/problems';
import type { FieldProblem } from '../../core/ingest/problems';

/**
 * Parses a request document, refusing it with 422 and one problem per failing field (every one of
 * them, each with its path from the document root, which the error style turns into a pointer).
 */
export function parseDocument<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const parsed = schema.safeParse(body, { reportInput: true });
  if (parsed.success) return parsed.data;
  const fields = parsed.error.issues.flatMap(problemsOfIssue);
  const summary = fields.map((f) => `${fieldName(f.path) || '(document)'}: ${f.message}`).join('; ');
  throw new IngestError(422, 'RCV_VALIDATION', `invalid request document: ${summary}`, fields);
}

/** Core's mapping of one issue, with the rule name our own refinements carry in their params. */
function problemsOfIssue(issue: z.core.$ZodIssue): FieldProblem[] {
  const problems = fieldProblemsOf(new z.ZodError([issue]));
  const rule = issue.code === 'custom' ? (issue.params as { rule?: unknown } | undefined)?.rule : undefined;
  return typeof rule === 'string' ? problems.map((p) => ({ ...p, code: rule })) : problems;
}
