/**
 * GET /api/v1/tasks(/:id), POST /detect, PUT /complete and /fail through real HTTP: the openai
 * SDK sends an agent's calls through the gateway (X-Task-ID, X-Conversation-ID, X-User-ID), the
 * task lists them in order with tokens and cost, detection finds the loop and stores it, status
 * marks show in later reads; filters, paging, roles, bad parameters and workspace isolation.
 */
import { ACME_INGEST_KEY, ACME_KEY, ACME_READ_KEY, GLOBEX_KEY, startAgentDaemon } from './agent-daemon';
import type { AgentDaemon } from './agent-daemon';

let d: AgentDaemon;
const MODEL = 'gpt-4o-mini';

beforeAll(async () => {
  d = await startAgentDaemon();
  d.provider.setDefault({ usage: { input: 30, output: 5 } });
}, 60_000);
afterAll(() => d?.stop());

async function ask(key: string, headers: Record<string, string>, content: string) {
  return d.openai(key, headers).chat.completions.create({ model: MODEL, messages: [{ role: 'user', content }] });
}

describe('agent tasks from the gateway', () => {
  const loopHeaders = { 'X-Task-ID': 'task-loop', 'X-Conversation-ID': 'conv-loop', 'X-User-ID': 'user-loop' };
  let loop: any;

  beforeAll(async () => {
    await ask(ACME_KEY, loopHeaders, 'Plan the refund');
    for (let i = 0; i < 3; i++) await ask(ACME_KEY, loopHeaders, 'Look up order 42');
    await ask(ACME_KEY, { 'X-Task-ID': 'task-quiet', 'X-Conversation-ID': 'conv-quiet', 'X-User-ID': 'user-quiet' }, 'Say hi');
    loop = await d.task(ACME_KEY, 'task-loop', 4);
    await d.task(ACME_KEY, 'task-quiet', 1);
  }, 60_000);

  it('lists the calls of a task in order with tokens, cost and latency', () => {
    expect(loop).toMatchObject({
      id: 'task-loop',
      status: 'running',
      conversation_id: 'conv-loop',
      user_id: 'user-loop',
      llm_calls: 4,
      tool_calls: 0,
      failed_calls: 0,
      input_tokens: 120,
      output_tokens: 20,
      total_tokens: 140,
      // Nothing detected yet: no evaluate_rules runs on the gateway's pipeline.
      detections: [],
      detection_count: 0,
      has_failures: false,
      calls_truncated: false,
    });
    expect(loop.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(loop.calls).toHaveLength(4);
    for (const call of loop.calls) {
      expect(call).toMatchObject({ type: 'llm', operation: 'chat', model: MODEL, provider: 'openai', status: 'ok', error: null, input_tokens: 30, output_tokens: 5, total_tokens: 35, finish_reasons: ['stop'], conversation_id: 'conv-loop', user_id: 'user-loop' });
      expect(call.cost_usd).toBeGreaterThan(0);
      expect(call.latency_ms).toBeGreaterThanOrEqual(0);
    }
    const starts = loop.calls.map((c: any) => Date.parse(c.started_at));
    expect([...starts].sort((a, b) => a - b)).toEqual(starts);
    expect(loop.cost_usd).toBeCloseTo(loop.calls.reduce((n: number, c: any) => n + c.cost_usd, 0), 12);
    expect(Date.parse(loop.ended_at)).toBeGreaterThanOrEqual(Date.parse(loop.started_at));
  });

  it('detects the loop over the stored calls, stores it once, and shows it in later reads', async () => {
    const first = await d.call('POST', '/api/v1/tasks/task-loop/detect', ACME_INGEST_KEY);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ id: 'task-loop', trace_id: loop.trace_id, calls_analyzed: 4 });
    expect(first.body.detections).toEqual([
      expect.objectContaining({ type: 'execution_loop', rule_id: 'agent.execution_loop', severity: 'high', detail: 'the same model input sent 3 times', span_id: loop.calls[3].span_id }),
    ]);
    // A second run rewrites the same records.
    expect((await d.call('POST', '/api/v1/tasks/task-loop/detect', ACME_KEY)).body.detections).toEqual(first.body.detections);
    const after = await d.call('GET', '/api/v1/tasks/task-loop', ACME_READ_KEY);
    expect(after.body).toMatchObject({ detection_count: 1, has_failures: true });
    expect(after.body.detections).toEqual(first.body.detections);
    // The quiet task has nothing to detect.
    expect((await d.call('POST', '/api/v1/tasks/task-quiet/detect', ACME_KEY)).body).toMatchObject({ calls_analyzed: 1, detections: [] });
  });

  it('records complete and fail as the task status, latest wins, shown in detail and list', async () => {
    const done = await d.call('PUT', '/api/v1/tasks/task-quiet/complete', ACME_INGEST_KEY, { reason: 'answered' });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ id: 'task-quiet', status: 'completed', status_reason: 'answered' });
    expect((await d.call('GET', '/api/v1/tasks/task-quiet', ACME_KEY)).body).toMatchObject({ status: 'completed', status_reason: 'answered', llm_calls: 1 });
    const completed = await d.call('GET', '/api/v1/tasks?status=completed', ACME_KEY);
    expect(completed.body.data.map((t: any) => t.id)).toEqual(['task-quiet']);

    expect((await d.call('PUT', '/api/v1/tasks/task-loop/fail', ACME_KEY)).body).toMatchObject({ status: 'failed', status_reason: null });
    expect((await d.call('GET', '/api/v1/tasks/task-loop', ACME_KEY)).body).toMatchObject({ status: 'failed', llm_calls: 4 });
    expect((await d.call('PUT', '/api/v1/tasks/task-loop/complete', ACME_KEY, {})).body.status).toBe('completed');
    expect((await d.call('GET', '/api/v1/tasks/task-loop', ACME_KEY)).body.status).toBe('completed');
    expect((await d.call('GET', '/api/v1/tasks?status=failed', ACME_KEY)).body.data).toEqual([]);
    expect((await d.call('PUT', '/api/v1/tasks/task-loop/fail', ACME_KEY, { reason: 'gave up' })).body.status).toBe('failed');
    const failed = await d.call('GET', '/api/v1/tasks?status=failed', ACME_KEY);
    expect(failed.body.data).toEqual([expect.objectContaining({ id: 'task-loop', status: 'failed', status_reason: 'gave up', has_failures: true })]);
  });

  it('filters by conversation, user, failures and time, and pages with Link', async () => {
    const ids = async (query: string) => (await d.call('GET', `/api/v1/tasks${query}`, ACME_KEY)).body.data.map((t: any) => t.id);
    expect(await ids('?conversation_id=conv-loop')).toEqual(['task-loop']);
    expect(await ids('?user_id=user-quiet')).toEqual(['task-quiet']);
    expect(await ids('?has_failures=true')).toEqual(['task-loop']);
    expect(await ids('?has_failures=false')).toEqual(['task-quiet']);
    expect(await ids('?sort=started_at:asc')).toEqual(['task-loop', 'task-quiet']);
    // The loop made more calls, with more tokens and cost; each sort in both directions, with a filter.
    for (const field of ['llm_calls', 'total_tokens', 'cost_usd']) {
      expect([field, await ids(`?sort=${field}:desc`)]).toEqual([field, ['task-loop', 'task-quiet']]);
      expect([field, await ids(`?sort=${field}:asc`)]).toEqual([field, ['task-quiet', 'task-loop']]);
    }
    expect(await ids('?sort=ended_at:desc&has_failures=false')).toEqual(['task-quiet']);
    expect(await ids('?sort=cost_usd:desc&status=failed&limit=1')).toEqual(['task-loop']);
    expect(await ids(`?from=${new Date(Date.now() + 3_600_000).toISOString()}&to=${new Date(Date.now() + 7_200_000).toISOString()}`)).toEqual([]);
    // A date-only `to` is the end of that day: from and to on today's date hold today's tasks.
    const today = new Date().toISOString().slice(0, 10);
    expect(await ids(`?from=${today}&to=${today}`)).toEqual(['task-quiet', 'task-loop']);
    // camelCase aliases of the filters.
    expect(await ids('?conversationId=conv-loop')).toEqual(['task-loop']);
    expect(await ids('?userId=user-quiet')).toEqual(['task-quiet']);
    expect(await ids('?hasFailures=true')).toEqual(['task-loop']);
    expect((await d.call('GET', '/api/v1/tasks?userId=a&user_id=b', ACME_KEY)).status).toBe(422);
    const first = await d.call('GET', '/api/v1/tasks?limit=1', ACME_KEY);
    expect(first.body).toMatchObject({ total: 2, page: 1, limit: 1 });
    expect(first.body.data.map((t: any) => t.id)).toEqual(['task-quiet']);
    expect(first.headers.get('link')).toContain('rel="next"');
    const second = await d.call('GET', '/api/v1/tasks?limit=1&page=2', ACME_KEY);
    expect(second.body.data.map((t: any) => t.id)).toEqual(['task-loop']);
    expect(second.headers.get('x-total-count')).toBe('2');
    // A page past the end still counts every task (and links back to the last page).
    const past = await d.call('GET', '/api/v1/tasks?limit=1&page=5', ACME_KEY);
    expect(past.body).toMatchObject({ data: [], total: 2, page: 5 });
    expect(past.headers.get('link')).toContain(`</api/v1/tasks?limit=1&page=2>; rel="last"`);
    expect((await d.call('GET', '/api/v1/tasks?hasFailures=true&status=completed', ACME_KEY)).body).toMatchObject({ data: [], total: 0 });
  });

  it('keeps workspaces apart, whatever ids are guessed', async () => {
    // globex runs a task with the same id: its own trace, its own calls.
    await ask(GLOBEX_KEY, { 'X-Task-ID': 'task-loop' }, 'Other tenant');
    const theirs = await d.task(GLOBEX_KEY, 'task-loop', 1);
    expect(theirs.trace_id).not.toBe(loop.trace_id);
    expect(theirs.calls).toHaveLength(1);
    expect((await d.call('GET', '/api/v1/tasks', GLOBEX_KEY)).body.data.map((t: any) => t.id)).toEqual(['task-loop']);
    expect((await d.call('GET', '/api/v1/tasks/task-loop', ACME_KEY)).body.llm_calls).toBe(4);
    for (const [method, route] of [
      ['GET', `/api/v1/tasks/${loop.trace_id}`],
      ['GET', '/api/v1/tasks/task-quiet'],
      ['POST', '/api/v1/tasks/task-quiet/detect'],
      ['PUT', '/api/v1/tasks/task-quiet/complete'],
      ['PUT', `/api/v1/tasks/${loop.trace_id}/fail`],
    ]) {
      const answer = await d.call(method, route, GLOBEX_KEY);
      expect([route, answer.status]).toEqual([route, 404]);
    }
    expect((await d.call('GET', '/api/v1/tasks/task-quiet', ACME_KEY)).body.status).toBe('completed');
  });

  it('authenticates with X-API-Key or Bearer and checks roles', async () => {
    expect((await d.call('GET', '/api/v1/tasks/task-loop', '', undefined, { 'X-API-Key': ACME_READ_KEY })).status).toBe(200);
    expect((await d.call('GET', '/api/v1/tasks', '', undefined, {})).status).toBe(401);
    expect((await d.call('GET', '/api/v1/tasks', '', undefined, { 'X-API-Key': 'ag_unknown_key_0123456789abcdef' })).status).toBe(401);
    // read cannot write; ingest cannot read.
    expect((await d.call('POST', '/api/v1/tasks/task-loop/detect', ACME_READ_KEY)).status).toBe(403);
    expect((await d.call('PUT', '/api/v1/tasks/task-loop/complete', ACME_READ_KEY)).status).toBe(403);
    expect((await d.call('GET', '/api/v1/tasks', ACME_INGEST_KEY)).status).toBe(403);
    expect((await d.call('DELETE', '/api/v1/tasks/task-loop', ACME_KEY)).status).toBe(405);
  });

  it('answers 404 for unknown tasks and 422 naming the bad parameter', async () => {
    expect((await d.call('GET', '/api/v1/tasks/no-such-task', ACME_KEY)).status).toBe(404);
    expect((await d.call('GET', `/api/v1/tasks/${'f'.repeat(32)}`, ACME_KEY)).status).toBe(404);
    const field = async (route: string, method = 'GET', body?: unknown) => {
      const answer = await d.call(method, route, ACME_KEY, body);
      expect([route, answer.status]).toEqual([route, 422]);
      return answer.text;
    };
    expect(await field('/api/v1/tasks?status=done')).toContain('status');
    expect(await field('/api/v1/tasks?has_failures=yes')).toContain('has_failures');
    expect(await field('/api/v1/tasks?limit=0')).toContain('limit');
    expect(await field('/api/v1/tasks?page=-1')).toContain('page');
    expect(await field('/api/v1/tasks?sort=cost:up')).toContain('sort');
    expect(await field('/api/v1/tasks?colour=red')).toContain('colour');
    expect(await field('/api/v1/tasks?from=yesterday')).toContain('from');
    expect(await field('/api/v1/tasks?to=2020-01-01T00:00:00Z&from=2021-01-01T00:00:00Z')).toContain('from');
    expect(await field(`/api/v1/tasks?user_id=${'u'.repeat(300)}`)).toContain('user_id');
    expect(await field(`/api/v1/tasks/${'x'.repeat(300)}`)).toContain('id');
    expect(await field('/api/v1/tasks/task-loop/complete', 'PUT', { reason: 'ok', colour: 'red' })).toContain('colour');
    expect(await field('/api/v1/tasks/task-loop/fail', 'PUT', { reason: 42 })).toContain('reason');
    expect((await d.call('PUT', '/api/v1/tasks/task-loop/fail', ACME_KEY, '{broken')).status).toBe(400);
  });
});
