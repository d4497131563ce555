import { traceIdFor } from '../../../core/ingest/ids';
import { ingestPipelineYaml, postJson, queryRows, startDaemon, TEST_API_KEY, TEST_WORKSPACE, uniqueDatabase } from '../../support/daemon';
import type { TestDaemon } from '../../support/daemon';
import { DEPENDABOT_DELIVERY_ID, dependabotAlert, dependabotHeaders, genericAlert, SNYK_TRANSPORT_ID, snykHeaders, snykSnapshot } from './fixtures';

const PATH = '/api/ingest/webhooks';
const ROW_COLUMNS = `SpanName, SpanKind, Workspace, TraceId, ParentSpanId, toString(Timestamp) AS ts, toString(Duration) AS Duration, StatusCode, SpanAttributes`;

describe('webhook receiver: provider payloads into records', () => {
  const database = uniqueDatabase('webhook');
  let daemon: TestDaemon;
  let url: string;

  beforeAll(async () => {
    daemon = await startDaemon(
      ingestPipelineYaml({
        // The events receiver is there so a key can be restricted to it (403 here).
        receivers: { webhook: [], events: [] },
        database,
        workspaces: [
          `${TEST_WORKSPACE}:`,
          `  api_keys: ["${TEST_API_KEY}", { key: "th_other_key_0123456789abcdef", receivers: [events] }]`,
        ],
      }),
    );
    url = `${daemon.receiverUrl('webhook')}${PATH}`;
  });
  afterAll(() => daemon.stop());

  const rowsWhere = (condition: string) => queryRows(daemon, `SELECT ${ROW_COLUMNS} FROM otel_traces WHERE ${condition} ORDER BY SpanAttributes['tracehouse.webhook.summary']`, database);

  it('stores a GitHub Dependabot alert as one record with its package, advisory and repository', async () => {
    const res = await postJson(url, dependabotAlert, dependabotHeaders());
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ ok: true, records: 1, delivery_id: DEPENDABOT_DELIVERY_ID });
    expect(res.headers.get('x-ratelimit-limit')).toBe('600');
    const rows = await rowsWhere(`SpanAttributes['tracehouse.webhook.delivery_id'] = '${DEPENDABOT_DELIVERY_ID}'`);
    expect(rows).toEqual([
      {
        SpanName: 'github dependabot_alert.created',
        SpanKind: 'Internal',
        Workspace: TEST_WORKSPACE,
        TraceId: traceIdFor(TEST_WORKSPACE, `webhook:github:${DEPENDABOT_DELIVERY_ID}`),
        ParentSpanId: '',
        ts: '2026-03-02 09:14:08.000000000',
        Duration: '0',
        StatusCode: 'Unset',
        SpanAttributes: {
          'tracehouse.record_type': 'webhook',
          'tracehouse.webhook.provider': 'github',
          'tracehouse.webhook.event_type': 'dependabot_alert.created',
          'tracehouse.webhook.action': 'created',
          'tracehouse.webhook.delivery_id': DEPENDABOT_DELIVERY_ID,
          'tracehouse.webhook.severity': 'high',
          'tracehouse.webhook.severity.original': 'high',
          'tracehouse.webhook.package': 'lodash',
          'tracehouse.webhook.package.ecosystem': 'npm',
          'tracehouse.webhook.package.vulnerable_range': '< 4.17.21',
          'tracehouse.webhook.package.patched_version': '4.17.21',
          'tracehouse.webhook.package.manifest_path': 'package-lock.json',
          'tracehouse.webhook.advisory_ids': '["GHSA-35jh-r3h4-6jhm"]',
          'tracehouse.webhook.cve_ids': '["CVE-2021-23337"]',
          'tracehouse.webhook.repository': 'acme-corp/agent-gateway',
          'tracehouse.webhook.url': 'https://github.com/acme-corp/agent-gateway/security/dependabot/7',
          'tracehouse.webhook.summary': 'Command Injection in lodash',
          'webhook.alert.number': '7',
          'webhook.alert.state': 'open',
          'webhook.dependency.scope': 'runtime',
          'webhook.advisory.cvss_score': '7.2',
          'webhook.advisory.cwe_ids': '["CWE-77","CWE-94"]',
          'webhook.repository.url': 'https://github.com/acme-corp/agent-gateway',
          'tracehouse.workspace': TEST_WORKSPACE,
          'tracehouse.source': 'webhook',
        },
      },
    ]);
  });

  it('stores a redelivery with the same X-GitHub-Delivery once and replays the first answer', async () => {
    const deliveryId = 'b1a0c6e2-f6a2-11f0-9c1d-0242ac120002';
    const fixed = { ...dependabotAlert, action: 'fixed', alert: { ...dependabotAlert.alert, state: 'fixed', fixed_at: '2026-03-03T08:00:00Z' } };
    const first = await postJson(url, fixed, dependabotHeaders(deliveryId));
    const again = await postJson(url, fixed, dependabotHeaders(deliveryId));
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.text).toBe(first.text);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const rows = await queryRows(daemon, `SELECT SpanName, SpanAttributes['webhook.alert.state'] AS state FROM otel_traces WHERE SpanAttributes['tracehouse.webhook.delivery_id'] = '${deliveryId}'`, database);
    expect(rows).toEqual([{ SpanName: 'github dependabot_alert.fixed', state: 'fixed' }]);
  });

  it('stores each new issue of a Snyk project snapshot as its own record', async () => {
    const res = await postJson(url, snykSnapshot, snykHeaders);
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ ok: true, records: 2, delivery_id: SNYK_TRANSPORT_ID });
    const rows = await rowsWhere(`SpanAttributes['tracehouse.webhook.delivery_id'] = '${SNYK_TRANSPORT_ID}'`);
    const common = {
      SpanName: 'snyk project_snapshot/v0',
      SpanKind: 'Internal',
      Workspace: TEST_WORKSPACE,
      TraceId: traceIdFor(TEST_WORKSPACE, `webhook:snyk:${SNYK_TRANSPORT_ID}`),
      ParentSpanId: '',
      ts: '2026-03-02 11:30:15.000000000',
      Duration: '0',
      StatusCode: 'Unset',
    };
    const attributes = {
      'tracehouse.record_type': 'webhook',
      'tracehouse.webhook.provider': 'snyk',
      'tracehouse.webhook.event_type': 'project_snapshot/v0',
      'tracehouse.webhook.delivery_id': SNYK_TRANSPORT_ID,
      'tracehouse.webhook.package.ecosystem': 'npm',
      'tracehouse.webhook.repository': 'acme-corp/agent-gateway:package.json',
      'webhook.project.name': 'acme-corp/agent-gateway:package.json',
      'webhook.project.id': 'af137b96-6966-46c1-826b-2e79ac49bbd9',
      'webhook.project.url': 'https://app.snyk.io/org/acme-corp/project/af137b96-6966-46c1-826b-2e79ac49bbd9',
      'webhook.org.name': 'acme-corp',
      'webhook.org.id': '4a18d42f-0706-4ad0-b127-24078731fbed',
      'webhook.issue.type': 'vuln',
      'tracehouse.workspace': TEST_WORKSPACE,
      'tracehouse.source': 'webhook',
    };
    expect(rows).toEqual([
      {
        ...common,
        SpanAttributes: {
          ...attributes,
          'tracehouse.webhook.severity': 'medium',
          'tracehouse.webhook.severity.original': 'medium',
          'tracehouse.webhook.package': 'axios',
          'tracehouse.webhook.package.versions': '["1.5.1"]',
          'tracehouse.webhook.advisory_ids': '["SNYK-JS-AXIOS-6032459"]',
          'tracehouse.webhook.cve_ids': '["CVE-2023-45857"]',
          'tracehouse.webhook.url': 'https://security.snyk.io/vuln/SNYK-JS-AXIOS-6032459',
          'tracehouse.webhook.summary': 'Cross-site Request Forgery (CSRF)',
          'webhook.issue.id': 'SNYK-JS-AXIOS-6032459',
          'webhook.issue.cwe_ids': '["CWE-352"]',
          'webhook.issue.cvss_score': '6.5',
        },
      },
      {
        ...common,
        SpanAttributes: {
          ...attributes,
          'tracehouse.webhook.severity': 'critical',
          'tracehouse.webhook.severity.original': 'critical',
          'tracehouse.webhook.package': 'follow-redirects',
          'tracehouse.webhook.package.versions': '["1.15.2"]',
          'tracehouse.webhook.advisory_ids': '["SNYK-JS-FOLLOWREDIRECTS-6141137"]',
          'tracehouse.webhook.cve_ids': '["CVE-2023-26159"]',
          'tracehouse.webhook.url': 'https://security.snyk.io/vuln/SNYK-JS-FOLLOWREDIRECTS-6141137',
          'tracehouse.webhook.summary': 'Improper Input Validation',
          'webhook.issue.id': 'SNYK-JS-FOLLOWREDIRECTS-6141137',
          'webhook.issue.cwe_ids': '["CWE-20"]',
          'webhook.issue.cvss_score': '9.1',
        },
      },
    ]);
    const spanIds = await queryRows(daemon, `SELECT uniqExact(SpanId) AS n FROM otel_traces WHERE SpanAttributes['tracehouse.webhook.delivery_id'] = '${SNYK_TRANSPORT_ID}'`, database);
    expect(spanIds).toEqual([{ n: 2 }]);
  });

  it('stores a generic JSON alert in the trace it names, keeping its other fields under webhook.', async () => {
    const res = await postJson(url, genericAlert);
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ ok: true, records: 1, delivery_id: 'trivy-scan-8812' });
    const rows = await rowsWhere(`TraceId = '${genericAlert.trace_id}'`);
    expect(rows).toEqual([
      {
        SpanName: 'generic vulnerability.detected',
        SpanKind: 'Internal',
        Workspace: TEST_WORKSPACE,
        TraceId: genericAlert.trace_id,
        ParentSpanId: '',
        ts: '2026-03-02 10:00:00.123456000',
        Duration: '0',
        StatusCode: 'Unset',
        SpanAttributes: {
          'tracehouse.record_type': 'webhook',
          'tracehouse.webhook.provider': 'generic',
          'tracehouse.webhook.event_type': 'vulnerability.detected',
          'tracehouse.webhook.delivery_id': 'trivy-scan-8812',
          'tracehouse.webhook.severity': 'critical',
          'tracehouse.webhook.severity.original': 'CRITICAL',
          'tracehouse.webhook.package': 'openssl',
          'tracehouse.webhook.package.ecosystem': 'debian',
          'tracehouse.webhook.package.versions': '["3.0.11-1~deb12u1"]',
          'tracehouse.webhook.advisory_ids': '["DSA-5532-1"]',
          'tracehouse.webhook.cve_ids': '["CVE-2023-5363"]',
          'tracehouse.webhook.repository': 'ghcr.io/acme-corp/agent-gateway',
          'tracehouse.webhook.url': 'https://avd.aquasec.com/nvd/cve-2023-5363',
          'tracehouse.webhook.summary': 'openssl: Incorrect cipher key and IV length processing',
          'webhook.vendor': 'trivy',
          'webhook.fixed_version': '3.0.13-1~deb12u1',
          'webhook.cvss_score': '7.5',
          'webhook.scanner.name': 'trivy',
          'webhook.scanner.version': '0.50.1',
          'webhook.scanner.db.updated_at': '2026-03-02T06:00:00Z',
          'webhook.layers': '[{"digest":"sha256:0a1b","diff_id":"sha256:9f8e"}]',
          'tracehouse.workspace': TEST_WORKSPACE,
          'tracehouse.source': 'webhook',
        },
      },
    ]);
  });

  it('maps a minimal generic alert: CVSS-score severity, string package, cve list, bounded summary, own trace', async () => {
    const longTitle = 'x'.repeat(5000);
    const res = await postJson(url, { type: 'secret_leak', severity: 9.4, package_name: 'left-pad', cve: ['CVE-2024-0001', 'CVE-2024-0001', 'CVE-2024-0002'], ghsa_id: 'GHSA-aaaa-bbbb-cccc', repository: { full_name: 'acme-corp/tools' }, summary: longTitle, nested: { a: { b: { c: { d: 1 } } } } });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ ok: true, records: 1, delivery_id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    const rows = await queryRows<{ TraceId: string; SpanName: string; SpanAttributes: Record<string, string> }>(
      daemon,
      `SELECT TraceId, SpanName, SpanAttributes FROM otel_traces WHERE SpanAttributes['tracehouse.webhook.delivery_id'] = '${res.body.delivery_id}'`,
      database,
    );
    expect(rows).toHaveLength(1);
    const [row] = rows;
    expect(row.TraceId).toBe(traceIdFor(TEST_WORKSPACE, `webhook:generic:${res.body.delivery_id}`));
    expect(row.SpanName).toBe('generic secret_leak');
    expect(row.SpanAttributes).toMatchObject({
      'tracehouse.webhook.severity': 'critical',
      'tracehouse.webhook.severity.original': '9.4',
      'tracehouse.webhook.package': 'left-pad',
      'tracehouse.webhook.advisory_ids': '["GHSA-aaaa-bbbb-cccc"]',
      'tracehouse.webhook.cve_ids': '["CVE-2024-0001","CVE-2024-0002"]',
      'tracehouse.webhook.repository': 'acme-corp/tools',
      'webhook.nested.a.b.c': '{"d":1}',
    });
    expect(Array.from(row.SpanAttributes['tracehouse.webhook.summary'])).toHaveLength(1024);
    expect(row.SpanAttributes['tracehouse.webhook.summary'].endsWith('…')).toBe(true);
    expect(row.SpanAttributes['tracehouse.webhook.package.versions']).toBeUndefined();
  });

  it('detects Dependabot and Snyk payloads by their shape when the event headers are missing', async () => {
    const github = await postJson(url, dependabotAlert, { 'x-github-delivery': 'shape-github-1' });
    const snyk = await postJson(url, { ...snykSnapshot, newIssues: snykSnapshot.newIssues.slice(0, 1) });
    expect(github.body).toEqual({ ok: true, records: 1, delivery_id: 'shape-github-1' });
    expect(snyk.body).toEqual({ ok: true, records: 1, delivery_id: expect.any(String) });
    const rows = await queryRows(
      daemon,
      `SELECT SpanName FROM otel_traces WHERE SpanAttributes['tracehouse.webhook.delivery_id'] IN ('shape-github-1', '${snyk.body.delivery_id}') ORDER BY SpanName`,
      database,
    );
    expect(rows).toEqual([{ SpanName: 'github dependabot_alert.created' }, { SpanName: 'snyk project_snapshot/v0' }]);
  });

  it('answers pings with no records, and stores other GitHub events as bare records', async () => {
    const ping = await postJson(url, { zen: 'Design for failure.', hook_id: 482913377 }, { 'x-github-event': 'ping', 'x-github-delivery': 'ping-1' });
    expect(ping.status).toBe(202);
    expect(ping.body).toEqual({ ok: true, records: 0, delivery_id: 'ping-1' });
    const snykPing = await postJson(url, { webhookId: 'd3cf26b3-2d77-497b-bce2-23b33cc15362' }, { 'x-snyk-event': 'ping/v0', 'x-snyk-transport-id': 'snyk-ping-1' });
    expect(snykPing.body).toEqual({ ok: true, records: 0, delivery_id: 'snyk-ping-1' });
    const other = await postJson(url, { action: 'created', alert: { number: 3 }, repository: { full_name: 'acme-corp/agent-gateway', html_url: 'https://github.com/acme-corp/agent-gateway' } }, { 'x-github-event': 'secret_scanning_alert', 'x-github-delivery': 'secret-1' });
    expect(other.body).toEqual({ ok: true, records: 1, delivery_id: 'secret-1' });
    const rows = await queryRows(
      daemon,
      `SELECT SpanAttributes['tracehouse.webhook.delivery_id'] AS id, SpanName, SpanAttributes['tracehouse.webhook.repository'] AS repo FROM otel_traces WHERE id IN ('ping-1', 'snyk-ping-1', 'secret-1')`,
      database,
    );
    expect(rows).toEqual([{ id: 'secret-1', SpanName: 'github secret_scanning_alert.created', repo: 'acme-corp/agent-gateway' }]);
  });

  it('ignores signature headers in a workspace without signing secrets', async () => {
    const res = await postJson(url, { title: 'unsigned is fine here', delivery_id: 'unsigned-1' }, { 'x-aitracer-delivery-timestamp': '1', 'x-aitracer-signature': 'v1=00' });
    expect(res.status).toBe(202);
    const rows = await queryRows(daemon, `SELECT count() AS n FROM otel_traces WHERE SpanAttributes['tracehouse.webhook.delivery_id'] = 'unsigned-1'`, database);
    expect(rows).toEqual([{ n: 1 }]);
  });

  it('answers 422 for a body that is JSON but not an object', async () => {
    for (const body of ['[1,2]', '"alert"', '42', 'null']) {
      const res = await postJson(url, body);
      expect(res.status).toBe(422);
      expect(res.body).toEqual({ error: expect.stringContaining('invalid request body'), code: 'RCV_VALIDATION', fields: [{ field: '', message: expect.stringContaining('object'), code: 'invalid_type' }] });
    }
  });

  it('answers 422 naming every mistyped field of a generic alert, and stores nothing', async () => {
    const res = await postJson(url, { delivery_id: 'bad-generic', severity: { level: 'high' }, cve_ids: 'CVE-1', trace_id: '', timestamp: 'yesterday', package: 7, repository: ['a'] });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('RCV_VALIDATION');
    expect(res.body.fields.map((f: { field: string }) => f.field).sort()).toEqual(['cve_ids', 'package', 'repository', 'severity', 'timestamp', 'trace_id']);
    const rows = await queryRows(daemon, `SELECT count() AS n FROM otel_traces WHERE SpanAttributes['tracehouse.webhook.delivery_id'] = 'bad-generic'`, database);
    expect(rows).toEqual([{ n: 0 }]);
  });

  it('answers 422 for Dependabot and Snyk payloads missing what identifies the alert', async () => {
    const github = await postJson(url, { action: 'created', alert: { number: 'seven', security_advisory: {} } }, dependabotHeaders('bad-github'));
    expect(github.status).toBe(422);
    expect(github.body.fields).toEqual([
      { field: 'alert.number', message: expect.any(String), code: 'invalid_type' },
      { field: 'alert.security_advisory.ghsa_id', message: expect.any(String), code: 'required' },
      { field: 'repository', message: expect.any(String), code: 'required' },
    ]);
    const snyk = await postJson(url, { project: { name: 'p' }, newIssues: [{ pkgName: 'axios' }] }, { 'x-snyk-event': 'project_snapshot/v0' });
    expect(snyk.status).toBe(422);
    expect(snyk.body.fields).toEqual([{ field: 'newIssues[0].id', message: expect.any(String), code: 'required' }]);
    const longId = await postJson(url, dependabotAlert, dependabotHeaders('d'.repeat(257)));
    expect(longId.status).toBe(422);
    expect(longId.body.fields).toEqual([{ field: 'delivery_id', message: 'must be at most 256 characters', code: 'too_long' }]);
  });

  it('refuses other methods with 405, invalid JSON with 400 and other media types with 415', async () => {
    const get = await fetch(url, { headers: { authorization: `Bearer ${TEST_API_KEY}` } });
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect(await get.json()).toEqual({ error: 'method GET is not allowed; use POST', code: 'RCV_METHOD_NOT_ALLOWED' });
    const bad = await postJson(url, '{"title":');
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('RCV_BAD_JSON');
    const form = await postJson(url, 'title=x', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(form.status).toBe(415);
    expect(form.body.code).toBe('RCV_UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers 401 without or with an unknown key and 403 for a key restricted to another receiver', async () => {
    const missing = await postJson(url, genericAlert, { authorization: '' });
    expect(missing.status).toBe(401);
    expect(missing.body).toEqual({ error: expect.stringContaining('missing API key'), code: 'RCV_UNAUTHENTICATED' });
    const unknown = await postJson(url, genericAlert, { authorization: 'Bearer th_unknown_key_0123456789' });
    expect(unknown.status).toBe(401);
    expect(unknown.body.code).toBe('RCV_UNAUTHENTICATED');
    const restricted = await postJson(url, genericAlert, { authorization: 'Bearer th_other_key_0123456789abcdef' });
    expect(restricted.status).toBe(403);
    expect(restricted.body).toEqual({ error: 'this API key is not allowed on webhook', code: 'RCV_FORBIDDEN' });
  });
});
