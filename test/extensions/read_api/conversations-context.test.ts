/**
 * GET /api/v1/conversations(/:id) and /context-failures through real HTTP: two tasks of one
 * conversation sent through the gateway with the openai SDK, one call cut at its token limit
 * (finish reason length), a turn that drops earlier history, and one near the model's context
 * window; lists, filters, 404s, 422s and workspace isolation.
 */
import { ACME_KEY, ACME_READ_KEY, GLOBEX_KEY, startAgentDaemon } from './agent-daemon';
import type { AgentDaemon } from './agent-daemon';
import { waitFor } from '../../support/wait';

let d: AgentDaemon;
type Message = { role: 'system' | 'user' | 'assistant'; content: string };
const history = (n: number): Message[] => [{ role: 'system', content: 'You are a travel agent.' }, ...Array.from({ length: n - 1 }, (_, i): Message => ({ role: i % 2 ? 'assistant' : 'user', content: `turn ${i}` }))];

beforeAll(async () => {
  d = await startAgentDaemon();
  const chat = (task: string, messages: Message[]) =>
    d.openai(ACME_KEY, { 'X-Task-ID': task, 'X-Conversation-ID': 'conv-trip', 'X-User-ID': 'traveller' }).chat.completions.create({ model: 'gpt-4o-mini', messages });
  d.provider.setDefault({ usage: { input: 100, output: 10 } });
  await chat('trip-plan', history(3));
  d.provider.enqueue({ finishReason: 'length' });
  await chat('trip-plan', history(5));
  // The next turn forgets the conversation so far.
  await chat('trip-plan', history(1));
  d.provider.enqueue({ usage: { input: 120_000, output: 10 } });
  await chat('trip-book', history(7));
  await d.openai(ACME_KEY, { 'X-Task-ID': 'solo', 'X-Conversation-ID': 'conv-solo', 'X-User-ID': 'other-user' }).chat.completions.create({ model: 'gpt-4o-mini', messages: history(1) });
  await d.task(ACME_KEY, 'trip-plan', 3);
  await d.task(ACME_KEY, 'trip-book', 1);
  await d.task(ACME_KEY, 'solo', 1);
}, 60_000);
afterAll(() => d?.stop());

describe('conversations', () => {
  it('lists conversations with their counts, filtered by user and paged', async () => {
    const all = await d.call('GET', '/api/v1/conversations', ACME_READ_KEY);
    expect(all.status).toBe(200);
    expect(all.body).toMatchObject({ total: 2, page: 1, limit: 25 });
    const trip = all.body.data.find((c: any) => c.id === 'conv-trip');
    expect(trip).toMatchObject({ task_count: 2, call_count: 4, failed_calls: 0, input_tokens: 120_300, output_tokens: 40, user_ids: ['traveller'] });
    expect(trip.cost_usd).toBeGreaterThan(0);
    expect((await d.call('GET', '/api/v1/conversations?user_id=other-user', ACME_KEY)).body.data.map((c: any) => c.id)).toEqual(['conv-solo']);
    const page = await d.call('GET', '/api/v1/conversations?limit=1&sort=started_at:asc', ACME_KEY);
    expect(page.body.data.map((c: any) => c.id)).toEqual(['conv-trip']);
    expect(page.headers.get('link')).toContain('rel="next"');
  });

  it('answers a conversation with its tasks', async () => {
    const answer = await d.call('GET', '/api/v1/conversations/conv-trip', ACME_KEY);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ id: 'conv-trip', task_count: 2, call_count: 4 });
    expect(answer.body.tasks.map((t: any) => [t.id, t.llm_calls, t.conversation_id])).toEqual([
      ['trip-plan', 3, 'conv-trip'],
      ['trip-book', 1, 'conv-trip'],
    ]);
  });

  it('finds truncations, lost context and calls near the context window, in order', async () => {
    const plan = await d.call('GET', '/api/v1/tasks/trip-plan', ACME_KEY);
    const book = await d.call('GET', '/api/v1/tasks/trip-book', ACME_KEY);
    const answer = await d.call('GET', '/api/v1/conversations/conv-trip/context-failures', ACME_KEY);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ conversation_id: 'conv-trip', calls_analyzed: 4, calls_truncated: false, summary: { truncated: 1, context_lost: 1, near_context_limit: 1, over_context_limit: 0, context_exceeded: 0 } });
    expect(answer.body.failures.map((f: any) => [f.type, f.span_id, f.task_id])).toEqual([
      ['truncated', plan.body.calls[1].span_id, 'trip-plan'],
      ['context_lost', plan.body.calls[2].span_id, 'trip-plan'],
      ['near_context_limit', book.body.calls[0].span_id, 'trip-book'],
    ]);
    expect(answer.body.failures[1].detail).toBe('this turn sent 1 message(s), the turn before it 5: earlier history was dropped');
    expect(answer.body.failures[2]).toMatchObject({ model: 'gpt-4o-mini', input_tokens: 120_000, context_window: 128_000 });
    const solo = await d.call('GET', '/api/v1/conversations/conv-solo/context-failures', ACME_KEY);
    expect(solo.body).toMatchObject({ calls_analyzed: 1, failures: [] });
  });

  it('keeps workspaces apart and refuses unknown ids and bad parameters', async () => {
    for (const route of ['/api/v1/conversations/conv-trip', '/api/v1/conversations/conv-trip/context-failures', '/api/v1/conversations/no-such-conv']) {
      expect([route, (await d.call('GET', route, GLOBEX_KEY)).status]).toEqual([route, 404]);
    }
    expect((await d.call('GET', '/api/v1/conversations', GLOBEX_KEY)).body).toMatchObject({ data: [], total: 0 });
    // globex's conversation of the same id is its own.
    await d.openai(GLOBEX_KEY, { 'X-Task-ID': 'g-task', 'X-Conversation-ID': 'conv-trip' }).chat.completions.create({ model: 'gpt-4o-mini', messages: history(1) });
    const theirs = await waitFor('globex conversation', async () => {
      const a = await d.call('GET', '/api/v1/conversations/conv-trip', GLOBEX_KEY);
      return a.status === 200 ? a.body : undefined;
    });
    expect(theirs).toMatchObject({ task_count: 1, call_count: 1 });
    expect((await d.call('GET', '/api/v1/conversations/conv-trip', ACME_KEY)).body.call_count).toBe(4);
    const bad = async (route: string, field: string) => {
      const a = await d.call('GET', route, ACME_KEY);
      expect([route, a.status]).toEqual([route, 422]);
      expect(a.text).toContain(field);
    };
    await bad('/api/v1/conversations?limit=500', 'limit');
    await bad('/api/v1/conversations?status=open', 'status');
    await bad('/api/v1/conversations?sort=id:asc', 'sort');
    await bad('/api/v1/conversations/conv-trip?to=never', 'to');
    await bad('/api/v1/conversations/conv-trip/context-failures?window=9', 'window');
    await bad(`/api/v1/conversations/${'c'.repeat(300)}`, 'id');
    expect((await d.call('GET', '/api/v1/conversations', '', undefined, {})).status).toBe(401);
  });
});
