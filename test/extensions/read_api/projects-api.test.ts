/**
 * /api/projects and /api/projects/:id/tasks through HTTP: the document's examples, projects and
 * tasks that only logs name listed with executionCount (implied: reads write nothing; the first
 * change stores one under the id it was shown with), rename and merge keeping logs counted, delete removing the project's logs (rows gone), rules and tasks, task delete, bad
 * inputs, roles, and two workspaces kept apart whatever ids they guess.
 */
import { projectIdFor, taskIdFor } from '../../../extensions/read_api/projects-model';
import { queryRows } from '../../support/daemon';
import { ADMIN_KEY, OTHER_KEY, READ_KEY, startProjectsDaemon } from './projects-daemon';
import type { ProjectsDaemon } from './projects-daemon';

describe('read_api: projects and tasks', () => {
  let d: ProjectsDaemon;
  beforeAll(async () => {
    d = await startProjectsDaemon('ra_projects');
  });
  afterAll(() => d.daemon.stop());

  const byName = (list: any[], name: string) => list.find((p) => p.name === name);

  it('creates a project with the document body and lists it with the documented fields', async () => {
    const created = await d.call('POST', '/api/projects', ADMIN_KEY, { name: 'my-first-project' });
    expect(created.status).toBe(201);
    expect(Object.keys(created.body).sort()).toEqual(['createdAt', 'executionCount', 'icon', 'id', 'name']);
    expect(created.body).toMatchObject({ name: 'my-first-project', icon: '', executionCount: 0 });
    expect(new Date(created.body.createdAt).toISOString()).toBe(created.body.createdAt);
    const list = await d.call('GET', '/api/projects', READ_KEY);
    expect(list.status).toBe(200);
    expect(byName(list.body, 'my-first-project')).toEqual(created.body);
    // The same name again is a conflict; bad bodies are 422 naming the field.
    expect((await d.call('POST', '/api/projects', ADMIN_KEY, { name: 'my-first-project' })).status).toBe(409);
    const empty = await d.call('POST', '/api/projects', ADMIN_KEY, { name: '   ' });
    expect(empty.status).toBe(422);
    expect(empty.text).toContain('name');
    expect((await d.call('POST', '/api/projects', ADMIN_KEY, { name: 'x', color: 'red' })).status).toBe(422);
    expect((await d.call('POST', '/api/projects', ADMIN_KEY, {})).status).toBe(422);
    expect((await d.call('POST', '/api/projects', ADMIN_KEY, '{"name":')).status).toBe(400);
    // Writes need the admin role; reads do not.
    expect((await d.call('POST', '/api/projects', READ_KEY, { name: 'by-reader' })).status).toBe(403);
    expect((await d.call('GET', '/api/projects', 'not-a-key')).status).toBe(401);
  });

  it('lists projects and tasks that only logs named, with stable ids and executionCount', async () => {
    await d.log(ADMIN_KEY, { project: 'support-replies', task: 'Tone Validator' });
    await d.log(ADMIN_KEY, { project: 'support-replies', task: 'Tone Validator' });
    await d.log(ADMIN_KEY, { project: 'support-replies', task: 'Summary' });
    await d.log(ADMIN_KEY, { project: 'support-replies' });
    const first = await d.call('GET', '/api/projects', READ_KEY);
    const project = byName(first.body, 'support-replies');
    expect(project).toMatchObject({ executionCount: 4, icon: '' });
    expect(project.id).toMatch(/^proj_[0-9a-f]{16}$/);
    // Listing again gives the same id; the read stored nothing (the project is implied by its logs).
    expect(byName((await d.call('GET', '/api/projects', READ_KEY)).body, 'support-replies').id).toBe(project.id);
    expect(d.daemon.service.objects.get('project', 'acme', project.id)).toBeUndefined();

    const tasks = await d.call('GET', `/api/projects/${project.id}/tasks`, READ_KEY);
    expect(tasks.status).toBe(200);
    expect(tasks.body.map((t: any) => [t.name, t.executionCount]).sort()).toEqual([['Summary', 1], ['Tone Validator', 2]]);
    for (const t of tasks.body) {
      expect(Object.keys(t).sort()).toEqual(['createdAt', 'executionCount', 'id', 'name', 'projectId']);
      expect(t.projectId).toBe(project.id);
    }
    const again = await d.call('GET', `/api/projects/${project.id}/tasks`, READ_KEY);
    expect(again.body.map((t: any) => t.id).sort()).toEqual(tasks.body.map((t: any) => t.id).sort());

    // A task created over HTTP, then used by a log, counts it.
    const created = await d.call('POST', `/api/projects/${project.id}/tasks`, ADMIN_KEY, { name: 'Refund check' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'Refund check', projectId: project.id, executionCount: 0 });
    expect((await d.call('POST', `/api/projects/${project.id}/tasks`, ADMIN_KEY, { name: 'Refund check' })).status).toBe(409);
    expect((await d.call('POST', `/api/projects/${project.id}/tasks`, ADMIN_KEY, { name: '' })).status).toBe(422);
    expect((await d.call('POST', `/api/projects/${project.id}/tasks`, READ_KEY, { name: 'x' })).status).toBe(403);
    await d.log(ADMIN_KEY, { project: 'support-replies', task: 'Refund check' });
    const withRefund = await d.call('GET', `/api/projects/${project.id}/tasks`, READ_KEY);
    expect(withRefund.body.find((t: any) => t.name === 'Refund check')).toMatchObject({ id: created.body.id, executionCount: 1 });
    expect((await d.call('GET', '/api/projects/proj_0000000000000000/tasks', READ_KEY)).status).toBe(404);
  });

  it('answers projects and tasks only logs name without writing anything; a rename stores the project under the id it showed', async () => {
    await d.log(ADMIN_KEY, { project: 'never-seen', task: 'Triage' });
    await d.log(ADMIN_KEY, { project: 'never-seen', task: 'Triage' });
    await d.log(ADMIN_KEY, { project: 'never-seen', task: 'Escalate' });
    const count = async (table: string) => Number((await queryRows<{ n: string }>(d.daemon, `SELECT count() AS n FROM ${table}`, d.database))[0].n);
    const storedRows = async () => ({ objects: await count('tracehouse_objects'), audit: await count('tracehouse_object_audit') });
    const before = await storedRows();

    const list = await d.call('GET', '/api/projects', READ_KEY);
    expect(list.status).toBe(200);
    const project = byName(list.body, 'never-seen');
    expect(project).toMatchObject({ id: projectIdFor('acme', 'never-seen'), name: 'never-seen', icon: '', executionCount: 3 });
    const tasks = await d.call('GET', `/api/projects/${project.id}/tasks`, READ_KEY);
    expect(tasks.status).toBe(200);
    const taskRows = tasks.body.map((t: any) => [t.name, t.id, t.projectId, t.executionCount]).sort();
    expect(taskRows).toEqual([
      ['Escalate', taskIdFor('acme', project.id, 'Escalate'), project.id, 1],
      ['Triage', taskIdFor('acme', project.id, 'Triage'), project.id, 2],
    ]);
    // Reads again (the admin key too): the same answers, and still nothing written.
    expect((await d.call('GET', '/api/projects', ADMIN_KEY)).body).toEqual(list.body);
    expect((await d.call('GET', `/api/projects/${project.id}/tasks`, ADMIN_KEY)).body).toEqual(tasks.body);
    expect(await storedRows()).toEqual(before);
    expect(d.daemon.service.objects.get('project', 'acme', project.id)).toBeUndefined();
    expect(d.daemon.service.objects.list('task', 'acme').filter((t) => t.spec.projectId === project.id)).toEqual([]);

    // The first change stores it, under the id it was shown with; its tasks keep theirs.
    const renamed = await d.call('PATCH', `/api/projects/${project.id}`, ADMIN_KEY, { name: 'seen-now' });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toEqual({ ...project, name: 'seen-now' });
    expect(d.daemon.service.objects.get('project', 'acme', project.id)?.spec).toMatchObject({ name: 'seen-now', aliases: ['never-seen'] });
    const after = (await d.call('GET', '/api/projects', READ_KEY)).body;
    expect(byName(after, 'never-seen')).toBeUndefined();
    expect(byName(after, 'seen-now')).toEqual({ ...project, name: 'seen-now' });
    expect((await d.call('GET', `/api/projects/${project.id}/tasks`, READ_KEY)).body).toEqual(tasks.body);
    const audit = await queryRows<{ action: string; changed_by: string }>(d.daemon, `SELECT action, changed_by FROM tracehouse_object_audit WHERE kind = 'project' AND id = '${project.id}' ORDER BY version`, d.database);
    expect(audit.map((a) => a.action)).toEqual(['create', 'update']);
    expect(new Set(audit.map((a) => a.changed_by)).size).toBe(1);
    expect(audit[0].changed_by).toMatch(/^key:/);
  });

  it('renames a project and changes its icon: its logs stay counted, new logs under either name count', async () => {
    await d.log(ADMIN_KEY, { project: 'old-name', task: 'Classify' });
    await d.log(ADMIN_KEY, { project: 'old-name', task: 'Classify' });
    const project = byName((await d.call('GET', '/api/projects', READ_KEY)).body, 'old-name');
    const renamed = await d.call('PATCH', `/api/projects/${project.id}`, ADMIN_KEY, { name: 'new-name', icon: '🚀' });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ id: project.id, name: 'new-name', icon: '🚀', executionCount: 2 });
    const list = (await d.call('GET', '/api/projects', READ_KEY)).body;
    expect(byName(list, 'old-name')).toBeUndefined();
    expect(byName(list, 'new-name')).toMatchObject({ id: project.id, executionCount: 2, createdAt: project.createdAt });
    // The spans are not rewritten: the old name is a former name of the project.
    expect(await d.rows('acme', 'old-name')).toBe(2);
    expect(d.daemon.service.objects.get('project', 'acme', project.id)?.spec).toMatchObject({ name: 'new-name', aliases: ['old-name'] });
    await d.log(ADMIN_KEY, { project: 'old-name', task: 'Classify' });
    await d.log(ADMIN_KEY, { project: 'new-name', task: 'Classify' });
    expect(byName((await d.call('GET', '/api/projects', READ_KEY)).body, 'new-name').executionCount).toBe(4);
    const tasks = (await d.call('GET', `/api/projects/${project.id}/tasks`, READ_KEY)).body;
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({ name: 'Classify', executionCount: 4 });
    // Icon alone; an empty patch and unknown fields are 422; a taken name without merge is 409.
    expect((await d.call('PATCH', `/api/projects/${project.id}`, ADMIN_KEY, { icon: '📁' })).body).toMatchObject({ name: 'new-name', icon: '📁' });
    expect((await d.call('PATCH', `/api/projects/${project.id}`, ADMIN_KEY, {})).status).toBe(422);
    expect((await d.call('PATCH', `/api/projects/${project.id}`, ADMIN_KEY, { name: 'x', merge: 'yes' })).status).toBe(422);
    expect((await d.call('PATCH', `/api/projects/${project.id}`, ADMIN_KEY, { name: 'my-first-project' })).status).toBe(409);
    expect((await d.call('PATCH', `/api/projects/${project.id}`, READ_KEY, { icon: 'x' })).status).toBe(403);
    expect((await d.call('PATCH', '/api/projects/proj_0000000000000000', ADMIN_KEY, { icon: 'x' })).status).toBe(404);
  });

  it('merges a project into the existing project of that name: logs, tasks and former names follow', async () => {
    await d.log(ADMIN_KEY, { project: 'billing', task: 'Invoice' });
    await d.log(ADMIN_KEY, { project: 'billing-v2', task: 'Invoice' });
    await d.log(ADMIN_KEY, { project: 'billing-v2', task: 'Dunning' });
    const list = (await d.call('GET', '/api/projects', READ_KEY)).body;
    const target = byName(list, 'billing');
    const source = byName(list, 'billing-v2');
    const sourceTasks = (await d.call('GET', `/api/projects/${source.id}/tasks`, READ_KEY)).body;
    await d.call('GET', `/api/projects/${target.id}/tasks`, READ_KEY);
    const merged = await d.call('PATCH', `/api/projects/${source.id}`, ADMIN_KEY, { name: 'billing', merge: true });
    expect(merged.status).toBe(200);
    expect(merged.body).toMatchObject({ id: target.id, name: 'billing', executionCount: 3 });
    const after = (await d.call('GET', '/api/projects', READ_KEY)).body;
    expect(after.filter((p: any) => p.name.startsWith('billing'))).toEqual([expect.objectContaining({ id: target.id, executionCount: 3 })]);
    expect((await d.call('GET', `/api/projects/${source.id}/tasks`, READ_KEY)).status).toBe(404);
    const tasks = (await d.call('GET', `/api/projects/${target.id}/tasks`, READ_KEY)).body;
    expect(tasks.map((t: any) => [t.name, t.executionCount]).sort()).toEqual([['Dunning', 1], ['Invoice', 2]]);
    // The source's task the target did not have moved with the id it was listed under.
    expect(tasks.find((t: any) => t.name === 'Dunning').id).toBe(sourceTasks.find((t: any) => t.name === 'Dunning').id);
    // Logs still sent under the merged name count for the target, and no project comes back for it.
    await d.log(ADMIN_KEY, { project: 'billing-v2', task: 'Dunning' });
    const later = (await d.call('GET', '/api/projects', READ_KEY)).body;
    expect(byName(later, 'billing')).toMatchObject({ executionCount: 4 });
    expect(byName(later, 'billing-v2')).toBeUndefined();
  });

  it('deletes a task with its logs, and a project with its logs, rules and tasks', async () => {
    await d.log(ADMIN_KEY, { id: 'doomed-keep-1', project: 'doomed', task: 'Keep' });
    await d.log(ADMIN_KEY, { id: 'doomed-drop-1', project: 'doomed', task: 'Drop' });
    await d.log(ADMIN_KEY, { project: 'doomed', task: 'Drop' });
    // Decided logs: deleting their task or project deletes their decisions too.
    for (const id of ['doomed-keep-1', 'doomed-drop-1']) expect((await d.call('PATCH', `/api/logs/${id}/decision`, ADMIN_KEY, { decision: 'approved' })).status).toBe(200);
    // Decisions are read from the store (the catalog does not hold them in memory).
    const decision = async (id: string) => (await d.daemon.service.objects.fetch('decision', 'acme', [id])).get(id);
    expect(await decision('doomed-drop-1')).toBeDefined();
    await d.log(ADMIN_KEY, { project: 'survivor', task: 'Drop' });
    const project = byName((await d.call('GET', '/api/projects', READ_KEY)).body, 'doomed');
    const tasks = (await d.call('GET', `/api/projects/${project.id}/tasks`, READ_KEY)).body;
    expect(tasks).toHaveLength(2);

    expect((await d.call('DELETE', `/api/projects/${project.id}/tasks`, ADMIN_KEY)).status).toBe(422);
    expect((await d.call('DELETE', `/api/projects/${project.id}/tasks?taskName=Nope`, ADMIN_KEY)).status).toBe(404);
    expect((await d.call('DELETE', `/api/projects/${project.id}/tasks?taskName=Drop`, READ_KEY)).status).toBe(403);
    const dropped = await d.call('DELETE', `/api/projects/${project.id}/tasks?taskName=Drop`, ADMIN_KEY);
    expect(dropped).toMatchObject({ status: 200, body: { success: true } });
    expect(await d.rows('acme', 'doomed', 'Drop')).toBe(0);
    expect(await d.rows('acme', 'doomed', 'Keep')).toBe(1);
    expect(await d.rows('acme', 'survivor', 'Drop')).toBe(1);
    expect(await decision('doomed-drop-1')).toBeUndefined();
    expect(await decision('doomed-keep-1')).toBeDefined();
    const left = (await d.call('GET', `/api/projects/${project.id}/tasks`, READ_KEY)).body;
    expect(left.map((t: any) => t.name)).toEqual(['Keep']);
    expect(byName((await d.call('GET', '/api/projects', READ_KEY)).body, 'doomed').executionCount).toBe(1);

    const scoped = await d.call('POST', '/api/rules', ADMIN_KEY, { name: 'Doomed only', type: 'keyword_forbidden', value: 'x', projectName: 'doomed' });
    const byId = await d.call('POST', '/api/rules', ADMIN_KEY, { name: 'Doomed by id', type: 'keyword_forbidden', value: 'x', projectId: project.id });
    const other = await d.call('POST', '/api/rules', ADMIN_KEY, { name: 'Survivor', type: 'keyword_forbidden', value: 'x', projectName: 'survivor' });
    expect([scoped.status, byId.status, other.status]).toEqual([201, 201, 201]);

    expect((await d.call('DELETE', `/api/projects/${project.id}`, READ_KEY)).status).toBe(403);
    const deleted = await d.call('DELETE', `/api/projects/${project.id}`, ADMIN_KEY);
    expect(deleted).toMatchObject({ status: 200, body: { success: true } });
    expect(await d.rows('acme', 'doomed')).toBe(0);
    expect(await d.rows('acme', 'survivor')).toBe(1);
    expect(await decision('doomed-keep-1')).toBeUndefined();
    // Its logs are tombstoned like single deletes: a replay of one of their ids is not stored again.
    const replay = await fetch(`${d.daemon.receiverUrl('logs')}/api/logs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'doomed-keep-1', project: 'doomed', task: 'Keep', output: 'an AI answer' }),
    });
    expect(replay.status).toBe(409);
    expect(await d.rows('acme', 'doomed')).toBe(0);
    const rules = (await d.call('GET', '/api/rules', READ_KEY)).body.map((r: any) => r.id);
    expect(rules).not.toContain(scoped.body.id);
    expect(rules).not.toContain(byId.body.id);
    expect(rules).toContain(other.body.id);
    expect(d.daemon.service.objects.list('task', 'acme').filter((t) => t.spec.projectId === project.id)).toEqual([]);
    expect(byName((await d.call('GET', '/api/projects', READ_KEY)).body, 'doomed')).toBeUndefined();
    expect((await d.call('DELETE', `/api/projects/${project.id}`, ADMIN_KEY)).status).toBe(404);
    expect((await d.call('GET', `/api/projects/${project.id}/tasks`, READ_KEY)).status).toBe(404);
  });

  it('keeps workspaces apart whatever ids they send', async () => {
    await d.log(OTHER_KEY, { project: 'support-replies', task: 'Tone Validator' });
    await d.log(OTHER_KEY, { project: 'theirs' });
    const mine = (await d.call('GET', '/api/projects', ADMIN_KEY)).body;
    const theirs = (await d.call('GET', '/api/projects', OTHER_KEY)).body;
    expect(theirs.map((p: any) => [p.name, p.executionCount]).sort()).toEqual([['support-replies', 1], ['theirs', 1]]);
    expect(byName(mine, 'theirs')).toBeUndefined();
    const mineSupport = byName(mine, 'support-replies');
    const theirSupport = byName(theirs, 'support-replies');
    expect(theirSupport.id).not.toBe(mineSupport.id);
    // Guessing acme's ids from the other workspace: 404 everywhere, nothing changes.
    const id = mineSupport.id;
    expect((await d.call('GET', `/api/projects/${id}/tasks`, OTHER_KEY)).status).toBe(404);
    expect((await d.call('POST', `/api/projects/${id}/tasks`, OTHER_KEY, { name: 'sneaky' })).status).toBe(404);
    expect((await d.call('PATCH', `/api/projects/${id}`, OTHER_KEY, { name: 'hijacked' })).status).toBe(404);
    expect((await d.call('DELETE', `/api/projects/${id}/tasks?taskName=Tone%20Validator`, OTHER_KEY)).status).toBe(404);
    expect((await d.call('DELETE', `/api/projects/${id}`, OTHER_KEY)).status).toBe(404);
    expect(await d.rows('acme', 'support-replies')).toBeGreaterThan(0);
    // Merging into another workspace's project name only finds the caller's own projects.
    const renamed = await d.call('PATCH', `/api/projects/${theirSupport.id}`, OTHER_KEY, { name: 'new-name', merge: true });
    expect(renamed.body).toMatchObject({ id: theirSupport.id, name: 'new-name', executionCount: 1 });
    expect(byName((await d.call('GET', '/api/projects', ADMIN_KEY)).body, 'support-replies')).toMatchObject({ id, executionCount: mineSupport.executionCount });
    // Deleting their project leaves acme's logs of the same name.
    const before = await d.rows('acme', 'support-replies');
    expect((await d.call('DELETE', `/api/projects/${theirSupport.id}`, OTHER_KEY)).body).toEqual({ success: true });
    expect(await d.rows('other', 'support-replies')).toBe(0);
    expect(await d.rows('acme', 'support-replies')).toBe(before);
  });
});
