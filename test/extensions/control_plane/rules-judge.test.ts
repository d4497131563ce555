/**
 * llm_judge rules through HTTP on a daemon, against the fake LLM provider on loopback:
 * POST /api/rules/evaluate with a judge rule (fail, pass, timeout), a judge rule created over
 * HTTP judging the next `sync: true` log with the key and model of the workspace settings, the
 * verdict and cost stored on the span, a timed-out judge answering `error`, and no provider key in
 * stored rows, answers or logs.
 */
import { createRootLogger } from '../../../core/logger';
import type { Finding } from '../../../core/evaluation';
import { queryRows, startDaemon, uniqueDatabase } from '../../support/daemon';
import type { TestDaemon } from '../../support/daemon';
import { FakeLlmProvider } from '../../support/fake-llm-provider';
import { apiCall } from './api-client';

const ADMIN_KEY = 'jd_admin_key_0123456789abcdef';
const CONFIG_JUDGE_KEY = 'sk-config-plaintextJudgeKey-Q1w2';
const WORKSPACE_JUDGE_KEY = 'sk-workspace-plaintextJudgeKey-E3r4';
const SECRETS_KEY = 'judge-test-secrets-key-0123456789';
const TIMEOUT_MS = 1_000;

const verdict = (v: Record<string, unknown>) => ({ chunks: [JSON.stringify(v)] });
const FAIL = verdict({ verdict: 'fail', confidence: 0.82, explanation: 'The reply promises a refund.' });
const PASS = verdict({ verdict: 'pass', confidence: 0.95, explanation: 'Polite and on topic.' });

function yaml(providerUrl: string, database: string): string {
  return `receivers:
  logs:
    listen: 127.0.0.1:0
    attachments_dir: \${env:TEST_DATA_DIR}/attachments
processors:
  evaluate_rules:
    judge:
      timeout_ms: ${TIMEOUT_MS}
      max_retries: 1
      providers:
        openai: { base_url: "${providerUrl}", api_key: "\${env:JUDGE_KEY:-}" }
        anthropic: { base_url: "${providerUrl}" }
exporters:
  clickhouse:
    path: \${env:TEST_DATA_DIR}
    database: ${database}
extensions:
  control_plane:
    listen: 127.0.0.1:0
workspaces:
  acme:
    api_keys: ["${ADMIN_KEY}"]
service:
  extensions: [control_plane]
  control_plane: { refresh_interval_ms: 200, secrets_key: "\${env:TEST_SECRETS_KEY}" }
  admin: { listen: 127.0.0.1:0 }
  pipelines:
    traces: { receivers: [logs], processors: [evaluate_rules], exporters: [clickhouse] }
`;
}

describe('control plane: llm_judge rules against a local fake provider', () => {
  const database = uniqueDatabase('cp_judge');
  const logLines: string[] = [];
  let provider: FakeLlmProvider;
  let daemon: TestDaemon;

  const call = (method: string, route: string, body?: unknown) => apiCall(daemon.receiverUrl('control_plane'), method, route, ADMIN_KEY, body);

  async function syncLog(id: string, output: string): Promise<any> {
    const res = await fetch(`${daemon.receiverUrl('logs')}/api/logs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id, project: 'support', task: 'reply', input: 'Can I get my money back?', output, sync: true }),
    });
    expect(res.status).toBe(200);
    return res.json();
  }

  const storedSpan = async (id: string) => {
    const [row] = await queryRows<{ Verdict: string; SpanAttributes: Record<string, string> }>(daemon, `SELECT Verdict, SpanAttributes FROM otel_traces WHERE SpanAttributes['tracehouse.log_id'] = '${id}'`, database);
    return row;
  };

  beforeAll(async () => {
    provider = await FakeLlmProvider.start();
    const logger = createRootLogger({ level: 'debug', destination: { write: (line: string) => void logLines.push(line) } });
    daemon = await startDaemon(yaml(provider.url, database), { env: { JUDGE_KEY: CONFIG_JUDGE_KEY, TEST_SECRETS_KEY: SECRETS_KEY }, logger });
  }, 60_000);
  beforeEach(() => provider.reset());
  afterAll(async () => {
    await daemon?.stop();
    await provider?.close();
  });

  it('POST /api/rules/evaluate runs an llm_judge rule through the judge: fail, pass, and a timeout as error with its reason', async () => {
    provider.enqueue(FAIL);
    const failed = await call('POST', '/api/rules/evaluate', { output: 'Sure, a full refund!', rule: { name: 'No refunds', type: 'llm_judge', value: 'The reply never promises a refund.' } });
    expect(failed.status).toBe(200);
    expect(failed.body).toEqual({
      verdict: 'flagged',
      // The judge's own confidence.
      confidenceScore: 0.82,
      explanation: 'No refunds: judge gpt-4o-mini: fail (confidence 0.82): The reply promises a refund.',
      status: 'flagged',
      appliedRules: [{ ruleId: 'evaluate', ruleName: 'No refunds', ruleType: 'llm_judge', ruleValue: 'The reply never promises a refund.', scope: 'global', outcome: 'triggered' }],
    });
    expect(provider.requests.map((r) => [r.path, r.headers.authorization])).toEqual([['/v1/chat/completions', `Bearer ${CONFIG_JUDGE_KEY}`]]);

    provider.enqueue(PASS);
    const passed = await call('POST', '/api/rules/evaluate', { output: 'We cannot refund, sorry.', rule: { name: 'No refunds', type: 'llm_judge', value: 'The reply never promises a refund.', llmJudgeModel: 'gpt-4.1' } });
    expect(passed.body).toMatchObject({ verdict: 'pass', status: 'pass', confidenceScore: 0.95, explanation: 'No refunds: judge gpt-4.1: pass (confidence 0.95): Polite and on topic.' });

    provider.enqueue({ ...PASS, latencyMs: TIMEOUT_MS * 5 });
    const late = await call('POST', '/api/rules/evaluate', { output: 'Hello.', rule: { name: 'Slow judge', type: 'llm_judge', value: 'Anything.' } });
    expect(late.body).toMatchObject({ verdict: 'error', status: 'error', explanation: `Slow judge: judge error: timed out after ${TIMEOUT_MS} ms`, appliedRules: [{ outcome: 'error' }] });

    // Anthropic has no key anywhere: an error that says so, and no call.
    provider.reset();
    const keyless = await call('POST', '/api/rules/evaluate', { output: 'Hello.', rule: { name: 'Keyless', type: 'llm_judge', value: 'Anything.', llmJudgeProvider: 'anthropic' } });
    expect(keyless.body.verdict).toBe('error');
    expect(keyless.body.explanation).toMatch(/^Keyless: judge error: no API key for anthropic/);
    expect(provider.requests).toHaveLength(0);
  });

  it('judges the next sync log with a rule created over HTTP, using the key and model of the workspace settings', async () => {
    expect((await call('PATCH', '/api/settings', { openaiApiKey: WORKSPACE_JUDGE_KEY, openaiJudgeModel: 'gpt-4.1-mini' })).status).toBe(200);
    const created = await call('POST', '/api/rules', { name: 'No refunds', type: 'llm_judge', value: 'The reply never promises a refund.', llmJudgeProvider: 'openai' });
    expect(created.status).toBe(201);

    provider.enqueue({ ...FAIL, usage: { input: 300, output: 25 } });
    const answer = await syncLog('judge-log-1', 'Sure, a full refund today!');
    expect(answer).toMatchObject({ ok: true, id: 'judge-log-1', status: 'flagged', verdict: { pass: false, rules: [{ name: 'No refunds', triggered: true }] } });
    expect(provider.requests).toHaveLength(1);
    expect(provider.requests[0].headers.authorization).toBe(`Bearer ${WORKSPACE_JUDGE_KEY}`);
    expect(provider.requests[0].body.model).toBe('gpt-4.1-mini');
    const prompt = provider.requests[0].body.messages[1].content as string;
    expect(prompt).toContain('<input>\nCan I get my money back?\n</input>');
    expect(prompt).toContain('<output>\nSure, a full refund today!\n</output>');

    const row = await storedSpan('judge-log-1');
    expect(row.Verdict).toBe('flagged');
    const findings = JSON.parse(row.SpanAttributes['tracehouse.findings']) as Finding[];
    expect(findings).toEqual([expect.objectContaining({ ruleName: 'No refunds', ruleType: 'llm_judge', outcome: 'triggered', detail: 'judge gpt-4.1-mini: fail (confidence 0.82): The reply promises a refund.' })]);
    expect(Number(row.SpanAttributes['tracehouse.judge.cost_usd'])).toBeGreaterThan(0);

    // A judge slower than timeout_ms: the sync log still answers, with the verdict error and the reason stored.
    provider.enqueue({ ...PASS, latencyMs: TIMEOUT_MS * 5 });
    const late = await syncLog('judge-log-2', 'Hello.');
    expect(late).toMatchObject({ status: 'error', verdict: { pass: false, appliedRules: [{ ruleType: 'llm_judge', outcome: 'error' }] } });
    const lateRow = await storedSpan('judge-log-2');
    expect(lateRow.Verdict).toBe('error');
    expect((JSON.parse(lateRow.SpanAttributes['tracehouse.findings']) as Finding[])[0].detail).toBe(`judge error: timed out after ${TIMEOUT_MS} ms`);

    // A 500 is retried (max_retries: 1), then the verdict is error with the provider's status.
    provider.reset();
    provider.enqueue({ status: 500 }, { status: 500 });
    expect((await syncLog('judge-log-3', 'Hello.')).status).toBe('error');
    expect(provider.requests).toHaveLength(2);
    expect((JSON.parse((await storedSpan('judge-log-3')).SpanAttributes['tracehouse.findings']) as Finding[])[0].detail).toMatch(/^judge error: openai answered 500: .*\(after 2 attempts\)$/);

    expect((await call('DELETE', `/api/rules/${created.body.id}`)).status).toBe(200);
  });

  it('keeps every provider key out of stored rows, answers and logs', async () => {
    const objects = await queryRows<Record<string, unknown>>(daemon, 'SELECT * FROM tracehouse_objects', database);
    const audit = await queryRows<Record<string, unknown>>(daemon, 'SELECT * FROM tracehouse_object_audit', database);
    const spans = await queryRows<Record<string, unknown>>(daemon, 'SELECT * FROM otel_traces', database);
    expect(spans.length).toBeGreaterThanOrEqual(3);
    const settings = await call('GET', '/api/settings');
    const rules = await call('GET', '/api/rules');
    const everything = JSON.stringify([objects, audit, spans, settings.body, rules.body]) + logLines.join('');
    // The judge's failures were logged (with their reasons), the keys were not.
    expect(logLines.some((line) => line.includes('llm_judge rules got no verdict') && line.includes('judge error: timed out after'))).toBe(true);
    for (const key of [CONFIG_JUDGE_KEY, WORKSPACE_JUDGE_KEY]) expect(everything).not.toContain(key);
    expect(everything).not.toMatch(/plaintextJudgeKey/);
  });
});
