/**
 * /v1/workspaces/:id/incidents through HTTP against a real daemon: incidents fired by real rules
 * (an alert rule over latency created over HTTP, a verdict rule of the file grouped by workspace,
 * spans sent through the logs receiver and the gateway), listed, filtered, sorted and paged; the
 * detail with related events, policy violations (a call the gateway's preflight blocked, a log
 * evaluate_rules flagged) and failover actions (a call whose primary answered 503); notes in the
 * timeline; two workspaces, guessed ids and bad parameters.
 */
import { ACME_ADMIN, ACME_READ, OTHER_ADMIN, chat, controlPlane, evaluate, incidentRows, readApi, sendLog, startIncidentsDaemon, taskSpans } from './incidents-daemon';
import type { IncidentRow, IncidentsDaemon } from './incidents-daemon';
import { waitFor } from '../../support/wait';

const ACME = '/v1/workspaces/acme/incidents';
const OTHER = '/v1/workspaces/other/incidents';
const SECRET = 'sk-proj-Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2';

let d: IncidentsDaemon;
/** Incident ids by what fired them. */
const ids = { latency: '', spanCount: '', flagged: '', otherFlagged: '', otherSpanCount: '', global: '' };
/** Trace ids of the gateway calls. */
const traces = { blocked: '', failover: '', otherFailover: '' };

async function createRule(key: string, workspace: string, body: Record<string, unknown>): Promise<string> {
  const created = await controlPlane(d, 'POST', `/v1/workspaces/${workspace}/alert-rules`, key, body);
  expect(created.status).toBe(201);
  return created.body.id as string;
}

beforeAll(async () => {
  d = await startIncidentsDaemon();
  const latencyRule = await createRule(ACME_ADMIN, 'acme', { name: 'Slow replies', condition: { metric: 'latency', threshold_ms: 1000, window_seconds: 600 }, severity: 'critical' });
  const countRule = await createRule(ACME_ADMIN, 'acme', { name: 'Any traffic', condition: { metric: 'span_count', threshold: 1, window_seconds: 600 }, severity: 'low' });
  const otherCountRule = await createRule(OTHER_ADMIN, 'other', { name: 'Other traffic', condition: { metric: 'span_count', threshold: 1, window_seconds: 600 } });

  // The gateway: a call preflight blocks (a secret in the input), and calls that fail over from a 503.
  expect(await chat(d, ACME_ADMIN, 'inc-blocked', `my key is ${SECRET}`)).toBe(400);
  d.openai.enqueue({ status: 503 });
  expect(await chat(d, ACME_ADMIN, 'inc-failover', 'hi', { 'x-route-id': 'prod-chat' })).toBe(200);
  d.openai.enqueue({ status: 503 });
  expect(await chat(d, OTHER_ADMIN, 'inc-other-failover', 'hi', { 'x-route-id': 'prod-chat' })).toBe(200);
  traces.blocked = (await taskSpans(d, 'inc-blocked', 1))[0].TraceId;
  traces.failover = (await taskSpans(d, 'inc-failover', 3))[0].TraceId;
  traces.otherFailover = (await taskSpans(d, 'inc-other-failover', 3))[0].TraceId;

  // Logs: a slow one and a flagged one in acme, a flagged one in other.
  expect((await sendLog(d, ACME_ADMIN, { output: 'slow but fine', latencyMs: 5000 })).status).toBe('pass');
  expect((await sendLog(d, ACME_ADMIN, { output: 'a refund is on its way' })).status).toBe('flagged');
  expect((await sendLog(d, OTHER_ADMIN, { output: 'refund granted', latencyMs: 5 })).status).toBe('flagged');
  const perSpan = await waitFor('the per-span incidents', async () => {
    const rows = await incidentRows(d);
    const flagged = rows.filter((r) => r.rule_id === 'flagged-by-workspace');
    const acme = flagged.find((r) => r.workspace === 'acme');
    return acme && acme.example_trace_ids.length >= 2 && flagged.some((r) => r.workspace === 'other') && rows.some((r) => r.rule_id === 'any-error') ? rows : undefined;
  });
  ids.flagged = perSpan.find((r) => r.rule_id === 'flagged-by-workspace' && r.workspace === 'acme')!.incident_id;
  ids.otherFlagged = perSpan.find((r) => r.rule_id === 'flagged-by-workspace' && r.workspace === 'other')!.incident_id;
  ids.global = perSpan.find((r) => r.rule_id === 'any-error')!.incident_id;

  // One round: the windowed rules fire; the per-span incidents, quiet since (cooldown 0), resolve.
  const round = await evaluate(d);
  expect(round.errors).toEqual([]);
  const rows: IncidentRow[] = await waitFor('the round written', async () => {
    const all = await incidentRows(d);
    return all.some((r) => r.incident_id === ids.flagged && r.status === 'resolved') && all.filter((r) => r.status === 'firing').length >= 3 ? all : undefined;
  });
  ids.latency = rows.find((r) => r.rule_id === latencyRule)!.incident_id;
  ids.spanCount = rows.find((r) => r.rule_id === countRule)!.incident_id;
  ids.otherSpanCount = rows.find((r) => r.rule_id === otherCountRule)!.incident_id;
  expect(rows.find((r) => r.incident_id === ids.global)?.workspace).toBe('');
});
afterAll(async () => {
  await d?.stop();
});

describe('GET /v1/workspaces/:id/incidents', () => {
  it("lists the workspace's incidents only, newest first, with the contract's fields", async () => {
    const list = await readApi(d, 'GET', ACME, ACME_READ);
    expect(list.status).toBe(200);
    expect(list.body.total).toBe(3);
    expect(list.body).toMatchObject({ page: 1, limit: 25 });
    expect(list.headers.get('x-total-count')).toBe('3');
    expect(list.body.data.map((i: any) => i.incident_id).sort()).toEqual([ids.latency, ids.spanCount, ids.flagged].sort());
    // created_at descending: the per-span incident opened before the round.
    const created = list.body.data.map((i: any) => Date.parse(i.created_at));
    expect([...created].sort((a, b) => b - a)).toEqual(created);
    expect(list.body.data[2].incident_id).toBe(ids.flagged);
    const latency = list.body.data.find((i: any) => i.incident_id === ids.latency);
    expect(latency).toMatchObject({
      status: 'active',
      severity: 'critical',
      rule: { name: 'Slow replies' },
      group: { workspace: 'acme' },
      threshold: 1000,
      resolved_at: null,
    });
    // p95 over acme's spans, the 5 s log among fast gateway calls.
    expect(latency.value).toBeGreaterThan(1000);
    expect(latency.condition).toMatch(/p95 latency/);
    expect(Date.parse(latency.updated_at)).toBeGreaterThanOrEqual(Date.parse(latency.created_at));
    const flagged = list.body.data.find((i: any) => i.incident_id === ids.flagged);
    expect(flagged).toMatchObject({ status: 'resolved', severity: 'high', rule: { id: 'flagged-by-workspace', name: 'Flagged answers' } });
    expect(Date.parse(flagged.resolved_at)).toBeGreaterThanOrEqual(Date.parse(flagged.created_at));

    // The other workspace sees its own, never acme's nor the global incident.
    const other = await readApi(d, 'GET', OTHER, OTHER_ADMIN);
    expect(other.status).toBe(200);
    expect(other.body.data.map((i: any) => i.incident_id).sort()).toEqual([ids.otherFlagged, ids.otherSpanCount].sort());
  });

  it('filters by status and severity in the contract words', async () => {
    const active = await readApi(d, 'GET', `${ACME}?status=active`, ACME_READ);
    expect(active.status).toBe(200);
    expect(active.body.data.map((i: any) => i.incident_id).sort()).toEqual([ids.latency, ids.spanCount].sort());
    expect(active.body.total).toBe(2);
    const resolved = await readApi(d, 'GET', `${ACME}?status=resolved`, ACME_READ);
    expect(resolved.body.data.map((i: any) => i.incident_id)).toEqual([ids.flagged]);
    const high = await readApi(d, 'GET', `${ACME}?status=active&severity=high`, ACME_READ);
    expect(high.body).toMatchObject({ data: [], total: 0 });
    const critical = await readApi(d, 'GET', `${ACME}?status=active&severity=critical`, ACME_READ);
    expect(critical.body.data.map((i: any) => i.incident_id)).toEqual([ids.latency]);
  });

  it('sorts by severity (gravity, not alphabet) and by updated_at', async () => {
    const desc = await readApi(d, 'GET', `${ACME}?sort=severity:desc`, ACME_READ);
    expect(desc.body.data.map((i: any) => i.severity)).toEqual(['critical', 'high', 'low']);
    const asc = await readApi(d, 'GET', `${ACME}?sort=severity:asc`, ACME_READ);
    expect(asc.body.data.map((i: any) => i.severity)).toEqual(['low', 'high', 'critical']);
    const updated = await readApi(d, 'GET', `${ACME}?sort=updated_at:asc`, ACME_READ);
    const times = updated.body.data.map((i: any) => Date.parse(i.updated_at));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });

  it('pages with limit, answering the total and a Link header that keeps the filters', async () => {
    const first = await readApi(d, 'GET', `${ACME}?sort=severity:desc&limit=2`, ACME_READ);
    expect(first.body).toMatchObject({ total: 3, page: 1, limit: 2 });
    expect(first.body.data.map((i: any) => i.severity)).toEqual(['critical', 'high']);
    const link = first.headers.get('link') ?? '';
    expect(link).toContain(`<${ACME}?sort=severity%3Adesc&limit=2&page=2>; rel="next"`);
    expect(link).toContain('rel="last"');
    expect(link).not.toContain('rel="prev"');
    // The contract's maximum is 100: a larger limit is served as 100.
    const capped = await readApi(d, 'GET', `${ACME}?limit=500`, ACME_READ);
    expect(capped.body).toMatchObject({ limit: 100 });
    const second = await readApi(d, 'GET', `${ACME}?sort=severity:desc&limit=2&page=2`, ACME_READ);
    expect(second.body.data.map((i: any) => i.severity)).toEqual(['low']);
    expect(second.headers.get('link')).toContain('rel="prev"');
    expect(second.headers.get('link')).not.toContain('rel="next"');
    const beyond = await readApi(d, 'GET', `${ACME}?page=9`, ACME_READ);
    expect(beyond.body).toMatchObject({ data: [], total: 3, page: 9 });
  });

  it('answers 422 naming the parameter for bad values', async () => {
    const cases: [string, string][] = [
      ['status=open', 'status'],
      ['severity=urgent', 'severity'],
      ['sort=name:asc', 'sort'],
      ['sort=created_at:sideways', 'sort'],
      ['limit=0', 'limit'],
      ['page=first', 'page'],
      ['workspace=other', 'workspace'],
    ];
    for (const [query, field] of cases) {
      const answer = await readApi(d, 'GET', `${ACME}?${query}`, ACME_READ);
      expect([query, answer.status]).toEqual([query, 422]);
      expect(answer.body.fields.map((f: any) => f.field)).toEqual([field]);
    }
  });

  it('refuses another workspace in the path (403) and keys it does not know (401)', async () => {
    expect((await readApi(d, 'GET', ACME, OTHER_ADMIN)).status).toBe(403);
    expect((await readApi(d, 'GET', '/v1/workspaces/nobody/incidents', ACME_READ)).status).toBe(403);
    expect((await readApi(d, 'GET', ACME, 'not-a-key-0123456789abcdef')).status).toBe(401);
  });
});

describe('GET /v1/workspaces/:id/incidents/:incidentId', () => {
  it('answers a resolved incident with related events, policy violations, failover actions and its timeline', async () => {
    const one = await readApi(d, 'GET', `${ACME}/${ids.flagged}`, ACME_READ);
    expect(one.status).toBe(200);
    const incident = one.body;
    expect(incident).toMatchObject({ incident_id: ids.flagged, status: 'resolved', severity: 'high', group: { workspace: 'acme' }, rule: { id: 'flagged-by-workspace' } });
    expect(incident.timeline.map((e: any) => e.type)).toEqual(['firing', 'resolved']);
    expect(incident.timeline[0].at).toBe(incident.created_at);
    expect(incident.timeline[1].at).toBe(incident.resolved_at);

    // Related events: its example traces, among them the blocked call and the flagged log.
    expect(incident.related_events.map((e: any) => e.trace_id)).toEqual(incident.example_trace_ids);
    const blockedTrace = incident.related_events.find((e: any) => e.trace_id === traces.blocked);
    expect(blockedTrace.spans).toEqual([expect.objectContaining({ name: 'chat gpt-4o', status: 'Error', model: 'gpt-4o', verdict: 'flagged' })]);
    expect(Date.parse(blockedTrace.spans[0].time)).not.toBeNaN();
    const logTrace = incident.related_events.find((e: any) => e.trace_id !== traces.blocked);
    expect(logTrace.spans).toEqual(expect.arrayContaining([expect.objectContaining({ verdict: 'flagged', project: 'support' })]));

    // Policy violations: the blocked call and the flagged log of acme in the window, none of other's.
    const kinds = incident.policy_violations.map((v: any) => v.kind).sort();
    expect(kinds).toEqual(['flagged', 'preflight_blocked']);
    const blocked = incident.policy_violations.find((v: any) => v.kind === 'preflight_blocked');
    expect(blocked).toMatchObject({ trace_id: traces.blocked, reason: 'content', severity: 'high', findings: [{ rule: 'pii:api_key', message: 'api_key detected in the input (1 match)' }] });
    expect(JSON.stringify(incident)).not.toContain(SECRET);
    const flaggedLog = incident.policy_violations.find((v: any) => v.kind === 'flagged');
    expect(flaggedLog.project).toBe('support');
    expect(JSON.stringify(flaggedLog.findings)).toContain('no-refunds');

    // Failover actions: acme's call that went from openai (503) to backup, not other's.
    expect(incident.failover_actions).toEqual([
      expect.objectContaining({
        trace_id: traces.failover,
        route: 'prod-chat',
        model: 'gpt-4o',
        upstreams_tried: ['openai', 'backup'],
        final_upstream: 'backup',
        http_status: 200,
        attempts: [
          { attempt: 1, upstream: 'openai', status: 503, error: 'status_503' },
          { attempt: 2, upstream: 'backup', status: 200, error: null },
        ],
      }),
    ]);
    expect(Date.parse(incident.window.from)).toBeLessThan(Date.parse(incident.created_at));
    expect(incident.window.to).toBe(incident.resolved_at);
  });

  it("shows the other workspace only its own gateway calls and violations", async () => {
    const one = await readApi(d, 'GET', `${OTHER}/${ids.otherFlagged}`, OTHER_ADMIN);
    expect(one.status).toBe(200);
    expect(one.body.failover_actions.map((f: any) => f.trace_id)).toEqual([traces.otherFailover]);
    expect(one.body.policy_violations.map((v: any) => v.kind)).toEqual(['flagged']);
    expect(JSON.stringify(one.body)).not.toContain(traces.blocked);
    expect(JSON.stringify(one.body)).not.toContain(traces.failover);
  });

  it('answers 404 for guessed, foreign and global ids, the same whether or not they exist', async () => {
    const guesses = [ids.latency, ids.global, '0123456789abcdef0123456789abcdef', 'nope', encodeURIComponent("' OR 1=1 --")];
    for (const id of guesses) {
      const answer = await readApi(d, 'GET', `${OTHER}/${id}`, OTHER_ADMIN);
      expect([id, answer.status]).toEqual([id, 404]);
    }
    // The global incident is acme's neither.
    expect((await readApi(d, 'GET', `${ACME}/${ids.global}`, ACME_READ)).status).toBe(404);
    // acme's path with other's key: 403 before anything is looked up.
    expect((await readApi(d, 'GET', `${ACME}/${ids.latency}`, OTHER_ADMIN)).status).toBe(403);
  });
});

describe('POST /v1/workspaces/:id/incidents/:incidentId/notes', () => {
  it('stores notes that show in the detail and its timeline, in order', async () => {
    const first = await readApi(d, 'POST', `${ACME}/${ids.flagged}/notes`, ACME_ADMIN, { text: 'Refund wording came from the new prompt', author: 'jane@acme.test' });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ incident_id: ids.flagged, text: 'Refund wording came from the new prompt', author: 'jane@acme.test' });
    expect(first.body.note_id).toMatch(/^note_[0-9a-f]{16}$/);
    expect(first.body.created_by).toMatch(/^key:[0-9a-f]{12}$/);
    const second = await readApi(d, 'POST', `${ACME}/${ids.flagged}/notes`, ACME_ADMIN, { text: '  Prompt rolled back  ' });
    expect(second.status).toBe(201);
    // Without an author the key's name stands in; the text is trimmed.
    expect(second.body).toMatchObject({ text: 'Prompt rolled back', author: first.body.created_by });

    const one = await readApi(d, 'GET', `${ACME}/${ids.flagged}`, ACME_READ);
    expect(one.body.notes.map((n: any) => n.note_id)).toEqual([first.body.note_id, second.body.note_id]);
    // Written after the resolution, the notes follow it.
    expect(one.body.timeline.map((e: any) => (e.type === 'note' ? e.text : e.type))).toEqual(['firing', 'resolved', 'Refund wording came from the new prompt', 'Prompt rolled back']);

    // A note on an active incident follows its firing; other incidents keep their own notes.
    expect((await readApi(d, 'POST', `${ACME}/${ids.latency}/notes`, ACME_ADMIN, { text: 'Provider is slow today' })).status).toBe(201);
    const latency = await readApi(d, 'GET', `${ACME}/${ids.latency}`, ACME_READ);
    expect(latency.body.timeline.map((e: any) => e.type)).toEqual(['firing', 'note']);
    expect(latency.body.notes.map((n: any) => n.text)).toEqual(['Provider is slow today']);

    // Stored as incident_note objects of acme (the object store, audited).
    const stored = d.daemon.service.objects.list('incident_note', 'acme');
    expect(stored.map((o) => o.spec.incidentId).sort()).toEqual([ids.flagged, ids.flagged, ids.latency].sort());
  });

  it('needs the admin role, the own workspace and a known incident', async () => {
    expect((await readApi(d, 'POST', `${ACME}/${ids.latency}/notes`, ACME_READ, { text: 'read keys do not write' })).status).toBe(403);
    expect((await readApi(d, 'POST', `${ACME}/${ids.latency}/notes`, OTHER_ADMIN, { text: 'not my workspace' })).status).toBe(403);
    expect((await readApi(d, 'POST', `${OTHER}/${ids.latency}/notes`, OTHER_ADMIN, { text: 'guessing' })).status).toBe(404);
    expect((await readApi(d, 'POST', `${ACME}/0123456789abcdef0123456789abcdef/notes`, ACME_ADMIN, { text: 'nothing there' })).status).toBe(404);
    const latency = await readApi(d, 'GET', `${ACME}/${ids.latency}`, ACME_READ);
    expect(latency.body.notes.map((n: any) => n.text)).not.toContain('read keys do not write');
  });

  it('takes the common names of the note text: note, content, body, message', async () => {
    for (const name of ['note', 'content', 'body', 'message']) {
      const answer = await readApi(d, 'POST', `${ACME}/${ids.latency}/notes`, ACME_ADMIN, { [name]: `as ${name}`, author: 'ops' });
      expect([name, answer.status]).toEqual([name, 201]);
      expect(answer.body).toMatchObject({ text: `as ${name}`, author: 'ops' });
    }
    const latency = await readApi(d, 'GET', `${ACME}/${ids.latency}`, ACME_READ);
    expect(latency.body.notes.map((n: any) => n.text)).toEqual(expect.arrayContaining(['as note', 'as content', 'as body', 'as message']));
  });

  it('answers 422 naming the field for bad bodies', async () => {
    const cases: [unknown, string][] = [
      [{}, 'text'],
      [{ text: '   ' }, 'text'],
      [{ text: 5 }, 'text'],
      [{ text: 'x'.repeat(10_001) }, 'text'],
      [{ text: 'ok', author: '' }, 'author'],
      [{ text: 'ok', mood: 'grumpy' }, 'mood'],
      [{ text: 'ok', note: 'twice' }, 'note'],
      [{ content: 7 }, 'text'],
    ];
    for (const [body, field] of cases) {
      const answer = await readApi(d, 'POST', `${ACME}/${ids.latency}/notes`, ACME_ADMIN, body);
      expect([field, answer.status]).toEqual([field, 422]);
      expect(answer.body.fields.map((f: any) => f.field)).toEqual([field]);
    }
    expect((await readApi(d, 'POST', `${ACME}/${ids.latency}/notes`, ACME_ADMIN, '{"text":')).status).toBe(400);
  });
});
