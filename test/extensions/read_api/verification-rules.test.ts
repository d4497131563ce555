/**
 * POST /api/v1/verification/verify/:trace_id and GET /results/:trace_id through real HTTP: a
 * stored gateway trace re-evaluated against the workspace's current rules before and after rules
 * are created over the control plane (a keyword rule, then an llm_judge rule judged by a fake
 * provider), each run a new stored version; an OTLP agent run whose tools loop and fail is a task
 * with the detections evaluate_rules wrote at ingest; isolation, roles, 404s and 422s.
 */
import { ACME_INGEST_KEY, ACME_KEY, ACME_READ_KEY, GLOBEX_KEY, startAgentDaemon } from './agent-daemon';
import type { AgentDaemon } from './agent-daemon';

let d: AgentDaemon;
let acmeTrace: string;
let callSpan: string;
let globexTrace: string;

beforeAll(async () => {
  d = await startAgentDaemon();
  await d.openai(ACME_KEY, { 'X-Task-ID': 'verify-me' }).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello?' }] });
  await d.openai(GLOBEX_KEY, { 'X-Task-ID': 'verify-me' }).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello?' }] });
  const task = await d.task(ACME_KEY, 'verify-me', 1);
  acmeTrace = task.trace_id;
  callSpan = task.calls[0].span_id;
  globexTrace = (await d.task(GLOBEX_KEY, 'verify-me', 1)).trace_id;
}, 60_000);
afterAll(() => d?.stop());

describe('verification', () => {
  it('verifies against the current rules, one new version per run', async () => {
    expect((await d.call('GET', `/api/v1/verification/results/${acmeTrace}`, ACME_KEY)).status).toBe(404);
    const first = await d.call('POST', `/api/v1/verification/verify/${acmeTrace}`, ACME_INGEST_KEY);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ trace_id: acmeTrace, version: 1, verdict: 'pass', findings: [], detections: [], rules_applied: [], spans_truncated: false });
    expect(first.body.spans_evaluated).toBeGreaterThanOrEqual(1);

    // The fake provider answers "Hello from the fake provider.": a rule created now flags it.
    const rule = await d.control('POST', '/api/rules', ACME_KEY, { name: 'No fakes', type: 'keyword_forbidden', value: 'fake', severity: 'high' });
    expect(rule.status).toBe(201);
    const second = await d.call('POST', `/api/v1/verification/verify/${acmeTrace}`, ACME_KEY);
    expect(second.body).toMatchObject({ version: 2, verdict: 'flagged', rules_applied: [rule.body.id], summary: { triggered: 1, errors: 0 } });
    expect(second.body.findings).toEqual([expect.objectContaining({ span_id: callSpan, rule_id: rule.body.id, rule_name: 'No fakes', rule_type: 'keyword_forbidden', outcome: 'triggered', severity: 'high' })]);
    expect((await d.call('GET', `/api/v1/verification/results/${acmeTrace}`, ACME_READ_KEY)).body).toEqual(second.body);

    // An llm_judge rule is judged too (by the fake judge), as a third version.
    d.judge.enqueue({ chunks: [JSON.stringify({ verdict: 'fail', confidence: 0.9, explanation: 'Not helpful.' })] });
    const judgeRule = await d.control('POST', '/api/rules', ACME_KEY, { name: 'Helpful', type: 'llm_judge', value: 'The reply answers the question.' });
    expect(judgeRule.status).toBe(201);
    const third = await d.call('POST', `/api/v1/verification/verify/${acmeTrace}`, ACME_KEY);
    expect(third.body.version).toBe(3);
    expect(third.body.findings).toEqual(
      expect.arrayContaining([expect.objectContaining({ span_id: callSpan, rule_id: judgeRule.body.id, rule_type: 'llm_judge', outcome: 'triggered', confidence: 0.9 })]),
    );
    expect(d.judge.requests).toHaveLength(1);
    expect((await d.call('GET', `/api/v1/verification/results/${acmeTrace}`, ACME_KEY)).body.version).toBe(3);
    await d.control('DELETE', `/api/rules/${judgeRule.body.id}`, ACME_KEY);
    // Results grow with the traces verified: the store keeps them, no daemon's memory does.
    const catalog = d.daemon.service.objects;
    await catalog.refresh();
    expect(catalog.list('verification')).toEqual([]);
    expect(catalog.get('verification', 'acme', acmeTrace)).toBeUndefined();
  });

  it('applies only the caller workspace rules and never shows another workspace trace', async () => {
    const theirs = await d.call('POST', `/api/v1/verification/verify/${globexTrace}`, GLOBEX_KEY);
    expect(theirs.body).toMatchObject({ version: 1, verdict: 'pass', findings: [] });
    expect((await d.call('POST', `/api/v1/verification/verify/${acmeTrace}`, GLOBEX_KEY)).status).toBe(404);
    expect((await d.call('GET', `/api/v1/verification/results/${acmeTrace}`, GLOBEX_KEY)).status).toBe(404);
    expect((await d.call('GET', `/api/v1/verification/results/${globexTrace}`, ACME_KEY)).status).toBe(404);
  });

  it('checks roles, ids and unknown traces', async () => {
    expect((await d.call('POST', `/api/v1/verification/verify/${acmeTrace}`, ACME_READ_KEY)).status).toBe(403);
    expect((await d.call('GET', `/api/v1/verification/results/${acmeTrace}`, ACME_INGEST_KEY)).status).toBe(403);
    expect((await d.call('POST', `/api/v1/verification/verify/${'ab'.repeat(16)}`, ACME_KEY)).status).toBe(404);
    for (const id of ['not-a-trace', '0'.repeat(32), 'g'.repeat(32)]) {
      const answer = await d.call('POST', `/api/v1/verification/verify/${id}`, ACME_KEY);
      expect([id, answer.status]).toEqual([id, 422]);
      expect(answer.text).toContain('trace_id');
    }
  });
});

describe('agent runs from OTLP', () => {
  const traceId = '5b8efff798038103d269b633813fc60c';
  const attr = (key: string, value: string) => ({ key, value: { stringValue: value } });
  const span = (id: string, name: string, offsetMs: number, attributes: object[], error = false) => ({
    traceId,
    spanId: id,
    parentSpanId: id === 'a000000000000001' ? '' : 'a000000000000001',
    name,
    kind: 1,
    startTimeUnixNano: String(BigInt(Date.now() - 60_000 + offsetMs) * 1_000_000n),
    endTimeUnixNano: String(BigInt(Date.now() - 60_000 + offsetMs + 5) * 1_000_000n),
    attributes,
    status: error ? { code: 2, message: 'tool crashed' } : { code: 1 },
  });
  const tool = (id: string, offset: number, error = false) =>
    span(id, 'execute_tool search', offset, [attr('gen_ai.operation.name', 'execute_tool'), attr('gen_ai.tool.name', 'search'), attr('gen_ai.tool.call.arguments', '{"q":"flights"}'), attr('gen_ai.conversation.id', 'otlp-conv')], error);

  it('is a task named by its trace id, with the detections written at ingest', async () => {
    const status = await d.otlp(ACME_KEY, {
      resourceSpans: [
        {
          resource: { attributes: [attr('service.name', 'planner-agent')] },
          scopeSpans: [
            {
              spans: [
                span('a000000000000001', 'invoke_agent planner', 0, [attr('gen_ai.operation.name', 'invoke_agent'), attr('gen_ai.agent.name', 'planner'), attr('gen_ai.conversation.id', 'otlp-conv')]),
                tool('b000000000000001', 10),
                tool('b000000000000002', 20, true),
                tool('b000000000000003', 30),
              ],
            },
          ],
        },
      ],
    });
    expect(status).toBe(200);
    const task = await d.task(ACME_KEY, traceId, 3);
    expect(task).toMatchObject({ id: traceId, trace_id: traceId, agent_name: 'planner', conversation_id: 'otlp-conv', tool_calls: 3, llm_calls: 0, failed_calls: 1, has_failures: true });
    expect(task.calls.map((c: any) => [c.span_id, c.type, c.tool_name, c.status])).toEqual([
      ['b000000000000001', 'tool', 'search', 'ok'],
      ['b000000000000002', 'tool', 'search', 'error'],
      ['b000000000000003', 'tool', 'search', 'ok'],
    ]);
    expect(task.detections.map((x: any) => [x.type, x.span_id]).sort()).toEqual([
      ['execution_loop', 'b000000000000003'],
      // 1 of 3 tool calls failed: below the default 50% failure rate.
      ['tool_failure', 'b000000000000002'],
    ]);
    expect((await d.call('GET', `/api/v1/tasks/${traceId}`, GLOBEX_KEY)).status).toBe(404);
  });
});
