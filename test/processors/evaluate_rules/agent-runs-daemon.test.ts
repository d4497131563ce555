/**
 * Agent-run detection end to end: tool calls posted to the native receiver's tool-calls route,
 * through a real daemon with the evaluate_rules processor, into embedded ClickHouse.
 */
import { ingestPipelineYaml, postJson, queryRows, startDaemon, TEST_WORKSPACE, uniqueDatabase } from '../../support/daemon';
import type { TestDaemon } from '../../support/daemon';

interface Row {
  SpanId: string;
  ParentSpanId: string;
  SpanName: string;
  Verdict: string;
  Duration: string;
  Workspace: string;
  recordType: string;
  finding: string;
  findings: string;
}

describe('evaluate_rules agent_runs through the daemon', () => {
  const database = uniqueDatabase('agent_runs');
  let daemon: TestDaemon;
  let url: string;

  beforeAll(async () => {
    daemon = await startDaemon(
      ingestPipelineYaml({
        receivers: { native: [] },
        processors: { evaluate_rules: ['agent_runs: { loop_threshold: 3, detections: { tool_failure: { severity: high } } }'] },
        database,
      }),
    );
    url = `${daemon.receiverUrl('native')}/api/ingest/tool-calls`;
  });
  afterAll(() => daemon?.stop());

  async function rows(traceId: string): Promise<Row[]> {
    return queryRows<Row>(
      daemon,
      `SELECT SpanId, ParentSpanId, SpanName, Verdict, toString(Duration) AS Duration, Workspace,
              SpanAttributes['tracehouse.record_type'] AS recordType,
              SpanAttributes['tracehouse.finding'] AS finding,
              SpanAttributes['tracehouse.findings'] AS findings
       FROM otel_traces WHERE TraceId = '${traceId}' ORDER BY SpanName, SpanId`,
      database,
    );
  }

  /** Polls until the trace holds `count` rows (generous deadline; no timing is asserted). */
  async function rowsOnceStored(traceId: string, count: number): Promise<Row[]> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const found = await rows(traceId);
      if (found.length >= count || Date.now() > deadline) return found;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it('flags the third identical tool call and stores one loop record under it, even when the batch is replayed', async () => {
    const call = (spanId: string, args: Record<string, unknown>) => ({
      traceId: 'run_loop_7f3a',
      spanId,
      name: 'lookup_order',
      arguments: args,
      result: { status: 'in transit' },
      durationMs: 120,
    });
    const first = await postJson(url, [call('call-1', { order_id: '1042', verbose: true }), call('call-2', { verbose: true, order_id: '1042' })]);
    expect(first.status).toBe(202);
    const traceId: string = first.body.traceIds[0];

    const thirdBody = [call('call-3', { order_id: '1042', verbose: true })];
    const third = await postJson(url, thirdBody);
    expect(third.status).toBe(202);
    const thirdId: string = third.body.ids[0];
    // At-least-once delivery: the same call arrives again.
    expect((await postJson(url, thirdBody)).status).toBe(202);

    const stored = await rowsOnceStored(traceId, 4);
    const calls = stored.filter((r) => r.recordType === 'tool_call');
    expect(calls).toHaveLength(3);
    expect(calls.filter((r) => r.Verdict !== '').map((r) => r.SpanId)).toEqual([thirdId]);
    const flagged = calls.find((r) => r.SpanId === thirdId);
    expect(flagged?.Verdict).toBe('flagged');
    expect(JSON.parse(flagged?.findings ?? '[]')).toEqual([
      {
        ruleId: 'agent.execution_loop',
        ruleName: 'Agent execution loop',
        ruleType: 'execution_loop',
        ruleValue: '3',
        scope: 'trace',
        severity: 'high',
        outcome: 'triggered',
        detail: 'tool "lookup_order" called 3 times with the same arguments',
      },
    ]);

    const records = stored.filter((r) => r.recordType === 'agent_finding');
    expect(records).toEqual([
      {
        SpanId: expect.stringMatching(/^[0-9a-f]{16}$/),
        ParentSpanId: thirdId,
        SpanName: 'agent_finding execution_loop',
        Verdict: 'flagged',
        Duration: '0',
        Workspace: TEST_WORKSPACE,
        recordType: 'agent_finding',
        finding: expect.stringContaining('"ruleId":"agent.execution_loop"'),
        findings: '',
      },
    ]);
    expect(records[0].finding).not.toContain('1042');
  });

  it('flags a failing tool call and, once most calls of the trace fail, the trace', async () => {
    const failing = await postJson(url, [
      { traceId: 'run_fail_19c2', spanId: 'refund-1', name: 'issue_refund', arguments: { order_id: '77' }, error: { message: 'payment gateway timeout', type: 'TimeoutError' } },
      { traceId: 'run_fail_19c2', spanId: 'refund-2', name: 'issue_refund', arguments: { order_id: '78' }, result: { error: 'card declined' } },
      { traceId: 'run_fail_19c2', spanId: 'notify-1', name: 'notify_customer', arguments: { order_id: '77' }, result: { sent: true } },
    ]);
    expect(failing.status).toBe(202);
    const traceId: string = failing.body.traceIds[0];
    const [refund1, refund2, notify] = failing.body.ids as string[];

    const stored = await rowsOnceStored(traceId, 6);
    const verdicts = Object.fromEntries(stored.filter((r) => r.recordType === 'tool_call').map((r) => [r.SpanId, [r.Verdict, JSON.parse(r.findings || '[]').map((f: { ruleId: string }) => f.ruleId)]]));
    expect(verdicts).toEqual({
      [refund1]: ['flagged', ['agent.tool_failure']],
      [refund2]: ['flagged', ['agent.tool_failure']],
      [notify]: ['flagged', ['agent.tool_failure_rate']],
    });
    const records = stored.filter((r) => r.recordType === 'agent_finding').map((r) => [r.SpanName, r.ParentSpanId, JSON.parse(r.finding).severity]);
    expect(records.sort()).toEqual(
      [
        ['agent_finding tool_failure', refund1, 'high'],
        ['agent_finding tool_failure', refund2, 'high'],
        ['agent_finding tool_failure_rate', notify, 'high'],
      ].sort(),
    );
    expect(JSON.stringify(stored.map((r) => r.finding))).not.toContain('gateway timeout');
  });
});
