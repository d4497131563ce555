/**
 * Projects and tasks that only logs name ("auto-created on first use by ingest"). Reads never
 * write: such a project or task is answered as an implied object, computed from the log counts
 * and the stored objects, with the id it gets when stored (freeId over projectIdFor / taskIdFor).
 * It is stored (materialized) only when a write needs it: a change to the project, a merge, a
 * delete, a task created or deleted in it.
 */
import type { ControlObjects } from '../../core/control/catalog';
import { ObjectWriteError } from '../../core/control/catalog';
import type { ControlObject, ObjectSpec } from '../../core/control/objects';
import { notFound } from '../../core/http-api';
import type { LogCount } from './projects-counts';
import { firstLogOf } from './projects-counts';
import { freeId, namesOf, projectById, projectIdFor, projectNamed, projectsOf, taskIdFor, tasksOf, taskSpec } from './projects-model';
import type { ProjectSpec, TaskSpec } from './projects-model';
import { asHttp } from './projects-store';

/** Version 0: never stored (stored objects start at version 1). */
const IMPLIED_VERSION = 0;

export function isImplied(object: ControlObject): boolean {
  return object.version === IMPLIED_VERSION;
}

function implied(kind: 'project' | 'task', workspace: string, id: string, spec: ObjectSpec, at: number): ControlObject {
  return { kind, workspace, id, version: IMPLIED_VERSION, createdAt: at, updatedAt: at, changedBy: 'system', source: 'api', spec };
}

/** The workspace's stored projects, then one implied project per project name of `counts` that none holds. */
export function projectsWithImplied(objects: ControlObjects, workspace: string, counts: readonly LogCount[]): ControlObject[] {
  const stored = projectsOf(objects, workspace);
  const names = [...new Set(counts.map((c) => c.project))].filter((name) => name !== '' && !projectNamed(stored, name));
  const missing = names.map((name) => {
    const firstLogAt = firstLogOf(counts, [name]) as number;
    const spec: ProjectSpec = { name, aliases: [], firstLogAt };
    return implied('project', workspace, freeId(objects, 'project', workspace, (n) => projectIdFor(workspace, name, n)), spec, firstLogAt);
  });
  return [...stored, ...missing];
}

/** The project's stored tasks, then one implied task per task name of its logs (in `counts`) that none holds. */
export function tasksWithImplied(objects: ControlObjects, workspace: string, project: ControlObject, counts: readonly LogCount[]): ControlObject[] {
  const stored = tasksOf(objects, workspace, project.id);
  const known = new Set(stored.map((t) => taskSpec(t).name));
  const projectNames = namesOf(project);
  const names = [...new Set(counts.filter((c) => projectNames.includes(c.project)).map((c) => c.task))].filter((task) => task !== '' && !known.has(task));
  const missing = names.map((name) => {
    const firstLogAt = firstLogOf(counts, projectNames, name) as number;
    const spec: TaskSpec = { name, projectId: project.id, firstLogAt };
    return implied('task', workspace, freeId(objects, 'task', workspace, (n) => taskIdFor(workspace, project.id, name, n)), spec, firstLogAt);
  });
  return [...stored, ...missing];
}

/**
 * The workspace's project `id`, stored or implied (404 otherwise, the same whether another
 * workspace has it). `workspaceCounts` (every project's) is read only for an id not stored.
 */
export async function resolveProject(objects: ControlObjects, workspace: string, id: string, workspaceCounts: () => Promise<LogCount[]>): Promise<ControlObject> {
  const project = projectById(objects, workspace, id) ?? projectsWithImplied(objects, workspace, await workspaceCounts()).find((p) => p.id === id);
  if (!project) throw notFound(`project "${id.slice(0, 100)}"`);
  return project;
}

/**
 * The stored object of a project or task: an implied one is written now, under its id, by
 * `changedBy`. If another request or daemon stored that id first, that object is the one to change.
 */
export async function materialized(objects: ControlObjects, object: ControlObject, changedBy: string): Promise<ControlObject> {
  if (!isImplied(object)) return object;
  try {
    return (await objects.write({ kind: object.kind, workspace: object.workspace, id: object.id, spec: object.spec, changedBy, create: true })) as ControlObject;
  } catch (err) {
    const stored = err instanceof ObjectWriteError && err.status === 409 ? objects.get(object.kind, object.workspace, object.id) : undefined;
    if (stored && stored.workspace === object.workspace) return stored;
    return asHttp(err);
  }
}
