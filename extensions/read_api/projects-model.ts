/**
 * Projects and tasks as control-plane objects (kinds `project` and `task`, in the key's
 * workspace). A project keeps its former names as aliases: logs are stored with the name the
 * client sent and never rewritten, so a renamed or merged project still finds them through its
 * names. Ids of projects and tasks created on first use follow from their names, so that daemons
 * creating the same one at once agree on it.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { ControlObjects } from '../../core/control/catalog';
import type { ControlObject } from '../../core/control/objects';

export interface ProjectSpec {
  name: string;
  icon?: string;
  /** Former names (renames, merged projects): their logs belong to this project. */
  aliases?: string[];
  /** The first log's time, for projects created on first use. */
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

export function projectIdFor(workspace: string, name: string): string {
  return `proj_${digest(workspace, name)}`;
}

export function taskIdFor(workspace: string, projectId: string, name: string): string {
  return `task_${digest(workspace, projectId, name)}`;
}

export function randomId(prefix: 'proj' | 'task'): string {
  return `${prefix}_${randomBytes(8).toString('hex')}`;
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

/** The id for a new project or task: the one its name gives, unless an object already holds it. */
export function freeId(objects: ControlObjects, kind: 'project' | 'task', workspace: string, derived: string): string {
  return objects.get(kind, workspace, derived) ? randomId(kind === 'project' ? 'proj' : 'task') : derived;
}
