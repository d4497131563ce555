/**
 * Projects and tasks are created on first use by ingest: a log names them, nothing else. When the
 * API reads them, the names found in the logs that have no object yet get one (with the id their
 * name gives), in one insert per kind; one such pass per workspace at a time in this process.
 */
import type { ControlObjects } from '../../core/control/catalog';
import type { ControlObject } from '../../core/control/objects';
import type { LogCount } from './projects-counts';
import { firstLogOf } from './projects-counts';
import { freeId, projectIdFor, projectNamed, projectsOf, taskIdFor, tasksOf, taskSpec } from './projects-model';
import type { ProjectSpec, TaskSpec } from './projects-model';

const SYSTEM = 'system';

export class AutoCreate {
  private readonly running = new Map<string, Promise<unknown>>();

  constructor(private readonly objects: ControlObjects) {}

  /** Gives every project name of `counts` a project object. */
  projects(workspace: string, counts: readonly LogCount[]): Promise<void> {
    return this.serial(`p\u0000${workspace}`, async () => {
      const projects = projectsOf(this.objects, workspace);
      const missing = [...new Set(counts.map((c) => c.project))].filter((name) => name !== '' && !projectNamed(projects, name));
      if (missing.length === 0 || !this.objects.writable) return;
      const changes = missing.map((name) => {
        const spec: ProjectSpec = { name, aliases: [], firstLogAt: firstLogOf(counts, [name]) };
        return { id: freeId(this.objects, 'project', workspace, projectIdFor(workspace, name)), spec };
      });
      await this.objects.writeMany('project', workspace, changes, SYSTEM);
    });
  }

  /** Gives every task of `project`'s logs (in `counts`) a task object. */
  tasks(workspace: string, project: ControlObject, names: readonly string[], counts: readonly LogCount[]): Promise<void> {
    return this.serial(`t\u0000${workspace}\u0000${project.id}`, async () => {
      const known = new Set(tasksOf(this.objects, workspace, project.id).map((t) => taskSpec(t).name));
      const missing = [...new Set(counts.filter((c) => names.includes(c.project)).map((c) => c.task))].filter((task) => task !== '' && !known.has(task));
      if (missing.length === 0 || !this.objects.writable) return;
      const changes = missing.map((name) => {
        const spec: TaskSpec = { name, projectId: project.id, firstLogAt: firstLogOf(counts, names, name) };
        return { id: freeId(this.objects, 'task', workspace, taskIdFor(workspace, project.id, name)), spec };
      });
      await this.objects.writeMany('task', workspace, changes, SYSTEM);
    });
  }

  private serial(key: string, work: () => Promise<void>): Promise<void> {
    const previous = this.running.get(key) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(work);
    this.running.set(key, run);
    void run.finally(() => {
      if (this.running.get(key) === run) this.running.delete(key);
    }).catch(() => undefined);
    return run;
  }
}
