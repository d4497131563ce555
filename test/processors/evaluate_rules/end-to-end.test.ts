import { waitFor as waitUntil } from '../../support/wait';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Finding } from '../../../core/evaluation';
import { ingestPipelineYaml, postJson, queryRows, startDaemon, uniqueDatabase } from '../../support/daemon';
import type { TestDaemon } from '../../support/daemon';

interface StoredRow {
  SpanId: string;
  ParentSpanId: string;
  SpanName: string;
  Verdict: string;
  SpanAttributes: Record<string, string>;
}

interface Received {
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

/** A local stand-in for a client's callback endpoint: records every POST and answers 200. */
async function callbackReceiver(): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/callbacks`, received, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** The shared poller, with this file's argument order. */
const waitFor = <T>(check: () => Promise<T | undefined> | T | undefined, what: string): Promise<T> => waitUntil(what, check);

const RULES = [
  'rules:',
  '  - id: tone',
  '    name: Tone Validator',
  '    type: keyword_forbidden',
  '    value: [sorry, unfortunately]',
  '    severity: high',
  '    scope: { project: support-replies }',
  '  - id: signature',
  '    name: Signed',
  '    type: keyword_required',
  '    value: Acme Support',
  '    scope: { project: support-replies }',
  '  - id: unsure',
  '    type: confidence_threshold',
  '    value: 0.6',
  '    severity: critical',
  '  - id: truncated',
  '    name: Truncated completion',
  '    type: finish_reason_in',
  '    value: [length]',
  '  - id: ticket-ref',
  '    type: regex_required',
  "    value: '^T-[0-9]+$'",
  '    target: { attribute: metadata.ticket }',
  '    scope: { project: billing }',
  'callbacks:',
  '  allow_private_addresses: true',
  '  initial_backoff_ms: 10',
];

describe('evaluate_rules end to end (logs and native receivers, embedded ClickHouse)', () => {
  const database = uniqueDatabase('rules');
  let daemon: TestDaemon;
  let logsUrl: string;
  let base: string;
  let callbacks: Awaited<ReturnType<typeof callbackReceiver>>;

  const rowsOfLog = (id: string) =>
    queryRows<StoredRow>(daemon, `SELECT SpanId, ParentSpanId, SpanName, Verdict, SpanAttributes FROM otel_traces WHERE SpanAttributes['tracehouse.log_id'] = '${id}'`, database);
  const findingsOf = (row: StoredRow) => JSON.parse(row.SpanAttributes['tracehouse.findings']) as Finding[];

  beforeAll(async () => {
    callbacks = await callbackReceiver();
    daemon = await startDaemon(ingestPipelineYaml({ receivers: { logs: [], native: [] }, processors: { evaluate_rules: RULES }, database }));
    base = daemon.receiverUrl('logs');
    logsUrl = `${base}/api/logs`;
  });
  afterAll(async () => {
    await daemon.stop();
    await callbacks.close();
  });

  it('stores the verdict column and the findings of an async log', async () => {
    const res = await postJson(logsUrl, { id: 'log-e2e-1', project: 'support-replies', output: 'Sorry, we cannot help. Acme Support', confidence: 0.3 });
    expect(res.body).toEqual({ ok: true, id: 'log-e2e-1', status: 'pending' });
    const [row, ...more] = await rowsOfLog('log-e2e-1');
    expect(more).toEqual([]);
    expect(row.Verdict).toBe('flagged');
    expect(row.SpanAttributes['tracehouse.verdict']).toBe('flagged');
    expect(row.SpanAttributes['tracehouse.verdict.severity']).toBe('critical');
    expect(findingsOf(row)).toEqual([
      { ruleId: 'tone', ruleName: 'Tone Validator', ruleType: 'keyword_forbidden', ruleValue: '["sorry","unfortunately"]', scope: 'project=support-replies', severity: 'high', outcome: 'triggered', detail: 'contains 1 of 2 forbidden keywords (#1)' },
      { ruleId: 'signature', ruleName: 'Signed', ruleType: 'keyword_required', ruleValue: 'Acme Support', scope: 'project=support-replies', severity: 'medium', outcome: 'passed' },
      { ruleId: 'unsure', ruleName: 'unsure', ruleType: 'confidence_threshold', ruleValue: '0.6', scope: 'global', severity: 'critical', outcome: 'triggered', detail: 'confidence 0.3 is below 0.6' },
    ]);
  });

  it('answers a flagged verdict inline with sync: true, with the applied rules', async () => {
    const res = await postJson(logsUrl, { id: 'log-e2e-2', project: 'support-replies', task: 'Tone Validator', output: 'Unfortunately not.', sync: true });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      ok: true,
      id: 'log-e2e-2',
      status: 'flagged',
      verdict: {
        pass: false,
        rules: [
          { name: 'Tone Validator', triggered: true },
          { name: 'Signed', triggered: true },
        ],
        appliedRules: [
          { ruleId: 'tone', ruleName: 'Tone Validator', ruleType: 'keyword_forbidden', ruleValue: '["sorry","unfortunately"]', scope: 'project=support-replies', outcome: 'triggered' },
          { ruleId: 'signature', ruleName: 'Signed', ruleType: 'keyword_required', ruleValue: 'Acme Support', scope: 'project=support-replies', outcome: 'triggered' },
        ],
      },
    });
    // The answer came after the row was stored, with the same verdict.
    const [row] = await rowsOfLog('log-e2e-2');
    expect(row.Verdict).toBe('flagged');
    expect(findingsOf(row).map((f) => [f.ruleId, f.outcome])).toEqual([
      ['tone', 'triggered'],
      ['signature', 'triggered'],
    ]);
    // A resend replays the same verdict without storing the log twice.
    const again = await postJson(logsUrl, { id: 'log-e2e-2', project: 'support-replies', task: 'Tone Validator', output: 'Unfortunately not.', sync: true });
    expect(again.text).toBe(res.text);
    expect(await rowsOfLog('log-e2e-2')).toHaveLength(1);
  });

  it('answers pass inline when every applied rule passes', async () => {
    const res = await postJson(logsUrl, { id: 'log-e2e-3', project: 'support-replies', output: 'Happy to help! Acme Support', confidence: 0.95, sync: true });
    expect(res.body).toEqual({
      ok: true,
      id: 'log-e2e-3',
      status: 'pass',
      verdict: {
        pass: true,
        rules: [
          { name: 'Tone Validator', triggered: false },
          { name: 'Signed', triggered: false },
          { name: 'unsure', triggered: false },
        ],
        appliedRules: [
          { ruleId: 'tone', ruleName: 'Tone Validator', ruleType: 'keyword_forbidden', ruleValue: '["sorry","unfortunately"]', scope: 'project=support-replies', outcome: 'passed' },
          { ruleId: 'signature', ruleName: 'Signed', ruleType: 'keyword_required', ruleValue: 'Acme Support', scope: 'project=support-replies', outcome: 'passed' },
          { ruleId: 'unsure', ruleName: 'unsure', ruleType: 'confidence_threshold', ruleValue: '0.6', scope: 'global', outcome: 'passed' },
        ],
      },
    });
    expect((await rowsOfLog('log-e2e-3'))[0].Verdict).toBe('pass');
  });

  it('answers pass with no rules, and stores no verdict, when no rule applies', async () => {
    const res = await postJson(logsUrl, { id: 'log-e2e-4', project: 'marketing', output: 'Sorry!', sync: true });
    expect(res.body).toEqual({ ok: true, id: 'log-e2e-4', status: 'pass', verdict: { pass: true, rules: [] } });
    const [row] = await rowsOfLog('log-e2e-4');
    expect(row.Verdict).toBe('');
    expect(row.SpanAttributes['tracehouse.findings']).toBeUndefined();
  });

  it('answers error inline when a rule could not be evaluated and none triggered', async () => {
    const res = await postJson(logsUrl, { id: 'log-e2e-6', project: 'billing', output: 'Done.', metadata: { ticket: 42 }, sync: true });
    expect(res.body).toEqual({
      ok: true,
      id: 'log-e2e-6',
      status: 'error',
      verdict: {
        pass: false,
        rules: [{ name: 'ticket-ref', triggered: false }],
        appliedRules: [{ ruleId: 'ticket-ref', ruleName: 'ticket-ref', ruleType: 'regex_required', ruleValue: '/^T-[0-9]+$/', scope: 'project=billing', outcome: 'error' }],
      },
    });
    const [row] = await rowsOfLog('log-e2e-6');
    expect(row.Verdict).toBe('error');
    expect(findingsOf(row)[0].detail).toBe('attribute metadata.ticket is an int, not a string');
  });

  it('posts the evaluation to the log’s callbackUrl once the log is stored', async () => {
    const res = await postJson(logsUrl, { id: 'log-e2e-5', project: 'support-replies', output: 'Sorry.', callbackUrl: callbacks.url, callbackEvents: 'flagged_error', sync: true });
    expect(res.body.status).toBe('flagged');
    const got = await waitFor(() => callbacks.received.find((r) => r.body.id === 'log-e2e-5'), 'the callback');
    expect(got.body).toEqual(
      expect.objectContaining({
        event: 'evaluation.completed',
        id: 'log-e2e-5',
        project: 'support-replies',
        status: 'flagged',
        appliedRules: res.body.verdict.appliedRules,
      }),
    );
  });

  it('flags a looping agent and a truncated completion across the spans of a trace', async () => {
    const trace = 'agent-run-7';
    const llm = await postJson(`${base}/api/traces`, {
      requestId: trace,
      actionName: 'plan',
      model: 'gpt-4o',
      prompt: 'Find the refund policy',
      response: 'I will search',
      metrics: { promptTokens: 12, completionTokens: 4000, finishReason: 'length' },
    });
    expect(llm.status).toBe(200);
    const call = { name: 'search', traceId: trace, arguments: { q: 'refund policy' }, result: { hits: 0 } };
    const first = await postJson(`${base}/api/ingest/tool-calls`, [call, call]);
    expect(first.status).toBe(202);
    const third = await postJson(`${base}/api/ingest/tool-calls`, call);
    expect(third.status).toBe(202);
    const traceId = third.body.traceIds[0] as string;
    const rows = await queryRows<StoredRow>(daemon, `SELECT SpanId, ParentSpanId, SpanName, Verdict, SpanAttributes FROM otel_traces WHERE TraceId = '${traceId}' ORDER BY Timestamp, SpanName`, database);
    const root = rows.find((r) => r.SpanName === 'plan');
    expect(root?.Verdict).toBe('flagged');
    expect(findingsOf(root as StoredRow).map((f) => [f.ruleId, f.outcome])).toEqual([
      ['truncated', 'triggered'],
      ['agent.context_truncated', 'triggered'],
    ]);
    const calls = rows.filter((r) => r.SpanName === 'execute_tool search');
    expect(calls).toHaveLength(3);
    const looping = calls.filter((r) => r.Verdict === 'flagged');
    expect(looping.map((r) => r.SpanId)).toEqual([third.body.ids[0]]);
    expect(findingsOf(looping[0]).map((f) => [f.ruleId, f.severity])).toEqual([['agent.execution_loop', 'high']]);
    const records = rows.filter((r) => r.SpanAttributes['tracehouse.record_type'] === 'agent_finding');
    // One trace-level record per finding, under the span that completed it.
    expect(records.map((r) => r.ParentSpanId).sort()).toEqual([root?.SpanId, third.body.ids[0]].sort());
    expect(records.map((r) => r.Verdict)).toEqual(['flagged', 'flagged']);
  });
});
