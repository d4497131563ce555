import type { z } from 'zod';
import { TracehouseError } from '../errors';
import type { Span } from '../span';

/** One failing field of a request body. */
export interface FieldProblem {
  /** Path into the JSON body, e.g. ['metrics', 0, 'name']. */
  path: (string | number)[];
  message: string;
  /** A stable code for the kind of failure, e.g. "required", "too_long". */
  code: string;
}

/** Why a request was refused: every answer but success is one of these, in the API's style. */
export interface IngestProblem {
  status: number;
  /** Stable RCV_* code. */
  code: string;
  message: string;
  /** Every failing field, for validation errors. */
  fields?: FieldProblem[];
}

/** Thrown by route handlers to refuse a request with a client error. */
export class IngestError extends TracehouseError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
    readonly fields?: FieldProblem[],
    /** For retryable refusals (5xx): the Retry-After to send. */
    readonly retryAfterSeconds?: number,
  ) {
    super(code, message);
  }

  get problem(): IngestProblem {
    return { status: this.status, code: this.code, message: this.message, fields: this.fields };
  }
}

/** Renders a problem in one API's error format. */
export type ErrorStyle = (problem: IngestProblem) => { contentType: string; body: unknown };

/** `{"error": "...", "code": "RCV_...", "fields": [...]}`: the plain style of most JSON ingest APIs. */
export const plainErrorStyle: ErrorStyle = (problem) => ({
  contentType: 'application/json',
  body: {
    error: problem.message,
    code: problem.code,
    ...(problem.fields ? { fields: problem.fields.map((f) => ({ field: fieldName(f.path), message: f.message, code: f.code })) } : {}),
  },
});

/** Dotted name of a field path: metrics[0].name */
export function fieldName(path: readonly (string | number)[]): string {
  return path.reduce<string>((name, part) => (typeof part === 'number' ? `${name}[${part}]` : name ? `${name}.${part}` : part), '');
}

/** Every issue of a failed zod parse as field problems. */
export function fieldProblemsOf(error: z.ZodError): FieldProblem[] {
  const out: FieldProblem[] = [];
  for (const issue of error.issues) {
    const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: [...path, key], message: `unknown field "${key}"`, code: 'unknown_field' });
      continue;
    }
    out.push({ path, message: issue.message, code: problemCode(issue) });
  }
  return out;
}

function problemCode(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return 'input' in issue && issue.input === undefined ? 'required' : 'invalid_type';
    case 'too_small':
      return issue.origin === 'string' || issue.origin === 'array' ? 'too_short' : 'too_small';
    case 'too_big':
      return issue.origin === 'string' || issue.origin === 'array' ? 'too_long' : 'too_big';
    case 'invalid_format':
      return 'invalid_format';
    case 'invalid_value':
      return 'invalid_value';
    default:
      return 'invalid';
  }
}

/**
 * Parses a body with a zod schema (parse with reportInput so a missing field reads "required"),
 * throwing a 422 IngestError that lists every failing field.
 */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown, status = 422): z.output<S> {
  const parsed = schema.safeParse(body, { reportInput: true });
  if (parsed.success) return parsed.data;
  const fields = fieldProblemsOf(parsed.error);
  const summary = fields.map((f) => `${fieldName(f.path) || '(body)'}: ${f.message}`).join('; ');
  throw new IngestError(status, 'RCV_VALIDATION', `invalid request body: ${summary}`, fields);
}

/**
 * The last Unix nanosecond the store can hold (DateTime64(9) ends in 2262); OTLP times are
 * unsigned. A span a request maps outside [0, this] came from a time or duration out of range.
 */
export const MAX_TIME_UNIX_NANO = 2n ** 63n - 1n;

const OUT_OF_RANGE = 'a time, duration or number in the request is out of range';

/** Refuses (422) spans whose times the request pushed out of range, e.g. a huge latencyMs. */
export function checkSpanTimes(spans: readonly Span[]): void {
  for (const span of spans) {
    const { startTimeUnixNano: start, endTimeUnixNano: end } = span;
    if (start < 0n || end < 0n || start > MAX_TIME_UNIX_NANO || end > MAX_TIME_UNIX_NANO) {
      throw new IngestError(422, 'RCV_OUT_OF_RANGE', `${OUT_OF_RANGE}: span times must lie between 1970 and 2262`);
    }
  }
}

/**
 * What a route handler's exception means for the client. Mapping a valid body throws RangeError
 * only when a value is out of range (BigInt of an infinite product, an invalid Date): that is the
 * request's fault (422), not the daemon's. Anything else is left for the caller (a 500).
 */
export function asClientError(err: unknown): IngestError | undefined {
  if (err instanceof IngestError) return err;
  if (err instanceof RangeError) return new IngestError(422, 'RCV_OUT_OF_RANGE', `${OUT_OF_RANGE}: ${err.message}`);
  return undefined;
}
