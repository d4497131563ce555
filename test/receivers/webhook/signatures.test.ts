import { registry } from '../../../components';
import { ingestPipelineYaml, postJson, queryRows, startDaemon, TEST_API_KEY, TEST_WORKSPACE, uniqueDatabase } from '../../support/daemon';
import type { TestDaemon } from '../../support/daemon';
import { createRecorder, recordingRegistry } from '../../support/recording-components';
import { nowSeconds, signedHeaders } from './fixtures';

const PATH = '/api/ingest/webhooks';
const SIGNED_WORKSPACE = 'signed';
const SIGNED_KEY = 'th_test_signed_0123456789abcdef';
const NEW_SECRET = 'whsec_2026_rotation_new_7f3a9c';
const OLD_SECRET = 'whsec_2025_rotation_old_1b8e4d';
const WORKSPACES = [
  `${TEST_WORKSPACE}:`,
  `  api_keys: ["${TEST_API_KEY}"]`,
  `${SIGNED_WORKSPACE}:`,
  `  api_keys: ["${SIGNED_KEY}"]`,
  `  webhook_signing_secrets: ["${NEW_SECRET}", "${OLD_SECRET}"]`,
];
const asSigned = { authorization: `Bearer ${SIGNED_KEY}` };

/** A generic alert as the exact body text that gets signed. */
const alertBody = (deliveryId: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ source: 'scanner', event_type: 'finding', severity: 'high', title: `finding ${deliveryId}`, delivery_id: deliveryId, ...extra });

describe('webhook receiver: signed deliveries', () => {
  const database = uniqueDatabase('webhook_signed');
  let daemon: TestDaemon;
  let url: string;

  beforeAll(async () => {
    daemon = await startDaemon(ingestPipelineYaml({ receivers: { webhook: [] }, database, workspaces: WORKSPACES }));
    url = `${daemon.receiverUrl('webhook')}${PATH}`;
  });
  afterAll(() => daemon.stop());

  const stored = async (deliveryId: string) =>
    queryRows(daemon, `SELECT Workspace, SpanName, SpanAttributes['tracehouse.webhook.delivery_id'] AS id FROM otel_traces WHERE id = '${deliveryId}'`, database);

  it('accepts a delivery signed with the newest secret', async () => {
    const body = alertBody('sig-new');
    const res = await postJson(url, body, { ...asSigned, ...signedHeaders(body, nowSeconds(), [NEW_SECRET]) });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ ok: true, records: 1, delivery_id: 'sig-new' });
    expect(await stored('sig-new')).toEqual([{ Workspace: SIGNED_WORKSPACE, SpanName: 'generic finding', id: 'sig-new' }]);
  });

  it('accepts a delivery signed with an older secret still configured for rotation', async () => {
    const body = alertBody('sig-old');
    const res = await postJson(url, body, { ...asSigned, ...signedHeaders(body, nowSeconds(), [OLD_SECRET]) });
    expect(res.status).toBe(202);
    expect(await stored('sig-old')).toEqual([{ Workspace: SIGNED_WORKSPACE, SpanName: 'generic finding', id: 'sig-old' }]);
  });

  it('accepts a header with several values when any v1 value matches, ignoring other schemes', async () => {
    const body = alertBody('sig-several');
    const ts = nowSeconds();
    const valid = signedHeaders(body, ts, [OLD_SECRET])['x-aitracer-signature'];
    const wrong = signedHeaders(body, ts, ['whsec_unknown'])['x-aitracer-signature'];
    const res = await postJson(url, body, { ...asSigned, 'x-aitracer-delivery-timestamp': String(ts), 'x-aitracer-signature': `v0=abc, ${wrong}, ${valid}` });
    expect(res.status).toBe(202);
    expect(await stored('sig-several')).toHaveLength(1);
  });

  it('refuses a wrong signature with 401 and stores nothing', async () => {
    const body = alertBody('sig-wrong');
    const ts = nowSeconds();
    const wrongSecret = await postJson(url, body, { ...asSigned, ...signedHeaders(body, ts, ['whsec_not_configured']) });
    expect(wrongSecret.status).toBe(401);
    expect(wrongSecret.body).toEqual({ error: expect.stringContaining('does not match'), code: 'RCV_SIGNATURE_INVALID' });
    // Signed for another body (or another timestamp): the signature covers both.
    const otherBody = await postJson(url, body, { ...asSigned, ...signedHeaders(alertBody('sig-other'), ts, [NEW_SECRET]) });
    expect(otherBody.body.code).toBe('RCV_SIGNATURE_INVALID');
    const otherTime = await postJson(url, body, { ...asSigned, ...signedHeaders(body, ts - 1, [NEW_SECRET]), 'x-aitracer-delivery-timestamp': String(ts) });
    expect(otherTime.body.code).toBe('RCV_SIGNATURE_INVALID');
    expect(await stored('sig-wrong')).toEqual([]);
  });

  it('refuses an unsigned delivery, or one missing its timestamp, with 401', async () => {
    const body = alertBody('sig-missing');
    const unsigned = await postJson(url, body, asSigned);
    expect(unsigned.status).toBe(401);
    expect(unsigned.body).toEqual({ error: expect.stringContaining('missing X-AITracer-Delivery-Timestamp and X-AITracer-Signature'), code: 'RCV_SIGNATURE_MISSING' });
    const headers = signedHeaders(body, nowSeconds(), [NEW_SECRET]);
    const noTimestamp = await postJson(url, body, { ...asSigned, 'x-aitracer-signature': headers['x-aitracer-signature'] });
    expect(noTimestamp.status).toBe(401);
    expect(noTimestamp.body.code).toBe('RCV_SIGNATURE_MISSING');
    const noSignature = await postJson(url, body, { ...asSigned, 'x-aitracer-delivery-timestamp': headers['x-aitracer-delivery-timestamp'] });
    expect(noSignature.status).toBe(401);
    expect(noSignature.body).toEqual({ error: expect.stringContaining('missing X-AITracer-Signature'), code: 'RCV_SIGNATURE_MISSING' });
    expect(await stored('sig-missing')).toEqual([]);
  });

  it('refuses a correctly signed delivery whose timestamp is outside the tolerance, in either direction', async () => {
    const body = alertBody('sig-stale');
    const stale = await postJson(url, body, { ...asSigned, ...signedHeaders(body, nowSeconds() - 600, [NEW_SECRET]) });
    expect(stale.status).toBe(401);
    expect(stale.body).toEqual({ error: expect.stringMatching(/s old; at most 300 s either way/), code: 'RCV_SIGNATURE_STALE' });
    const future = await postJson(url, body, { ...asSigned, ...signedHeaders(body, nowSeconds() + 600, [NEW_SECRET]) });
    expect(future.status).toBe(401);
    expect(future.body).toEqual({ error: expect.stringMatching(/s in the future/), code: 'RCV_SIGNATURE_STALE' });
    expect(await stored('sig-stale')).toEqual([]);
    // Inside the tolerance (4 minutes old) the same body is accepted.
    const recent = await postJson(url, body, { ...asSigned, ...signedHeaders(body, nowSeconds() - 240, [NEW_SECRET]) });
    expect(recent.status).toBe(202);
    expect(await stored('sig-stale')).toHaveLength(1);
  });

  it('refuses a replayed signature with 409, even presented with another secret, and stores once', async () => {
    const body = alertBody('sig-replay');
    const ts = nowSeconds();
    const headers = { ...asSigned, ...signedHeaders(body, ts, [NEW_SECRET, OLD_SECRET]) };
    const first = await postJson(url, body, headers);
    expect(first.status).toBe(202);
    const replay = await postJson(url, body, headers);
    expect(replay.status).toBe(409);
    expect(replay.body).toEqual({ error: expect.stringContaining('already received'), code: 'RCV_SIGNATURE_REPLAYED' });
    const onlyOld = await postJson(url, body, { ...asSigned, ...signedHeaders(body, ts, [OLD_SECRET]) });
    expect(onlyOld.status).toBe(409);
    // A new timestamp makes it a new delivery, which the delivery id then deduplicates.
    const resent = await postJson(url, body, { ...asSigned, ...signedHeaders(body, ts + 1, [NEW_SECRET]) });
    expect(resent.status).toBe(202);
    expect(resent.headers.get('idempotent-replayed')).toBe('true');
    expect(await stored('sig-replay')).toHaveLength(1);
  });

  it('lets only one of two concurrent identical signed deliveries through', async () => {
    const body = alertBody('sig-concurrent');
    const headers = { ...asSigned, ...signedHeaders(body, nowSeconds(), [NEW_SECRET]) };
    const answers = await Promise.all([postJson(url, body, headers), postJson(url, body, headers)]);
    expect(answers.map((a) => a.status).sort()).toEqual([202, 409]);
    expect(await stored('sig-concurrent')).toHaveLength(1);
  });

  it('refuses malformed signature headers with 401', async () => {
    const body = alertBody('sig-malformed');
    const ts = nowSeconds();
    const hex = signedHeaders(body, ts, [NEW_SECRET])['x-aitracer-signature'].slice(3);
    const cases: Record<string, string>[] = [
      { 'x-aitracer-delivery-timestamp': String(ts), 'x-aitracer-signature': hex },
      { 'x-aitracer-delivery-timestamp': String(ts), 'x-aitracer-signature': `sha256=${hex}` },
      { 'x-aitracer-delivery-timestamp': String(ts), 'x-aitracer-signature': 'v1=not-hex' },
      { 'x-aitracer-delivery-timestamp': String(ts), 'x-aitracer-signature': `v1=${hex.slice(2)}` },
      { 'x-aitracer-delivery-timestamp': `${ts}.5`, 'x-aitracer-signature': `v1=${hex}` },
      { 'x-aitracer-delivery-timestamp': new Date(ts * 1000).toISOString(), 'x-aitracer-signature': `v1=${hex}` },
    ];
    for (const headers of cases) {
      const res = await postJson(url, body, { ...asSigned, ...headers });
      expect({ headers, status: res.status, code: res.body.code }).toEqual({ headers, status: 401, code: 'RCV_SIGNATURE_INVALID' });
    }
    expect(await stored('sig-malformed')).toEqual([]);
  });

  it('forgets the signature of a delivery that was refused, so the sender can retry it as signed', async () => {
    const body = alertBody('sig-refused', { trace_id: '' });
    const headers = { ...asSigned, ...signedHeaders(body, nowSeconds(), [NEW_SECRET]) };
    expect((await postJson(url, body, headers)).status).toBe(422);
    const retry = await postJson(url, body, headers);
    expect(retry.status).toBe(422);
    expect(retry.body.code).toBe('RCV_VALIDATION');
  });

  it('accepts unsigned deliveries in a workspace without signing secrets', async () => {
    const res = await postJson(url, alertBody('unsigned-acme'));
    expect(res.status).toBe(202);
    expect(await stored('unsigned-acme')).toEqual([{ Workspace: TEST_WORKSPACE, SpanName: 'generic finding', id: 'unsigned-acme' }]);
  });
});

describe('webhook receiver: signatures and storage outcomes', () => {
  const recorder = createRecorder();
  let daemon: TestDaemon;
  let url: string;
  /** Opens the exporter's gate; also called at the end so a failed test cannot leave requests held. */
  let open = () => {};

  beforeAll(async () => {
    daemon = await startDaemon(ingestPipelineYaml({ receivers: { webhook: [] }, exporter: 'recording', workspaces: WORKSPACES }), {
      registry: recordingRegistry(recorder, registry),
    });
    url = `${daemon.receiverUrl('webhook')}${PATH}`;
  });
  afterAll(() => {
    open();
    return daemon.stop();
  });

  const recordedIds = () => (recorder.batches.get('recording') ?? []).flat().map((s) => s.attributes['tracehouse.webhook.delivery_id']);

  it('releases the signature when storing fails, so the same signed request succeeds on retry', async () => {
    const body = alertBody('store-fails');
    const headers = { ...asSigned, ...signedHeaders(body, nowSeconds(), [NEW_SECRET]) };
    recorder.failures.set('recording', 'retryable');
    const failed = await postJson(url, body, headers);
    recorder.failures.delete('recording');
    expect(failed.status).toBe(503);
    expect(failed.headers.get('retry-after')).not.toBeNull();
    const retried = await postJson(url, body, headers);
    expect(retried.status).toBe(202);
    expect((await postJson(url, body, headers)).status).toBe(409);
    expect(recordedIds().filter((id) => id === 'store-fails')).toHaveLength(1);
  });

  it('reserves the signature while the first delivery is still being stored', async () => {
    const body = alertBody('store-slow');
    const headers = { ...asSigned, ...signedHeaders(body, nowSeconds(), [NEW_SECRET]) };
    recorder.gate = new Promise<void>((resolve) => (open = resolve));
    const requests = [postJson(url, body, headers), postJson(url, body, headers)];
    // Whichever reserved the signature waits at the gate, so the one that answers first is the other.
    const firstAnswer = await Promise.race(requests);
    expect(firstAnswer.status).toBe(409);
    open();
    recorder.gate = undefined;
    expect((await Promise.all(requests)).map((r) => r.status).sort()).toEqual([202, 409]);
    expect(recordedIds().filter((id) => id === 'store-slow')).toHaveLength(1);
  });
});
