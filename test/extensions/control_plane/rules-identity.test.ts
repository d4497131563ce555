/**
 * How API rules name themselves in `appliedRules` (the rule's own API type and raw value, scope
 * "global" for a workspace's unscoped rule), `projectId` scoping resolved to the project's names
 * at evaluation (a rename keeps matching; unknown ids refused with 422), and the smaller rule
 * details: `description` always answered, a rule sent to /api/rules/evaluate as GET returned it.
 */
import { startDaemon, uniqueDatabase } from '../../support/daemon';
import type { TestDaemon } from '../../support/daemon';
import { apiCall } from './api-client';

const ADMIN_KEY = 'cp_ident_admin_key_0123456789ab';
const OTHER_KEY = 'cp_ident_other_key_0123456789ab';

function yaml(database: string): string {
  return `receivers:
  logs:
    listen: 127.0.0.1:0
    attachments_dir: \${env:TEST_DATA_DIR}/${database}-attachments
processors:
  evaluate_rules: {}
exporters:
  clickhouse:
    path: \${env:TEST_DATA_DIR}
    database: ${database}
extensions:
  control_plane:
    listen: 127.0.0.1:0
  read_api:
    listen: 127.0.0.1:0
    attachments_dir: \${env:TEST_DATA_DIR}/${database}-attachments
workspaces:
  acme:
    api_keys: ["${ADMIN_KEY}"]
  other:
    api_keys: ["${OTHER_KEY}"]
service:
  extensions: [control_plane, read_api]
  admin: { listen: 127.0.0.1:0 }
  pipelines:
    traces: { receivers: [logs], processors: [evaluate_rules], exporters: [clickhouse] }
`;
}

describe('control plane: rule identity and projectId scope', () => {
  let daemon: TestDaemon;
  beforeAll(async () => {
    daemon = await startDaemon(yaml(uniqueDatabase('cp_ident')));
  });
  afterAll(() => daemon.stop());

  const call = (method: string, route: string, body?: unknown, key = ADMIN_KEY) => apiCall(daemon.receiverUrl('control_plane'), method, route, key, body);
  const readApi = (method: string, route: string, body?: unknown) => apiCall(daemon.receiverUrl('read_api'), method, route, ADMIN_KEY, body);
  async function syncLog(project: string, output: string): Promise<any> {
    const res = await fetch(`${daemon.receiverUrl('logs')}/api/logs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ project, output, sync: true }),
    });
    expect(res.status).toBe(200);
    return res.json();
  }

  // Each of the nine types with an output it applies to; the answer names the API's type and raw value.
  const NINE: [type: string, value: string, output: string][] = [
    ['keyword_required', 'thanks', 'no gratitude here'],
    ['keyword_forbidden', 'refund', 'a refund is on its way'],
    ['regex_match', '^Dear ', 'Hello there'],
    ['length_limit', '5', 'longer than five'],
    ['confidence_threshold', '0.5', 'any answer'],
    ['llm_judge', 'The answer is polite', 'any answer'],
    ['json_field', 'result.status', '{"result": {"status": "ok"}}'],
    ['json_field_keyword_required', 'status:approved', '{"status": "pending"}'],
    ['json_field_keyword_forbidden', '{"field": "note", "keyword": "refund"}', '{"note": "refund granted"}'],
  ];

  it.each(NINE)('/api/rules/evaluate reports a %s rule with its own type and raw value', async (type, value, output) => {
    const answer = await call('POST', '/api/rules/evaluate', { output, confidence: 0.2, rule: { name: `A ${type} rule`, type, value } });
    expect(answer.status).toBe(200);
    expect(answer.body.appliedRules).toEqual([expect.objectContaining({ ruleName: `A ${type} rule`, ruleType: type, ruleValue: value, scope: 'global' })]);
  });

  it('a workspace rule shows scope "global" and its API type in a sync answer; a rule as GET returns it evaluates as it is', async () => {
    const created = await call('POST', '/api/rules', { name: 'Starts politely', type: 'regex_match', value: '^Dear ' });
    expect(created.status).toBe(201);
    // description is always answered ("" when unset).
    expect(created.body.description).toBe('');
    const flagged = await syncLog('support', 'Hi, no salutation');
    expect(flagged.verdict.appliedRules).toEqual([{ ruleId: created.body.id, ruleName: 'Starts politely', ruleType: 'regex_match', ruleValue: '^Dear ', scope: 'global', outcome: 'triggered' }]);

    const got = await call('GET', `/api/rules/${created.body.id}`);
    expect(got.body).toMatchObject({ description: '', source: 'api', version: 1 });
    const evaluated = await call('POST', '/api/rules/evaluate', { output: 'Dear team, all good', rule: got.body });
    expect(evaluated.status).toBe(200);
    expect(evaluated.body).toMatchObject({ verdict: 'pass', appliedRules: [expect.objectContaining({ ruleId: created.body.id, ruleType: 'regex_match', outcome: 'passed' })] });
    // Read-only fields are ignored, unknown ones still refused.
    expect((await call('POST', '/api/rules/evaluate', { output: 'x', rule: { ...got.body, colour: 'red' } })).status).toBe(422);
    expect((await call('DELETE', `/api/rules/${created.body.id}`)).status).toBe(200);
  });

  it('a projectId rule applies to that project only, follows a rename, and unknown project ids are refused with 422', async () => {
    const project = await readApi('POST', '/api/projects', { name: 'billing' });
    expect(project.status).toBe(201);
    const created = await call('POST', '/api/rules', { name: 'No refunds in billing', type: 'keyword_forbidden', value: 'refund', projectId: project.body.id });
    expect(created.status).toBe(201);
    expect((await syncLog('billing', 'a refund is due')).status).toBe('flagged');
    const elsewhere = await syncLog('support', 'a refund is due');
    expect(elsewhere.status).toBe('pass');
    expect(elsewhere.verdict?.appliedRules ?? []).not.toEqual(expect.arrayContaining([expect.objectContaining({ ruleId: created.body.id })]));

    expect((await readApi('PATCH', `/api/projects/${project.body.id}`, { name: 'invoicing' })).status).toBe(200);
    const renamed = await syncLog('invoicing', 'a refund is due');
    expect(renamed.status).toBe('flagged');
    expect(renamed.verdict.appliedRules).toEqual([expect.objectContaining({ ruleId: created.body.id, scope: `projectId=${project.body.id}` })]);

    const unknown = await call('POST', '/api/rules', { name: 'x', type: 'keyword_forbidden', value: 'y', projectId: 'proj_0000000000000000' });
    expect(unknown.status).toBe(422);
    expect(unknown.body.fields).toEqual([expect.objectContaining({ field: 'projectId' })]);
    // Another workspace's project is unknown here too.
    expect((await call('POST', '/api/rules', { name: 'x', type: 'keyword_forbidden', value: 'y', projectId: project.body.id }, OTHER_KEY)).status).toBe(422);
    expect((await call('PATCH', `/api/rules/${created.body.id}`, { projectId: 'proj_0000000000000000' })).status).toBe(422);
  });
});
