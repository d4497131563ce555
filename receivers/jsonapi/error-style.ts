import { STATUS_CODES } from 'node:http';
import type { ErrorStyle } from '../../core/ingest/problems';
import { JSONAPI_MEDIA_TYPE } from './paths';

/** JSON Pointer (RFC 6901) of a path into the request document. */
export function jsonPointer(path: readonly (string | number)[]): string {
  return path.map((part) => `/${String(part).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

/**
 * JSON:API error objects: one per failing field for validation errors, each pointing into the
 * request document (its rule in meta.rule), and one without a source for every other refusal.
 */
export const jsonapiErrorStyle: ErrorStyle = (problem) => {
  const status = String(problem.status);
  const title = STATUS_CODES[problem.status] ?? 'Error';
  const errors =
    problem.fields && problem.fields.length > 0
      ? problem.fields.map((field) => ({
          status,
          code: problem.code,
          title,
          detail: field.message,
          source: { pointer: jsonPointer(field.path) },
          meta: { rule: field.code },
        }))
      : [{ status, code: problem.code, title, detail: problem.message }];
  return { contentType: JSONAPI_MEDIA_TYPE, body: { errors } };
};
