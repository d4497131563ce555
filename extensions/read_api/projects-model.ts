/**
 * Projects and tasks as control-plane objects (kinds `project` and `task`, in the key's
 * workspace). A project keeps its former names as aliases: logs are stored with the name the
 * client sent and never rewritten, so a renamed or merged project still finds them through its
 * names. Ids follow from names (projectIdFor, taskIdFor; freeId when one is held), so a project or
 * task that only logs name (projects-implied.ts) shows the id it gets when stored, on every daemon.
 */
import { createHash } from 'node:crypto';
import type { ControlObjects } from '../../core/control/catalog';
import type { ControlObject } from '../../core/control/objects';

export interface ProjectSpec {
  name: string;
  icon?: string;
  /** Former names (renames, merged projects): their logs belong to this project. */
  aliases?: string[];
  /** The first log's time, for projects first implied by logs. */
  firstLogAt?: number;
  [key: string]: unknown;
}

export interface TaskSpec {
  name: string;
  projectId: string;
  firstLogAt?: number;
  [key: string]: unknown;
}

function digest(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 16);
}

/** The id a project name gives; `attempt` > 0 gives the next candidates when one is held. */
export function projectIdFor(workspace: string, name: string, attempt = 0): string {
  return `proj_${attempt === 0 ? digest(workspace, name) : digest(workspace, name, String(attempt))}`;
}

/** The id a task name gives in a project; `attempt` > 0 as in projectIdFor. */
export function taskIdFor(workspace: string, projectId: string, name: string, attempt = 0): string {
  return `task_${attempt === 0 ? digest(workspace, projectId, name) : digest(workspace, projectId, name, String(attempt))}`;
}

export function projectSpec(object: ControlObject): ProjectSpec {
  return object.spec as ProjectSpec;
}

export function taskSpec(object: ControlObject): TaskSpec {
  return object.spec as TaskSpec;
}

/** The project's name and former names: every project name its logs may carry. */
export function namesOf(project: ControlObject): string[] {
  const spec = projectSpec(project);
  return [spec.name, ...(spec.aliases ?? []).filter((a) => a !== spec.name)];
}

/** The workspace's own projects (never another workspace's, nor global objects). */
export function projectsOf(objects: ControlObjects, workspace: string): ControlObject[] {
  return objects.list('project', workspace).filter((o) => o.workspace === workspace);
}

export function tasksOf(objects: ControlObjects, workspace: string, projectId: string): ControlObject[] {
  return objects.list('task', workspace).filter((o) => o.workspace === workspace && taskSpec(o).projectId === projectId);
}

/** The project a log's project name belongs to (by name first, then by former name). */
export function projectNamed(projects: readonly ControlObject[], name: string): ControlObject | undefined {
  return projects.find((p) => projectSpec(p).name === name) ?? projects.find((p) => (projectSpec(p).aliases ?? []).includes(name));
}

/** The workspace's project with this id, if any. */
export function projectById(objects: ControlObjects, workspace: string, id: string): ControlObject | undefined {
  const found = objects.get('project', workspace, id);
  return found && found.workspace === workspace ? found : undefined;
}

/**
 * The id for a new project or task: the first of `idFor(0)`, `idFor(1)`, ... that no object holds.
 * Deterministic, so an implied object's id is the one it is stored under.
 */
export function freeId(objects: ControlObjects, kind: 'project' | 'task', workspace: string, idFor: (attempt: number) => string): string {
  for (let attempt = 0; ; attempt += 1) {
    const id = idFor(attempt);
    if (!objects.get(kind, workspace, id)) return id;
  }
}
