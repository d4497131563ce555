/**
 * What the project and task routes share: the store (503 without one), object writes as HTTP
 * answers, the counts, and the answers' shapes.
 */
import type { TraceStore } from '../../core/component';
import { ObjectWriteError } from '../../core/control/catalog';
import type { ControlObjects, ObjectWrite } from '../../core/control/catalog';
import type { ControlObject } from '../../core/control/objects';
import type { ObjectSpec } from '../../core/control/objects';
import { IngestError } from '../../core/ingest/problems';
import { countOf, firstLogOf } from './projects-counts';
import type { LogCount } from './projects-counts';
import { namesOf, projectSpec, taskSpec } from './projects-model';
import type { ReadApiDeps } from './routes';

export function storeOf(deps: ReadApiDeps): TraceStore {
  const store = deps.host.store();
  if (!store) throw new IngestError(503, 'API_NO_STORE', 'no ClickHouse store: configure a clickhouse exporter', undefined, 5);
  return store;
}

const WRITE_CODES = { 404: 'API_NOT_FOUND', 409: 'API_CONFLICT', 412: 'API_PRECONDITION_FAILED', 422: 'API_VALIDATION', 503: 'API_NO_STORE' } as const;

/** A catalog refusal as the API's answer; anything else is thrown as it is. */
export function asHttp(err: unknown): never {
  if (err instanceof ObjectWriteError) throw new IngestError(err.status, WRITE_CODES[err.status], err.message, undefined, err.status === 503 ? 5 : undefined);
  throw err;
}

/** Writes through the catalog; refusals become the API's answers. */
export function write(objects: ControlObjects, change: ObjectWrite): Promise<ControlObject | undefined> {
  return objects.write(change).catch(asHttp);
}

export function writeMany(objects: ControlObjects, kind: 'project' | 'task' | 'rule', workspace: string, changes: { id: string; spec: ObjectSpec | null }[], changedBy: string): Promise<number> {
  if (changes.length === 0) return Promise.resolve(0);
  return objects.writeMany(kind, workspace, changes, changedBy).catch(asHttp);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** `{id, name, icon, createdAt, executionCount}` (icon "" when none was set). */
export function projectAnswer(project: ControlObject, counts: readonly LogCount[]): Record<string, unknown> {
  const spec = projectSpec(project);
  const names = namesOf(project);
  const first = Math.min(project.createdAt, spec.firstLogAt ?? Infinity, firstLogOf(counts, names) ?? Infinity);
  return { id: project.id, name: spec.name, icon: spec.icon ?? '', createdAt: iso(first), executionCount: countOf(counts, names) };
}

/** `{id, name, projectId, createdAt, executionCount}`. */
export function taskAnswer(task: ControlObject, projectNames: readonly string[], counts: readonly LogCount[]): Record<string, unknown> {
  const spec = taskSpec(task);
  const first = Math.min(task.createdAt, spec.firstLogAt ?? Infinity, firstLogOf(counts, projectNames, spec.name) ?? Infinity);
  return { id: task.id, name: spec.name, projectId: spec.projectId, createdAt: iso(first), executionCount: countOf(counts, projectNames, spec.name) };
}
