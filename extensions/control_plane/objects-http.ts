/**
 * What every control-plane route does with objects: ids, ETag and If-Match, write errors as HTTP
 * answers, secrets masked, and the metadata every answer carries.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { ObjectWriteError } from '../../core/control/catalog';
import type { ControlObjects, ObjectWrite } from '../../core/control/catalog';
import { etagOf } from '../../core/control/objects';
import type { ControlObject, ObjectKind, ObjectSpec } from '../../core/control/objects';
import { SECRET_FIELDS } from '../../core/control/secret-fields';
import { mapSecrets, mask } from '../../core/control/secrets';
import { IngestError } from '../../core/ingest/problems';

/** A new object id: the kind's prefix and 16 random hex digits. */
export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(8).toString('hex')}`;
}

/** The version If-Match names (`"3"`, `W/"3"` or `3`); undefined when absent or `*`; NaN when unreadable. */
export function ifMatchOf(headers: IncomingHttpHeaders): number | undefined {
  const raw = headers['if-match'];
  const value = (Array.isArray(raw) ? raw[0] : raw)?.trim();
  if (value === undefined || value === '' || value === '*') return undefined;
  const m = /^(?:W\/)?"?(\d{1,15})"?$/.exec(value);
  if (!m) throw new IngestError(412, 'API_PRECONDITION_FAILED', `If-Match ${JSON.stringify(value.slice(0, 40))} names no version of this object`);
  return Number(m[1]);
}

/** Writes through the catalog; refusals become the API's answers (404, 409, 412, 422, 503). */
export async function writeObject(objects: ControlObjects, change: ObjectWrite): Promise<ControlObject | undefined> {
  try {
    return await objects.write(change);
  } catch (err) {
    if (err instanceof ObjectWriteError) {
      const code = { 404: 'API_NOT_FOUND', 409: 'API_CONFLICT', 412: 'API_PRECONDITION_FAILED', 422: 'API_VALIDATION', 503: 'API_NO_STORE' }[err.status];
      throw new IngestError(err.status, code, err.message, undefined, err.status === 503 ? 5 : undefined);
    }
    throw err;
  }
}

/** The spec with its secrets masked ("sk-…abcd"), as every answer shows it. */
export function maskedSpec(kind: ObjectKind, spec: ObjectSpec): ObjectSpec {
  return mapSecrets(spec, SECRET_FIELDS[kind], mask);
}

/** Fields every object answer carries besides its spec. */
export function objectMeta(object: ControlObject): Record<string, unknown> {
  return {
    source: object.source,
    version: object.version,
    createdAt: new Date(object.createdAt).toISOString(),
    updatedAt: new Date(object.updatedAt).toISOString(),
    updatedBy: object.changedBy,
  };
}

export function etagHeader(object: ControlObject): Record<string, string> {
  return { ETag: etagOf(object.version) };
}

/** Moved to core/ (the read APIs check it too). */
export { ownWorkspace } from '../../core/own-workspace';
