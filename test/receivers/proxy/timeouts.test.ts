/**
 * The gateway's explicit timeouts (connect, response headers, idle between chunks, total) and its
 * honouring of the provider's Retry-After, each against the fake provider's stall and error knobs.
 */
import net from 'node:net';
import { TEST_API_KEY } from '../../support/daemon';
import { startGateway } from './proxy-daemon';
import type { Gateway } from './proxy-daemon';

let gw: Gateway;
let taskCounter = 0;
const newTask = (name: string) => `timeouts-${name}-${++taskCounter}`;

/** A loopback port nobody listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(async () => {
  const dead = await closedPort();
  gw = await startGateway({
    timeouts: '{ connect_ms: 1000, response_headers_ms: 400, idle_ms: 300, total_ms: 1500 }',
    failover: '{ backoff_initial_ms: 1, backoff_max_ms: 5, max_retry_wait_ms: 1000 }',
    upstreams: `      dead: { provider: openai_compatible, base_url: "http://127.0.0.1:${dead}", api_key: sk-dead }`,
    routes: ['      dead-first: { primary: dead, fallbacks: [openai] }', '      only-dead: { primary: dead }'].join('\n'),
  });
});
afterAll(() => gw.stop());
beforeEach(() => {
  gw.openai.reset();
  gw.backup.reset();
});

async function chat(task: string, extra: Record<string, string> = {}, stream = false) {
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_API_KEY}`, 'x-task-id': task, ...extra },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream }),
  });
  let text = '';
  let broken = false;
  try {
    text = await res.text();
  } catch {
    broken = true;
  }
  return { status: res.status, headers: res.headers, text, broken };
}

describe('proxy receiver: Retry-After', () => {
  it("waits the provider's Retry-After before trying the same upstream again", async () => {
    const task = newTask('retry-after');
    gw.openai.enqueue({ status: 429, headers: { 'retry-after-ms': '300' } });
    const res = await chat(task);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-tracehouse-attempts')).toBe('2');
    const [first, second] = gw.openai.requests;
    expect(second.startedAt - first.startedAt).toBeGreaterThanOrEqual(300);
    const [row] = await gw.callRows(task);
    expect(row.SpanAttributes['tracehouse.proxy.attempts']).toBe('2');
  });

  it('passes the 429 and its Retry-After on when waiting would exceed max_retry_wait_ms', async () => {
    const task = newTask('retry-after-long');
    gw.openai.setDefault({ status: 429, retryAfter: '30' });
    const res = await chat(task);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('30');
    expect(res.headers.get('x-tracehouse-attempts')).toBe('1');
    expect(gw.openai.requests).toHaveLength(1);
    expect(JSON.parse(res.text).error).toBeDefined();
  });
});

describe('proxy receiver: timeouts', () => {
  it('answers 504 when no response headers arrive within response_headers_ms, and fails over when there is a fallback', async () => {
    gw.openai.setDefault({ latencyMs: 5_000 });
    const alone = await chat(newTask('headers-timeout'));
    expect(alone.status).toBe(504);
    expect(JSON.parse(alone.text).error.code).toBe('upstream_headers_timeout');

    const task = newTask('headers-timeout-failover');
    const routed = await chat(task, { 'x-route-id': 'prod-chat' });
    expect(routed.status).toBe(200);
    expect(routed.headers.get('x-tracehouse-upstream')).toBe('backup');
    const spans = await gw.allRows(task, 3);
    expect(spans.find((s) => s.SpanName === 'attempt openai')?.SpanAttributes['error.type']).toBe('headers_timeout');
  });

  it('cuts a stream that stays silent longer than idle_ms, keeping what arrived and the cause on the span', async () => {
    const task = newTask('idle');
    gw.openai.setDefault({ chunks: ['one', ' two', ' three', ' four'], stallAfterChunks: 2 });
    const res = await chat(task, {}, true);
    expect(res.status).toBe(200);
    // The output already reached the client: the stream is cut, never failed over.
    expect(gw.backup.requests).toHaveLength(0);
    const [row] = await gw.callRows(task);
    expect(row.StatusCode).toBe('Error');
    expect(row.SpanAttributes['error.type']).toBe('idle_timeout');
    expect(JSON.parse(row.Output)[0].parts[0].content).toBe('one two');
  });

  it('cuts a call that runs longer than total_ms even while chunks keep coming', async () => {
    const task = newTask('total');
    gw.openai.setDefault({ chunks: Array.from({ length: 40 }, (_, i) => `c${i} `), chunkGapMs: 100 });
    const res = await chat(task, {}, true);
    expect(res.status).toBe(200);
    expect(res.text).not.toContain('[DONE]');
    const [row] = await gw.callRows(task);
    expect(row.SpanAttributes['error.type']).toBe('total_timeout');
    expect(gw.openai.requests[0].abortedAt).toBeDefined();
  });

  it('fails over on a connect error, and answers 502 when the only upstream cannot be reached', async () => {
    const task = newTask('connect');
    const routed = await chat(task, { 'x-route-id': 'dead-first' });
    expect(routed.status).toBe(200);
    expect(routed.headers.get('x-tracehouse-upstream')).toBe('openai');
    const spans = await gw.allRows(task, 3);
    expect(spans.find((s) => s.SpanName === 'attempt dead')?.SpanAttributes['error.type']).toBe('connect');

    const alone = await chat(newTask('connect-alone'), { 'x-route-id': 'only-dead' });
    expect(alone.status).toBe(502);
    expect(JSON.parse(alone.text).error.code).toBe('upstream_connect');
  });
});
