import { ingestPipelineYaml, postJson, queryRows, startDaemon, TEST_API_KEY, TEST_WORKSPACE, uniqueDatabase } from '../../support/daemon';
import type { TestDaemon } from '../../support/daemon';
import { llmObservation } from './documents';
import { bigMetadata, deepMetadata, everyRuleBroken } from './invalid-documents';
import { EVENTS_ONLY_KEY, idsOf, JSONAPI, postJsonApi, RATE_LIMIT_KEY } from './jsonapi-support';

const BASE = '/instrumentation/tracing/v1';
const RATE_LIMITED_ROUTE_LIMIT = 30;
const TIMESTAMP_RULE = 'must be an RFC 3339 timestamp with a time zone, e.g. 2025-09-17T12:34:56Z';
const METRIC_NAME_RULE = 'must be 1-64 characters of letters, digits, "_", "." and "-"';

/** One JSON:API validation error object. */
const invalid = (pointer: string, detail: string, rule: string) => ({
  status: '422',
  code: 'RCV_VALIDATION',
  title: 'Unprocessable Entity',
  detail,
  source: { pointer },
  meta: { rule },
});

/** One JSON:API error object without a source. */
const refused = (status: number, code: string, title: string, detail: unknown) => ({ status: String(status), code, title, detail });

const serializedBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value), 'utf8');

describe('jsonapi receiver refusals', () => {
  const database = uniqueDatabase('jsonapi_refusals');
  let daemon: TestDaemon;
  let base: string;

  const trace = (attributes: object, extra: object = {}) => ({ data: { type: 'trace', attributes: { environment: 'prod', ...attributes }, ...extra } });
  const countOfTrace = async (resourceId: string) =>
    (await queryRows<{ n: number }>(daemon, `SELECT count() AS n FROM otel_traces WHERE TraceId = '${idsOf(resourceId).traceId}'`, database))[0].n;
  const countAll = async () => (await queryRows<{ n: number }>(daemon, 'SELECT count() AS n FROM otel_traces', database))[0].n;

  beforeAll(async () => {
    const rateLimit = `rate_limit: { limit: 1000, per_route: { "${BASE}/": { limit: ${RATE_LIMITED_ROUTE_LIMIT}, window_seconds: 86400 } } }`;
    daemon = await startDaemon(
      ingestPipelineYaml({
        // The events receiver is there for the key restricted to it.
        receivers: { jsonapi: [rateLimit], events: [] },
        database,
        workspaces: [`${TEST_WORKSPACE}:`, `  api_keys: ["${TEST_API_KEY}", "${RATE_LIMIT_KEY}", { key: "${EVENTS_ONLY_KEY}", receivers: [events] }]`],
      }),
    );
    base = daemon.receiverUrl('jsonapi');
  });
  afterAll(() => daemon.stop());

  it('answers a document breaking every rule with 422 and one error per failing field, each with its pointer', async () => {
    const res = await postJsonApi(`${base}${BASE}/traces`, everyRuleBroken);
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')?.split(';')[0]).toBe(JSONAPI);
    const attrs = '/data/attributes';
    const obs = '/data/relationships/observations/data/0/attributes';
    expect(res.body).toEqual({
      errors: [
        invalid('/data/type', 'must be "trace"', 'invalid_value'),
        invalid('/data/id', 'must not be empty', 'too_short'),
        invalid(`${attrs}/name`, 'must not be empty', 'too_short'),
        invalid(`${attrs}/project`, 'must be at most 128 characters', 'too_long'),
        invalid(`${attrs}/environment`, 'is required', 'required'),
        invalid(`${attrs}/client/sdk`, 'must be a string', 'invalid_type'),
        invalid(`${attrs}/client/browser`, 'unknown field "browser"', 'unknown_field'),
        invalid(`${attrs}/metadata`, 'must be nested at most 3 levels deep (this is 4)', 'too_deep'),
        invalid(`${attrs}/metadata`, `must be at most 16 KB serialized (it is ${serializedBytes({ ...deepMetadata, ...bigMetadata })} bytes)`, 'too_big'),
        invalid(`${attrs}/started_at`, TIMESTAMP_RULE, 'invalid_format'),
        // February 30th matches the pattern but is no date.
        invalid(`${attrs}/ended_at`, TIMESTAMP_RULE, 'invalid_format'),
        invalid(`${attrs}/status`, 'must be one of: success, error, timeout, cancelled', 'invalid_value'),
        invalid(`${attrs}/error/code`, 'must be a string', 'invalid_type'),
        invalid(`${attrs}/error/message`, 'is required', 'required'),
        invalid(`${attrs}/error/retryable`, 'must be true or false', 'invalid_type'),
        invalid(`${attrs}/metrics/0/name`, METRIC_NAME_RULE, 'invalid_format'),
        invalid(`${attrs}/metrics/0/value`, 'must be a number', 'invalid_type'),
        invalid(`${attrs}/metrics/0/scale`, 'must be a string', 'invalid_type'),
        invalid(`${attrs}/metrics/0/source`, 'must be one of: human, auto', 'invalid_value'),
        invalid(`${attrs}/metrics/0/at`, TIMESTAMP_RULE, 'invalid_format'),
        invalid(`${attrs}/metrics/0/unit`, 'unknown field "unit"', 'unknown_field'),
        invalid(`${attrs}/tags`, 'unknown field "tags"', 'unknown_field'),
        invalid(`${obs}/name`, 'must be at most 128 characters', 'too_long'),
        invalid(`${obs}/kind`, 'must be one of: llm, tool, retrieval, rerank, eval, system', 'invalid_value'),
        invalid(`${obs}/status`, 'must be one of: success, error, timeout, cancelled', 'invalid_value'),
        invalid(`${obs}/error/code`, 'must not be empty', 'too_short'),
        invalid(`${obs}/error/provider_code`, 'must be a string or a number', 'invalid'),
        invalid(`${obs}/provider`, 'is required', 'required'),
        invalid(`${obs}/model`, 'must not be empty', 'too_short'),
        invalid(`${obs}/model_version`, 'must be a string', 'invalid_type'),
        invalid(`${obs}/parameters`, 'must be an object', 'invalid_type'),
        invalid(`${obs}/endpoint`, 'is required', 'required'),
        invalid(`${obs}/region`, 'must be a string', 'invalid_type'),
        invalid(`${obs}/provider_request_id`, 'must be a string', 'invalid_type'),
        invalid(`${obs}/provider_response_id`, 'must not be empty', 'too_short'),
        invalid(`${obs}/input`, 'must be an object', 'invalid_type'),
        invalid(`${obs}/output`, 'is required', 'required'),
        invalid(`${obs}/usage/input_tokens`, 'must not be negative', 'too_small'),
        invalid(`${obs}/usage/output_tokens`, 'must be a whole number', 'not_integer'),
        invalid(`${obs}/usage/total_tokens`, 'must be a number', 'invalid_type'),
        invalid(`${obs}/usage/compute_time_ms`, 'must not be negative', 'too_small'),
        invalid(`${obs}/usage/cached_tokens`, 'unknown field "cached_tokens"', 'unknown_field'),
        invalid(`${obs}/cost/total`, 'must not be negative', 'too_small'),
        invalid(`${obs}/cost/currency`, 'must not be empty', 'too_short'),
        invalid(`${obs}/cost/estimated`, 'must be true or false', 'invalid_type'),
        invalid(`${obs}/metrics/0/name`, METRIC_NAME_RULE, 'invalid_format'),
        invalid(`${obs}/metrics/0/value`, 'is required', 'required'),
        invalid(`${obs}/metadata`, 'must be an object', 'invalid_type'),
        // ingested_at is the server's to set.
        invalid(`${obs}/ingested_at`, 'unknown field "ingested_at"', 'unknown_field'),
        invalid(`${obs}/ended_at`, 'must not be before started_at', 'before_started_at'),
        invalid('/data/relationships/observations/data/1/type', 'must be "observation"', 'invalid_value'),
        invalid('/data/relationships/observations/data/1/attributes', 'is required', 'required'),
        invalid('/data/relationships/observations/data/2', 'must be a resource object', 'invalid_type'),
        invalid('/data/relationships/observations/data/1/id', 'duplicates the id of an earlier observation ("obs-1")', 'duplicate'),
      ],
    });
    expect(await countAll()).toBe(0);
  });

  it('refuses metadata over 16 KB serialized and accepts it at exactly 16 KB', async () => {
    const tooBig = await postJsonApi(`${base}${BASE}/`, trace({ metadata: bigMetadata }));
    expect(tooBig.status).toBe(422);
    expect(tooBig.body).toEqual({ errors: [invalid('/data/attributes/metadata', `must be at most 16 KB serialized (it is ${serializedBytes(bigMetadata)} bytes)`, 'too_big')] });
    const atLimit = { notes: 'x'.repeat(16 * 1024 - serializedBytes({ notes: '' })) };
    expect(serializedBytes(atLimit)).toBe(16 * 1024);
    const accepted = await postJsonApi(`${base}${BASE}/`, { data: { ...trace({ metadata: atLimit }).data, id: 'trace_metadata_16kb' } });
    expect(accepted.status).toBe(201);
    expect(await countOfTrace('trace_metadata_16kb')).toBe(1);
  });

  it('refuses metadata nested four levels deep and accepts three', async () => {
    const tooDeep = await postJsonApi(`${base}${BASE}/`, trace({ metadata: deepMetadata }));
    expect(tooDeep.status).toBe(422);
    expect(tooDeep.body).toEqual({ errors: [invalid('/data/attributes/metadata', 'must be nested at most 3 levels deep (this is 4)', 'too_deep')] });
    // An array is a level too.
    const arrayLevel = await postJsonApi(`${base}${BASE}/`, trace({ metadata: { a: { b: [{ c: 1 }] } } }));
    expect(arrayLevel.body).toEqual({ errors: [invalid('/data/attributes/metadata', 'must be nested at most 3 levels deep (this is 4)', 'too_deep')] });
    const accepted = await postJsonApi(`${base}${BASE}/`, { data: { ...trace({ metadata: { a: { b: { c: 1 } } } }).data, id: 'trace_metadata_depth_3' } });
    expect(accepted.status).toBe(201);
    expect(await countOfTrace('trace_metadata_depth_3')).toBe(1);
  });

  it('refuses ended_at before started_at, on a trace and on an observation', async () => {
    const res = await postJsonApi(`${base}${BASE}/`, trace({ started_at: '2025-09-17T12:00:00.000000002Z', ended_at: '2025-09-17T12:00:00.000000001Z' }));
    expect(res.status).toBe(422);
    expect(res.body).toEqual({ errors: [invalid('/data/attributes/ended_at', 'must not be before started_at', 'before_started_at')] });
    const observation = { ...llmObservation, attributes: { ...llmObservation.attributes, started_at: '2025-09-17T12:00:00+02:00', ended_at: '2025-09-17T11:00:00+01:00' } };
    // Offsets are honoured: both are 10:00Z, and an observation may end when it starts.
    const onObservation = await postJsonApi(`${base}${BASE}/traces/trace_x/observations`, { data: observation });
    expect(onObservation.status).toBe(201);
    const earlier = { ...observation, attributes: { ...observation.attributes, ended_at: '2025-09-17T10:59:59+01:00' } };
    const refusedObservation = await postJsonApi(`${base}${BASE}/traces/trace_x/observations`, { data: { ...earlier, id: 'obs_earlier' } });
    expect(refusedObservation.status).toBe(422);
    expect(refusedObservation.body).toEqual({ errors: [invalid('/data/attributes/ended_at', 'must not be before started_at', 'before_started_at')] });
  });

  it('refuses a metric name with a space, and one of 65 characters', async () => {
    const res = await postJsonApi(`${base}${BASE}/`, trace({ metrics: [{ name: 'user satisfaction', value: 4 }, { name: 'a'.repeat(64), value: 1 }, { name: 'b'.repeat(65), value: 1 }] }));
    expect(res.status).toBe(422);
    expect(res.body).toEqual({
      errors: [invalid('/data/attributes/metrics/0/name', METRIC_NAME_RULE, 'invalid_format'), invalid('/data/attributes/metrics/2/name', METRIC_NAME_RULE, 'invalid_format')],
    });
  });

  it('refuses document-level problems with a pointer to /data (or the whole document)', async () => {
    const cases: [string, unknown, ReturnType<typeof invalid>[]][] = [
      [`${BASE}/`, {}, [invalid('/data', 'is required', 'required')]],
      [`${BASE}/`, { data: null }, [invalid('/data', 'must be a trace resource object', 'invalid_type')]],
      [`${BASE}/`, { data: [] }, [invalid('/data', 'must be a trace resource object', 'invalid_type')]],
      [`${BASE}/`, [1], [invalid('', 'must be a JSON:API document (an object)', 'invalid_type')]],
      [`${BASE}/`, { data: { type: 'observation', attributes: { environment: 'prod' } } }, [invalid('/data/type', 'must be "trace"', 'invalid_value')]],
      [`${BASE}/`, { data: { type: 'trace' } }, [invalid('/data/attributes', 'is required', 'required')]],
      [
        `${BASE}/`,
        trace({}, { relationships: { observations: { data: [llmObservation] } } }),
        [invalid('/data/relationships/observations/data', 'must be empty here: send a trace with observations to POST /instrumentation/tracing/v1/traces', 'too_long')],
      ],
      [`${BASE}/traces`, trace({}), [invalid('/data/relationships', 'is required', 'required')]],
      [`${BASE}/traces`, trace({}, { relationships: { observations: {} } }), [invalid('/data/relationships/observations/data', 'is required', 'required')]],
      [`${BASE}/traces/t1/observations`, { data: [] }, [invalid('/data', 'must hold at least one observation', 'too_short')]],
      [`${BASE}/traces/t1/observations`, { data: 'obs' }, [invalid('/data', 'must be a resource object', 'invalid_type')]],
      [`${BASE}/traces/t1/observations`, { data: [llmObservation, llmObservation] }, [invalid('/data/1/id', 'duplicates the id of an earlier observation ("obs_answer")', 'duplicate')]],
      [`${BASE}/traces/t1/observations`, { data: { ...llmObservation, type: 'trace' } }, [invalid('/data/type', 'must be "observation"', 'invalid_value')]],
    ];
    for (const [path, body, errors] of cases) {
      const res = await postJsonApi(`${base}${path}`, body);
      expect({ path, body, status: res.status, answer: res.body }).toEqual({ path, body, status: 422, answer: { errors } });
    }
  });

  it('refuses a trace id in the path longer than 256 characters with 400', async () => {
    const res = await postJsonApi(`${base}${BASE}/traces/${'t'.repeat(257)}/observations`, { data: llmObservation });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ errors: [refused(400, 'RCV_INVALID_TRACE_ID', 'Bad Request', 'trace id in the path must be at most 256 characters')] });
  });

  it('refuses application/json (and no Content-Type) with 415 in JSON:API format', async () => {
    const res = await postJson(`${base}${BASE}/traces`, trace({}));
    expect(res.status).toBe(415);
    expect(res.headers.get('content-type')?.split(';')[0]).toBe(JSONAPI);
    expect(res.body).toEqual({
      errors: [refused(415, 'RCV_UNSUPPORTED_MEDIA_TYPE', 'Unsupported Media Type', 'unsupported Content-Type "application/json": use application/vnd.api+json')],
    });
    const none = await fetch(`${base}${BASE}/`, { method: 'POST', headers: { authorization: `Bearer ${TEST_API_KEY}` } });
    expect(none.status).toBe(415);
  });

  it('answers a body that is not JSON with 400 in JSON:API format', async () => {
    const res = await postJsonApi(`${base}${BASE}/`, '{"data": {"type": "trace",');
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')?.split(';')[0]).toBe(JSONAPI);
    expect(res.body).toEqual({ errors: [refused(400, 'RCV_BAD_JSON', 'Bad Request', expect.stringContaining('request body is not valid JSON'))] });
  });

  it('answers 405 to other methods', async () => {
    const res = await fetch(`${base}${BASE}/traces`, { method: 'GET', headers: { authorization: `Bearer ${TEST_API_KEY}` } });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect(await res.json()).toEqual({ errors: [refused(405, 'RCV_METHOD_NOT_ALLOWED', 'Method Not Allowed', 'method GET is not allowed; use POST')] });
  });

  it('answers 401 without a key or with an unknown one, and 403 to a key restricted to another receiver', async () => {
    const missing = await postJsonApi(`${base}${BASE}/traces`, trace({}), { authorization: '' });
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');
    expect(missing.headers.get('content-type')?.split(';')[0]).toBe(JSONAPI);
    expect(missing.body).toEqual({
      errors: [refused(401, 'RCV_UNAUTHENTICATED', 'Unauthorized', 'missing API key: send Authorization: Bearer <key> or X-API-Key')],
    });
    const unknown = await postJsonApi(`${base}${BASE}/traces`, trace({}), { authorization: 'Bearer th_not_a_key_0000000000000' });
    expect(unknown.status).toBe(401);
    expect(unknown.body).toEqual({ errors: [refused(401, 'RCV_UNAUTHENTICATED', 'Unauthorized', 'invalid API key')] });
    const forbidden = await postJsonApi(`${base}${BASE}/traces`, trace({}), { authorization: `Bearer ${EVENTS_ONLY_KEY}` });
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers.get('content-type')?.split(';')[0]).toBe(JSONAPI);
    expect(forbidden.body).toEqual({ errors: [refused(403, 'RCV_FORBIDDEN', 'Forbidden', 'this API key is not allowed on jsonapi')] });
  });

  it('limits requests per key and route, with X-RateLimit-* headers and 429 in JSON:API format', async () => {
    const key = { authorization: `Bearer ${RATE_LIMIT_KEY}` };
    for (let i = 1; i <= RATE_LIMITED_ROUTE_LIMIT; i++) {
      const res = await postJsonApi(`${base}${BASE}/`, {}, key);
      expect([res.status, res.headers.get('x-ratelimit-limit'), res.headers.get('x-ratelimit-remaining')]).toEqual([422, '30', String(RATE_LIMITED_ROUTE_LIMIT - i)]);
    }
    const limited = await postJsonApi(`${base}${BASE}/`, trace({}), key);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('content-type')?.split(';')[0]).toBe(JSONAPI);
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limited.body).toEqual({ errors: [refused(429, 'RCV_RATE_LIMITED', 'Too Many Requests', expect.stringContaining(`at most ${RATE_LIMITED_ROUTE_LIMIT} per window on ${BASE}/`))] });
    // Other routes keep their own budget (the default 1000), and so do other keys.
    const otherRoute = await postJsonApi(`${base}${BASE}/traces`, {}, key);
    expect([otherRoute.status, otherRoute.headers.get('x-ratelimit-limit')]).toEqual([422, '1000']);
    const otherKey = await postJsonApi(`${base}${BASE}/`, {});
    expect(otherKey.status).toBe(422);
  });

  it('stores nothing for a refused request', async () => {
    expect(await countOfTrace('trace_x')).toBe(1);
    // The two accepted boundary traces and the one accepted observation.
    expect(await countAll()).toBe(3);
  });

});
