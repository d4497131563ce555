/**
 * The log-evaluation API's projects (`/api/projects`): list with executionCount, create, rename /
 * merge / icon, delete with its logs, rules and tasks. Projects named by logs but never stored
 * appear too, as implied projects (projects-implied.ts): GET writes nothing; a write to one stores
 * it first, under the id it was shown with.
 */
import { z } from 'zod';
import type { ControlObject } from '../../core/control/objects';
import type { ApiRoute } from '../../core/http-api';
import { IngestError, parseBody } from '../../core/ingest/problems';
import { deleteProjectLogs } from './log-store';
import { logCounts } from './projects-counts';
import type { LogCount } from './projects-counts';
import { isImplied, materialized, projectsWithImplied, resolveProject, tasksWithImplied } from './projects-implied';
import { freeId, namesOf, projectIdFor, projectNamed, projectSpec, tasksOf, taskSpec } from './projects-model';
import type { ProjectSpec } from './projects-model';
import { projectAnswer, storeOf, write, writeMany } from './projects-store';
import type { ReadApiDeps } from './routes';

export const PROJECTS_PATHS = ['/api/projects', '/api/projects/:id'] as const;

// The same bounds as a log's project name (receivers/logs/log-body.ts).
const projectName = z.string().trim().min(1, 'must not be empty').max(128, 'must be at most 128 characters');
const createSchema = z.strictObject({ name: projectName });
const patchSchema = z
  .strictObject({ name: projectName.optional(), icon: z.string().max(200, 'must be at most 200 characters').optional(), merge: z.boolean().optional() })
  .refine((p) => p.name !== undefined || p.icon !== undefined, { message: 'send name or icon', path: ['name'] });

const conflict = (message: string) => new IngestError(409, 'API_CONFLICT', message);

export function projectRoutes(deps: ReadApiDeps): ApiRoute[] {
  const { objects } = deps.host;
  const countsOf = (workspace: string) => logCounts(storeOf(deps), workspace);
  /** Every project of the workspace (stored and implied; nothing is written) and the counts. */
  const current = async (workspace: string) => {
    const counts = await countsOf(workspace);
    return { counts, projects: projectsWithImplied(objects, workspace, counts) };
  };

  return [
    {
      method: 'GET',
      path: '/api/projects',
      role: 'read',
      handle: async ({ workspace }) => {
        const { counts, projects } = await current(workspace);
        const answers = projects.map((p) => projectAnswer(p, counts));
        answers.sort((a, b) => String(a.createdAt).localeCompare(String(b.createdAt)) || String(a.name).localeCompare(String(b.name)));
        return { status: 200, body: answers };
      },
    },
    {
      method: 'POST',
      path: '/api/projects',
      role: 'admin',
      handle: async ({ workspace, principal, body }) => {
        const { name } = parseBody(createSchema, body);
        const { counts, projects } = await current(workspace);
        const taken = projectNamed(projects, name);
        if (taken) throw conflict(`a project named "${name}" exists (id ${taken.id})`);
        const spec: ProjectSpec = { name, aliases: [] };
        const id = freeId(objects, 'project', workspace, (n) => projectIdFor(workspace, name, n));
        const created = (await write(objects, { kind: 'project', workspace, id, spec, changedBy: principal, create: true })) as ControlObject;
        return { status: 201, body: projectAnswer(created, counts), headers: { Location: `/api/projects/${id}` } };
      },
    },
    {
      method: 'PATCH',
      path: '/api/projects/:id',
      role: 'admin',
      handle: async ({ workspace, principal, params, body }) => {
        const patch = parseBody(patchSchema, body);
        const { counts, projects } = await current(workspace);
        const found = await resolveProject(objects, workspace, params.id, async () => counts);
        const icon = patch.icon !== undefined ? { icon: patch.icon } : {};
        const other = patch.name !== undefined ? projectNamed(projects, patch.name) : undefined;
        if (patch.name !== undefined && other && other.id !== found.id) {
          if (patch.merge !== true) throw conflict(`a project named "${patch.name}" exists (id ${other.id}); send merge: true to merge this project into it`);
          const merged = await merge(found, other, icon, principal, workspace, counts);
          return { status: 200, body: projectAnswer(merged, counts) };
        }
        const project = await materialized(objects, found, principal);
        const spec = projectSpec(project);
        const next: ProjectSpec = { ...spec, ...icon };
        if (patch.name !== undefined && patch.name !== spec.name) {
          next.name = patch.name;
          next.aliases = [...new Set([...(spec.aliases ?? []), spec.name])].filter((a) => a !== patch.name);
        }
        const updated = (await write(objects, { kind: 'project', workspace, id: project.id, spec: next, changedBy: principal, ifMatch: project.version })) as ControlObject;
        return { status: 200, body: projectAnswer(updated, counts) };
      },
    },
    {
      method: 'DELETE',
      path: '/api/projects/:id',
      role: 'admin',
      handle: async ({ workspace, principal, params }) => {
        const project = await materialized(objects, await resolveProject(objects, workspace, params.id, () => countsOf(workspace)), principal);
        const names = namesOf(project);
        const store = storeOf(deps);
        for (const name of names) await deleteProjectLogs(store, objects, workspace, { project: name }, deps.config.attachments_dir, principal);
        // Rules scoped to the project by id or by one of its names; rules of pipelines.yaml are read-only and stay.
        const rules = objects
          .list('rule', workspace)
          .filter((r) => r.workspace === workspace && r.source === 'api' && (r.spec.projectId === project.id || names.includes(String(r.spec.projectName ?? '\u0000'))));
        await writeMany(objects, 'rule', workspace, rules.map((r) => ({ id: r.id, spec: null })), principal);
        await writeMany(objects, 'task', workspace, tasksOf(objects, workspace, project.id).map((t) => ({ id: t.id, spec: null })), principal);
        await write(objects, { kind: 'project', workspace, id: project.id, spec: null, changedBy: principal });
        deps.logger.info({ workspace, project: project.id, names, rules: rules.length, by: principal }, 'project deleted with its logs, rules and tasks');
        return { status: 200, body: { success: true } };
      },
    },
  ];

  /**
   * Merges `source` into `target` (either may be implied: both are stored first): the target keeps
   * its name and takes the source's names as former names (so the source's logs count under it),
   * its tasks (one per name: the target's stay, the source's others move with their ids, implied
   * ones stored) and its rules' projectId; the source goes.
   */
  async function merge(sourceFound: ControlObject, targetFound: ControlObject, icon: { icon?: string }, principal: string, workspace: string, counts: readonly LogCount[]): Promise<ControlObject> {
    const targetTasks = new Set(tasksWithImplied(objects, workspace, targetFound, counts).map((t) => taskSpec(t).name));
    const sourceTasks = tasksWithImplied(objects, workspace, sourceFound, counts);
    const source = await materialized(objects, sourceFound, principal);
    const target = await materialized(objects, targetFound, principal);
    const targetSpec = projectSpec(target);
    const aliases = [...new Set([...(targetSpec.aliases ?? []), ...namesOf(source)])].filter((a) => a !== targetSpec.name);
    const merged = (await write(objects, { kind: 'project', workspace, id: target.id, spec: { ...targetSpec, ...icon, aliases }, changedBy: principal, ifMatch: target.version })) as ControlObject;
    const taskChanges = sourceTasks
      .filter((t) => !(isImplied(t) && targetTasks.has(taskSpec(t).name)))
      .map((t) => ({ id: t.id, spec: targetTasks.has(taskSpec(t).name) ? null : { ...t.spec, projectId: target.id } }));
    await writeMany(objects, 'task', workspace, taskChanges, principal);
    const rules = objects.list('rule', workspace).filter((r) => r.workspace === workspace && r.source === 'api' && r.spec.projectId === source.id);
    await writeMany(objects, 'rule', workspace, rules.map((r) => ({ id: r.id, spec: { ...r.spec, projectId: target.id } })), principal);
    await write(objects, { kind: 'project', workspace, id: source.id, spec: null, changedBy: principal });
    return merged;
  }
}
