/**
 * GET /v1/models and the `passthrough` paths: forwarded verbatim (method, query, body), answered
 * with the provider's status and body, recorded as HTTP client spans; agent headers and the
 * workspace key never reach the provider.
 */
import OpenAI from 'openai';
import { queryRows, TEST_API_KEY } from '../../support/daemon';
import { waitFor } from '../../support/wait';
import { OPENAI_CONFIG_KEY, startGateway } from './proxy-daemon';
import type { Gateway } from './proxy-daemon';

let gw: Gateway;

beforeAll(async () => {
  gw = await startGateway();
});
afterAll(() => gw.stop());
beforeEach(() => gw.openai.reset());

test('GET /v1/models through the openai SDK lists what the provider lists', async () => {
  const direct = await new OpenAI({ apiKey: 'sk-direct', baseURL: `${gw.openai.url}/v1`, maxRetries: 0 }).models.list();
  gw.openai.reset();
  const client = new OpenAI({ apiKey: TEST_API_KEY, baseURL: `${gw.url}/v1`, maxRetries: 0, defaultHeaders: { 'X-Task-ID': 'models-task' } });
  const viaGateway = await client.models.list();
  expect(viaGateway.data).toEqual(direct.data);
  const [seen] = gw.openai.requests;
  expect(seen).toMatchObject({ method: 'GET', path: '/v1/models' });
  expect(seen.headers.authorization).toBe(`Bearer ${OPENAI_CONFIG_KEY}`);
  expect(seen.headers['x-task-id']).toBeUndefined();
});

test('a passthrough path is forwarded verbatim and recorded as an HTTP client span', async () => {
  const body = '{"purpose":"batch","note":"kept \\u00e9xactly"}';
  const res = await fetch(`${gw.url}/v1/files?limit=2`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_API_KEY}`, 'x-task-id': 'files-task', 'x-user-id': 'user-7' },
    body,
  });
  // The fake provider has no /v1/files: its own 404 envelope comes back unchanged.
  expect(res.status).toBe(404);
  expect(res.headers.get('x-tracehouse-upstream')).toBe('openai');
  const answer = (await res.json()) as { error: { message: string } };
  expect(answer.error.message).toMatch(/files/);
  const [seen] = gw.openai.requests;
  expect(seen).toMatchObject({ method: 'POST', path: '/v1/files?limit=2', raw: body });
  expect(seen.headers['x-task-id']).toBeUndefined();
  expect(seen.headers['x-user-id']).toBeUndefined();
  expect(JSON.stringify(seen.headers)).not.toContain(TEST_API_KEY);
  const [span] = await waitFor('the passthrough span', async () => {
    const rows = await queryRows<{ SpanName: string; SpanKind: string; SpanAttributes: Record<string, string> }>(
      gw.daemon,
      "SELECT SpanName, SpanKind, SpanAttributes FROM otel_traces WHERE SpanAttributes['tracehouse.task'] = 'files-task'",
      gw.database,
    );
    return rows.length > 0 ? rows : undefined;
  });
  expect(span.SpanName).toBe('POST /v1/files');
  expect(span.SpanKind).toBe('Client');
  expect(span.SpanAttributes).toMatchObject({ 'http.response.status_code': '404', 'tracehouse.proxy.upstream': 'openai', 'enduser.id': 'user-7' });
});

test('a path that is not listed is not forwarded, and is answered 404 in the provider\'s envelope', async () => {
  const res = await fetch(`${gw.url}/v1/fine_tuning/jobs`, { method: 'GET', headers: { authorization: `Bearer ${TEST_API_KEY}` } });
  expect(res.status).toBe(404);
  const answer = (await res.json()) as { error: { message: string; type: string; code: string } };
  expect(answer.error).toMatchObject({ type: 'invalid_request_error', code: 'unknown_url' });
  expect(answer.error.message).toContain('GET /v1/fine_tuning/jobs');
  // An Anthropic client gets Anthropic's envelope.
  const anthropic = await fetch(`${gw.url}/v1/messages/batches`, { method: 'POST', headers: { 'x-api-key': TEST_API_KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' }, body: '{}' });
  expect(anthropic.status).toBe(404);
  expect(await anthropic.json()).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
  expect(gw.openai.requests).toHaveLength(0);
  expect(gw.anthropic.requests).toHaveLength(0);
  // Paths outside /v1 keep the listener's own answer.
  const other = await fetch(`${gw.url}/nothing-here`);
  expect(other.status).toBe(404);
  expect(await other.json()).toMatchObject({ code: 5 });
});
