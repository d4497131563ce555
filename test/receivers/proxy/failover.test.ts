import { TEST_API_KEY } from '../../support/daemon';
import { waitFor } from '../../support/wait';
import { BACKUP_CONFIG_KEY, startGateway } from './proxy-daemon';
import type { Gateway } from './proxy-daemon';

let taskCounter = 0;
const newTask = (name: string) => `fo-${name}-${++taskCounter}`;

async function chat(gw: Gateway, task: string, body: Record<string, unknown> = {}, headers: Record<string, string> = { 'x-route-id': 'prod-chat' }) {
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_API_KEY}`, 'x-task-id': task, ...headers },
    body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], ...body }),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

describe('proxy receiver: failover', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(() => gw.stop());
  beforeEach(() => {
    gw.openai.reset();
    gw.backup.reset();
  });

  it('fails over on 503 to the fallback, with its own key, and records each attempt as a child span', async () => {
    const task = newTask('503');
    gw.openai.enqueue({ status: 503 });
    const res = await chat(gw, task);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text).choices[0].message.content).toBe('Hello from the fake provider.');
    expect(res.headers.get('x-tracehouse-upstream')).toBe('backup');
    expect(res.headers.get('x-tracehouse-attempts')).toBe('2');
    expect(gw.backup.requests[0].headers.authorization).toBe(`Bearer ${BACKUP_CONFIG_KEY}`);
    const rows = await gw.allRows(task, 3);
    const call = rows.find((r) => r.ParentSpanId === '');
    expect(call?.SpanAttributes).toMatchObject({ 'tracehouse.proxy.upstream': 'backup', 'tracehouse.proxy.attempts': '2', 'tracehouse.proxy.route': 'prod-chat', 'gen_ai.provider.name': 'azure.ai.openai' });
    const attempts = rows.filter((r) => r.ParentSpanId !== '').map((r) => [r.SpanName, r.SpanAttributes['http.response.status_code'], r.SpanAttributes['error.type'] ?? '']);
    expect(attempts).toEqual([
      ['attempt openai', '503', 'status_503'],
      ['attempt backup', '200', ''],
    ]);
  });

  it('never retries a 400: the provider answer reaches the client as it is', async () => {
    const task = newTask('400');
    gw.openai.enqueue({ status: 400, errorMessage: 'bad parameter' });
    const res = await chat(gw, task);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text).error.message).toBe('bad parameter');
    expect(gw.openai.requests).toHaveLength(1);
    expect(gw.backup.requests).toHaveLength(0);
    const [row] = await gw.callRows(task);
    expect(row.StatusCode).toBe('Error');
    expect(row.SpanAttributes['http.response.status_code']).toBe('400');
  });

  it('fails over on an error event before the first content delta, sending nothing of the failed stream', async () => {
    const task = newTask('early-error');
    gw.openai.enqueue({ errorEventAfterChunks: 0 });
    const res = await chat(gw, task, { stream: true });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-tracehouse-upstream')).toBe('backup');
    expect(res.text).not.toContain('error');
    expect(res.text).toContain('"content":"Hello"');
    expect(res.text.endsWith('data: [DONE]\n\n')).toBe(true);
    const [row] = await gw.callRows(task);
    expect(row.SpanAttributes['tracehouse.proxy.attempts']).toBe('2');
    expect(row.StatusCode).toBe('Ok');
  });

  it('does not fail over once output reached the client: the error event is passed on', async () => {
    const task = newTask('late-error');
    gw.openai.enqueue({ errorEventAfterChunks: 2, errorMessage: 'upstream broke' });
    const res = await chat(gw, task, { stream: true });
    expect(res.status).toBe(200);
    expect(res.text).toContain('"content":"Hello"');
    expect(res.text).toContain('upstream broke');
    expect(gw.backup.requests).toHaveLength(0);
    const [row] = await gw.callRows(task);
    expect(row.StatusCode).toBe('Error');
    expect(row.StatusMessage).toBe('upstream broke');
    // The usage chunk never came: the tokens are an estimate, and said so.
    expect(row.SpanAttributes['tracehouse.usage.estimated']).toBe('true');
    expect(row.OutputTokens).toBeGreaterThan(0);
  });

  it('does not fail over when the connection drops after the request was sent (the provider may be running it)', async () => {
    const task = newTask('drop');
    gw.openai.enqueue({ dropBeforeHeaders: true });
    const res = await chat(gw, task);
    expect(res.status).toBe(502);
    expect(JSON.parse(res.text).error).toMatchObject({ type: 'server_error', code: 'upstream_network' });
    expect(gw.openai.requests).toHaveLength(1);
    expect(gw.backup.requests).toHaveLength(0);
    const [row] = await gw.callRows(task);
    expect(row.SpanAttributes['error.type']).toBe('network');
  });
});

describe('proxy receiver: failover on a connection lost after sending, when configured', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startGateway({ failover: '{ on_network_error: true, backoff_initial_ms: 1, backoff_max_ms: 5, max_retry_wait_ms: 50 }' });
  });
  afterAll(() => gw.stop());

  it('fails over with on_network_error: true', async () => {
    gw.openai.enqueue({ dropBeforeHeaders: true });
    const res = await chat(gw, newTask('drop-opt-in'));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-tracehouse-upstream')).toBe('backup');
    expect(res.headers.get('x-tracehouse-attempts')).toBe('2');
  });
});

describe('proxy receiver: client abort', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(() => gw.stop());
  beforeEach(() => gw.openai.reset());

  it('aborts the upstream call as soon as the client aborts mid-stream, and records the cancelled call', async () => {
    const task = newTask('abort-stream');
    gw.openai.enqueue({ stallAfterChunks: 2, usage: { input: 11, output: 99 } });
    const controller = new AbortController();
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      signal: controller.signal,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_API_KEY}`, 'x-task-id': task },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'long answer please' }], stream: true }),
    });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let seen = '';
    while (!seen.includes(' from')) seen += Buffer.from((await reader.read()).value ?? []).toString();
    const abortedAt = Date.now();
    controller.abort();
    // The stream is stalled and the gateway's idle timeout is five minutes away: only the client's
    // abort, passed on at once, can end the upstream call before waitFor gives up (no timing asserted).
    const upstream = await waitFor('the upstream abort', () => gw.openai.requests[0]?.abortedAt);
    expect(upstream).toBeGreaterThanOrEqual(abortedAt);
    expect(gw.openai.requests[0].finishedAt).toBeUndefined();
    const [row] = await gw.callRows(task);
    expect(row.StatusCode).toBe('Error');
    expect(row.SpanAttributes['tracehouse.proxy.cancelled']).toBe('true');
    expect(JSON.parse(row.Output)[0].parts[0].content).toBe('Hello from');
    expect(row.SpanAttributes['tracehouse.usage.estimated']).toBe('true');
  });

  it('aborts the upstream call as soon as the client aborts while still waiting for its headers', async () => {
    const task = newTask('abort-headers');
    gw.openai.enqueue({ latencyMs: 20_000 });
    const controller = new AbortController();
    const pending = fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      signal: controller.signal,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_API_KEY}`, 'x-task-id': task },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }),
    }).catch((err: unknown) => err);
    await waitFor('the upstream request', () => gw.openai.requests.length === 1);
    const abortedAt = Date.now();
    controller.abort();
    await pending;
    // The provider would answer in 20 s and the headers timeout is ten minutes away: only the
    // client's abort can end the upstream call this soon.
    const upstream = await waitFor('the upstream abort', () => gw.openai.requests[0]?.abortedAt, 10_000);
    expect(upstream).toBeGreaterThanOrEqual(abortedAt);
    const [row] = await gw.callRows(task);
    expect(row.SpanAttributes['tracehouse.proxy.cancelled']).toBe('true');
    expect(row.SpanAttributes['tracehouse.proxy.attempts']).toBe('1');
  });
});

describe('proxy receiver: circuit breakers', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startGateway({ health: '{ min_requests: 2, cooldown_ms: 300 }' });
  });
  afterAll(() => gw.stop());

  it('opens on the error rate, skips the open upstream, lets one probe through after the cooldown, and uses the primary when all are open', async () => {
    gw.openai.enqueue({ status: 503 }, { status: 503 });
    for (let i = 0; i < 2; i++) expect((await chat(gw, newTask('trip'))).headers.get('x-tracehouse-upstream')).toBe('backup');
    expect(gw.openai.requests).toHaveLength(2);
    // Open: the primary is skipped.
    const skipped = await chat(gw, newTask('open'));
    expect(skipped.headers.get('x-tracehouse-upstream')).toBe('backup');
    expect(skipped.headers.get('x-tracehouse-attempts')).toBe('1');
    expect(gw.openai.requests).toHaveLength(2);
    // The breaker's state is on /metrics, per upstream.
    const metrics = await (await fetch(`${gw.daemon.adminUrl}/metrics`)).text();
    expect(metrics).toContain('tracehouse_upstream_health{receiver="proxy",upstream="openai",state="open"} 1');
    expect(metrics).toContain('tracehouse_upstream_health{receiver="proxy",upstream="backup",state="healthy"} 1');
    expect(metrics).toContain('tracehouse_upstream_error_rate{receiver="proxy",upstream="openai"} 1');
    // After the cooldown one probe reaches the primary; it succeeds and closes the breaker.
    const probe = await waitFor('a probe to the primary', async () => {
      const res = await chat(gw, newTask('probe'));
      return res.headers.get('x-tracehouse-upstream') === 'openai' ? res : undefined;
    });
    expect(probe.status).toBe(200);
    expect((await chat(gw, newTask('closed'))).headers.get('x-tracehouse-upstream')).toBe('openai');
    // Both open: the primary is used anyway.
    gw.openai.enqueue({ status: 503 }, { status: 503 }, { status: 503 }, { status: 503 }, { status: 503 }, { status: 503 });
    gw.backup.enqueue({ status: 503 }, { status: 503 }, { status: 503 }, { status: 503 }, { status: 503 }, { status: 503 });
    await chat(gw, newTask('fail'));
    await chat(gw, newTask('fail'));
    gw.openai.reset();
    gw.backup.reset();
    const allOpen = await chat(gw, newTask('all-open'));
    expect(allOpen.headers.get('x-tracehouse-upstream')).toBe('openai');
    expect(gw.backup.requests).toHaveLength(0);
  });
});

describe('proxy receiver: a fallback that is only listed keeps its probe', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startGateway({
      health: '{ min_requests: 2, cooldown_ms: 200 }',
      routes: '      backup-first: { primary: backup, fallbacks: [openai], conditions: { error_rate_threshold: 0.5 } }',
    });
  });
  afterAll(() => gw.stop());

  it('probes the cooled-down fallback when the primary fails, after calls the primary answered alone', async () => {
    // Open the backup's breaker through a route where it is the primary.
    gw.backup.enqueue({ status: 503 }, { status: 503 });
    for (let i = 0; i < 2; i++) expect((await chat(gw, newTask('open-backup'), {}, { 'x-route-id': 'backup-first' })).headers.get('x-tracehouse-upstream')).toBe('openai');
    // Open now: the next call skips the backup.
    const skipped = await chat(gw, newTask('open-backup'), {}, { 'x-route-id': 'backup-first' });
    expect(skipped.headers.get('x-tracehouse-upstream')).toBe('openai');
    expect(skipped.headers.get('x-tracehouse-attempts')).toBe('1');
    const health = async () => (await (await fetch(`${gw.daemon.adminUrl}/metrics`)).text()).includes('tracehouse_upstream_health{receiver="proxy",upstream="backup",state="open"} 1');
    expect(await health()).toBe(true);
    // Past the cooldown, calls list the backup as a candidate; the primary answers them.
    await new Promise((resolve) => setTimeout(resolve, 250));
    gw.openai.reset();
    gw.backup.reset();
    for (let i = 0; i < 3; i++) expect((await chat(gw, newTask('primary-ok'))).headers.get('x-tracehouse-upstream')).toBe('openai');
    expect(gw.backup.requests).toHaveLength(0);
    // The primary fails now: the backup's probe slot was never taken, so the call goes there.
    gw.openai.enqueue({ status: 503 }, { status: 503 }, { status: 503 });
    const res = await chat(gw, newTask('probe-fallback'));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-tracehouse-upstream')).toBe('backup');
    expect(gw.backup.requests).toHaveLength(1);
    // The probe succeeded: the backup's breaker is closed.
    expect(await health()).toBe(false);
  });
});
