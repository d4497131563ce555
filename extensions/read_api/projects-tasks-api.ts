/**
 * A project's tasks (`/api/projects/:id/tasks`): list with executionCount (tasks only logs name
 * are listed as implied tasks, nothing is written: projects-implied.ts), create, and delete one by
 * name with its logs. A write to an implied project stores the project first.
 */
import { z } from 'zod';
import type { ControlObject } from '../../core/control/objects';
import type { ApiRoute } from '../../core/http-api';
import { notFound } from '../../core/http-api';
import { IngestError, parseBody } from '../../core/ingest/problems';
import { deleteProjectLogs } from './log-store';
import { countOf, logCounts } from './projects-counts';
import { materialized, resolveProject, tasksWithImplied } from './projects-implied';
import { freeId, namesOf, tasksOf, taskIdFor, taskSpec } from './projects-model';
import type { TaskSpec } from './projects-model';
import { storeOf, taskAnswer, write } from './projects-store';
import type { ReadApiDeps } from './routes';

export const PROJECT_TASKS_PATHS = ['/api/projects/:id/tasks'] as const;

// The same bounds as a log's task name (receivers/logs/log-body.ts).
const taskName = z.string().trim().min(1, 'must not be empty').max(128, 'must be at most 128 characters');
const createSchema = z.strictObject({ name: taskName });

export function projectTaskRoutes(deps: ReadApiDeps): ApiRoute[] {
  const { objects } = deps.host;
  const countsOf = (workspace: string, names?: readonly string[]) => logCounts(storeOf(deps), workspace, names);
  /** The workspace's project `id`, stored or implied (404 otherwise). */
  const projectOf = (workspace: string, id: string) => resolveProject(objects, workspace, id, () => countsOf(workspace));

  return [
    {
      method: 'GET',
      path: '/api/projects/:id/tasks',
      role: 'read',
      handle: async ({ workspace, params }) => {
        const project = await projectOf(workspace, params.id);
        const names = namesOf(project);
        const counts = await countsOf(workspace, names);
        const answers = tasksWithImplied(objects, workspace, project, counts).map((t) => taskAnswer(t, names, counts));
        answers.sort((a, b) => String(a.createdAt).localeCompare(String(b.createdAt)) || String(a.name).localeCompare(String(b.name)));
        return { status: 200, body: answers };
      },
    },
    {
      method: 'POST',
      path: '/api/projects/:id/tasks',
      role: 'admin',
      handle: async ({ workspace, principal, params, body }) => {
        const { name } = parseBody(createSchema, body);
        const found = await projectOf(workspace, params.id);
        const names = namesOf(found);
        const counts = await countsOf(workspace, names);
        const taken = tasksWithImplied(objects, workspace, found, counts).find((t) => taskSpec(t).name === name);
        if (taken) throw new IngestError(409, 'API_CONFLICT', `project "${found.id}" has a task named "${name}" (id ${taken.id})`);
        const project = await materialized(objects, found, principal);
        const spec: TaskSpec = { name, projectId: project.id };
        const id = freeId(objects, 'task', workspace, (n) => taskIdFor(workspace, project.id, name, n));
        const created = (await write(objects, { kind: 'task', workspace, id, spec, changedBy: principal, create: true })) as ControlObject;
        return { status: 201, body: taskAnswer(created, names, counts), headers: { Location: `/api/projects/${project.id}/tasks` } };
      },
    },
    {
      method: 'DELETE',
      path: '/api/projects/:id/tasks',
      role: 'admin',
      handle: async ({ workspace, principal, params, query }) => {
        const parsed = taskName.safeParse(query.taskName ?? '');
        if (!parsed.success) {
          const message = query.taskName === undefined ? 'is required' : parsed.error.issues[0].message;
          throw new IngestError(422, 'API_VALIDATION', `invalid query: taskName: ${message}`, [{ path: ['taskName'], message, code: 'invalid_value' }]);
        }
        const name = parsed.data;
        const found = await projectOf(workspace, params.id);
        const names = namesOf(found);
        const store = storeOf(deps);
        const task = tasksOf(objects, workspace, found.id).find((t) => taskSpec(t).name === name);
        if (!task && countOf(await countsOf(workspace, names), names, name) === 0) throw notFound(`task "${name.slice(0, 100)}" of project "${found.id}"`);
        const project = await materialized(objects, found, principal);
        for (const projectName of names) await deleteProjectLogs(store, objects, workspace, { project: projectName, task: name }, deps.config.attachments_dir, principal);
        if (task) await write(objects, { kind: 'task', workspace, id: task.id, spec: null, changedBy: principal });
        deps.logger.info({ workspace, project: project.id, task: name, by: principal }, 'task deleted with its logs');
        return { status: 200, body: { success: true } };
      },
    },
  ];
}
