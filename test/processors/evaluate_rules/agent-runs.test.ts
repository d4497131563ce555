/** Agent-run detection over realistic multi-span traces, batch by batch. */
import { createHash } from 'node:crypto';
import { spanKey as traceSpanKey } from '../../../core/evaluation';
import type { Finding } from '../../../core/evaluation';
import type { Span } from '../../../core/span';
import { AgentRunDetector, agentRunsConfigSchema } from '../../../processors/evaluate_rules/agent-runs';
import type { AgentRunInspection } from '../../../processors/evaluate_rules/agent-runs';
import { agentSpan, chatSpan, newTraceId, spanId, toolSpan } from './agent-runs-support';

/** Where a span's findings are: its workspace (the support spans' "acme"), trace and span. */
function spanKey(traceId: string, spanId: string, workspace = 'acme'): string {
  return `${workspace}\u0000${traceSpanKey(traceId, spanId)}`;
}

function detector(config: unknown = {}, now?: () => number): AgentRunDetector {
  return new AgentRunDetector(agentRunsConfigSchema.parse(config), now);
}

/** Every finding of an inspection, with the span it landed on. */
function allFindings(inspection: AgentRunInspection): { key: string; finding: Finding }[] {
  return [...inspection.findings].flatMap(([key, findings]) => findings.map((finding) => ({ key, finding })));
}

function recordFinding(record: Span): Finding {
  return JSON.parse(record.attributes['tracehouse.finding'] as string) as Finding;
}

describe('configuration', () => {
  test('an absent or empty agent_runs block parses to exactly the documented defaults', () => {
    const defaults = {
      enabled: true,
      max_traces: 10_000,
      trace_window_seconds: 3600,
      max_spans_per_trace: 1000,
      max_tracked_spans: 250_000,
      loop_threshold: 3,
      min_tool_calls: 3,
      tool_failure_rate: 0.5,
      context_fraction: 0.9,
      detections: {
        execution_loop: { enabled: true, severity: 'high' },
        tool_failure: { enabled: true, severity: 'medium' },
        tool_failure_rate: { enabled: true, severity: 'high' },
        context_truncated: { enabled: true, severity: 'medium' },
        context_window: { enabled: true, severity: 'medium' },
      },
    };
    expect(agentRunsConfigSchema.parse(undefined)).toStrictEqual(defaults);
    expect(agentRunsConfigSchema.parse({})).toStrictEqual(defaults);
    expect(agentRunsConfigSchema.parse({ detections: { tool_failure: { severity: 'critical' } } }).detections).toStrictEqual({
      ...defaults.detections,
      tool_failure: { enabled: true, severity: 'critical' },
    });
  });

  test('unknown keys, out-of-range thresholds and a budget too small for one trace are refused', () => {
    expect(agentRunsConfigSchema.safeParse({ loop_treshold: 3 }).success).toBe(false);
    expect(agentRunsConfigSchema.safeParse({ detections: { loops: { enabled: false } } }).success).toBe(false);
    expect(agentRunsConfigSchema.safeParse({ loop_threshold: 1 }).success).toBe(false);
    expect(agentRunsConfigSchema.safeParse({ tool_failure_rate: 1.5 }).success).toBe(false);
    expect(agentRunsConfigSchema.safeParse({ context_fraction: 0 }).success).toBe(false);
    expect(agentRunsConfigSchema.safeParse({ detections: { context_window: { severity: 'urgent' } } }).success).toBe(false);
    const tooSmall = agentRunsConfigSchema.safeParse({ max_spans_per_trace: 100, max_tracked_spans: 300 });
    expect(tooSmall.success).toBe(false);
    expect(tooSmall.error?.issues[0].path).toEqual(['max_tracked_spans']);
  });
});

describe('execution loops', () => {
  test('the same tool with the same arguments three times across two batches: one finding on the third call, one record', () => {
    const d = detector();
    const trace = newTraceId();
    const first = d.inspect([
      agentSpan(trace, 1, 'Where is order 1042?'),
      chatSpan(trace, 2),
      toolSpan(trace, 3, 'lookup_order', '{"order_id": "1042", "include": ["items"]}'),
      chatSpan(trace, 4, { question: 'Where is order 1042? (retry)' }),
      // The same call with its keys in another order and other whitespace.
      toolSpan(trace, 5, 'lookup_order', '{"include":["items"],"order_id":"1042"}'),
      // Same tool, other arguments: a different call.
      toolSpan(trace, 6, 'lookup_order', '{"order_id": "1043", "include": ["items"]}'),
    ]);
    expect(first.findings.size).toBe(0);
    expect(first.records).toEqual([]);

    const third = toolSpan(trace, 8, 'lookup_order', '{ "order_id": "1042", "include": [ "items" ] }');
    const second = d.inspect([chatSpan(trace, 7, { question: 'Where is order 1042? (again)' }), third]);
    expect(allFindings(second)).toEqual([
      {
        key: spanKey(trace, spanId(trace, 8)),
        finding: {
          ruleId: 'agent.execution_loop',
          ruleName: 'Agent execution loop',
          ruleType: 'execution_loop',
          ruleValue: '3',
          scope: 'trace',
          severity: 'high',
          outcome: 'triggered',
          detail: 'tool "lookup_order" called 3 times with the same arguments',
        },
      },
    ]);

    expect(second.records).toHaveLength(1);
    const [record] = second.records;
    expect(record.traceId).toBe(trace);
    expect(record.parentSpanId).toBe(third.spanId);
    expect(record.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(record.spanId).not.toBe(third.spanId);
    expect(record.name).toBe('agent_finding execution_loop');
    expect(record.startTimeUnixNano).toBe(third.endTimeUnixNano);
    expect(record.endTimeUnixNano).toBe(record.startTimeUnixNano);
    expect(record.resource).toBe(third.resource);
    expect(record.attributes).toMatchObject({
      'tracehouse.record_type': 'agent_finding',
      'tracehouse.verdict': 'flagged',
      'tracehouse.workspace': 'acme',
      'tracehouse.project': 'support-bot',
      'tracehouse.finding.rule_id': 'agent.execution_loop',
      'tracehouse.finding.severity': 'high',
    });
    expect(recordFinding(record)).toEqual(second.findings.get(spanKey(trace, third.spanId))?.[0]);
    // No payload: neither the arguments nor the conversation reach the finding or its record.
    expect(JSON.stringify(record.attributes)).not.toContain('1042');

    // Fires once per pattern: a fourth and fifth identical call add nothing.
    const later = d.inspect([
      toolSpan(trace, 9, 'lookup_order', '{"order_id":"1042","include":["items"]}'),
      toolSpan(trace, 10, 'lookup_order', '{"order_id":"1042","include":["items"]}'),
    ]);
    expect(later.findings.size).toBe(0);
    expect(later.records).toEqual([]);
  });

  test('spans out of order: the pattern completes on whichever call arrives third', () => {
    const d = detector();
    const trace = newTraceId();
    expect(d.inspect([toolSpan(trace, 7, 'search_kb', '{"q":"refund policy"}')]).findings.size).toBe(0);
    expect(d.inspect([toolSpan(trace, 3, 'search_kb', '{"q":"refund policy"}')]).findings.size).toBe(0);
    const last = d.inspect([toolSpan(trace, 5, 'search_kb', '{"q":"refund policy"}')]);
    expect([...last.findings.keys()]).toEqual([spanKey(trace, spanId(trace, 5))]);
  });

  test('the same model input three times is a loop; another model or an agent span repeating it is not', () => {
    const d = detector();
    const trace = newTraceId();
    const batch = d.inspect([
      agentSpan(trace, 1, 'Where is order 1042?'),
      chatSpan(trace, 2),
      toolSpan(trace, 3, 'lookup_order', '{"order_id":"1042"}', { result: '{"error":"upstream timeout"}' }),
      chatSpan(trace, 4),
      // The same conversation sent to a fallback model is another request.
      chatSpan(trace, 5, { model: 'claude-sonnet-4-5' }),
      agentSpan(trace, 6, 'Where is order 1042?'),
    ]);
    expect(allFindings(batch).filter((f) => f.finding.ruleType === 'execution_loop')).toEqual([]);

    const third = d.inspect([chatSpan(trace, 7)]);
    expect(allFindings(third)).toEqual([
      {
        key: spanKey(trace, spanId(trace, 7)),
        finding: expect.objectContaining({ ruleId: 'agent.execution_loop', detail: 'the same model input sent 3 times', severity: 'high' }),
      },
    ]);
    expect(third.records.map((r) => r.parentSpanId)).toEqual([spanId(trace, 7)]);
    expect(third.records[0].attributes['tracehouse.finding']).not.toContain('order');
  });

  test('a replayed batch is not counted again, and replaying the completing span repeats its finding with the same record id', () => {
    const d = detector();
    const trace = newTraceId();
    const firstBatch = [toolSpan(trace, 2, 'send_email', '{"to":"ops"}'), toolSpan(trace, 3, 'send_email', '{"to":"ops"}')];
    d.inspect(firstBatch);
    // At-least-once delivery sends the same batch again: still two calls, no loop.
    expect(d.inspect(firstBatch).findings.size).toBe(0);
    expect(d.inspect([...firstBatch]).records).toEqual([]);

    const thirdBatch = [toolSpan(trace, 4, 'send_email', '{"to":"ops"}')];
    const third = d.inspect(thirdBatch);
    expect(third.records).toHaveLength(1);

    const replay = d.inspect(thirdBatch);
    expect(allFindings(replay)).toEqual(allFindings(third));
    expect(replay.records.map((r) => r.spanId)).toEqual(third.records.map((r) => r.spanId));
    expect(replay.records).toEqual(third.records);

    // A genuinely new call after the replays is the fourth, not a new pattern completion.
    expect(d.inspect([toolSpan(trace, 5, 'send_email', '{"to":"ops"}')]).findings.size).toBe(0);
  });

  test('a loop record keeps the id stored rows have: from SHA-256 of the pattern, whatever the in-memory key', () => {
    const sha = (parts: string[]) => {
      const hash = createHash('sha256');
      for (const part of parts) hash.update(part, 'utf8').update('\u0000');
      return hash;
    };
    const recordId = (trace: string, pattern: string[]) =>
      sha(['span', 'acme', trace, `agent_finding\u0000agent.execution_loop\u0000${sha(pattern).digest('base64url').slice(0, 16)}`]).digest('hex').slice(0, 16);
    const d = detector();
    const tools = newTraceId();
    const toolLoop = d.inspect([2, 3, 4].map((n) => toolSpan(tools, n, 'send_email', '{ "to": "ops" }')));
    expect(toolLoop.records.map((r) => r.spanId)).toEqual([recordId(tools, ['tool', 'send_email', '{"to":"ops"}'])]);
    const chats = newTraceId();
    const chat = chatSpan(chats, 2);
    const modelLoop = d.inspect([chat, chatSpan(chats, 3), chatSpan(chats, 4)]);
    expect(modelLoop.records.map((r) => r.spanId)).toEqual([recordId(chats, ['model', 'gpt-4o', chat.attributes['gen_ai.input.messages'] as string, ''])]);
  });

  test('the same span twice in one batch counts once', () => {
    const d = detector();
    const trace = newTraceId();
    const call = toolSpan(trace, 2, 'fetch', '{"url":"https://status.example"}');
    expect(d.inspect([call, call, call]).findings.size).toBe(0);
  });

  test('a loop threshold of 2 fires on the second call', () => {
    const d = detector({ loop_threshold: 2 });
    const trace = newTraceId();
    const out = d.inspect([toolSpan(trace, 2, 'fetch', '{}'), toolSpan(trace, 3, 'fetch', '{}')]);
    expect([...out.findings.keys()]).toEqual([spanKey(trace, spanId(trace, 3))]);
    expect(out.findings.get(spanKey(trace, spanId(trace, 3)))?.[0].ruleValue).toBe('2');
  });
});

describe('tool failures', () => {
  test('a tool span with error status, or a JSON result with an error, is a failure on that span', () => {
    const d = detector({ detections: { tool_failure_rate: { enabled: false } } });
    const trace = newTraceId();
    const out = d.inspect([
      agentSpan(trace, 1, 'Refund order 1042'),
      toolSpan(trace, 2, 'issue_refund', '{"order_id":"1042"}', { status: 'error', result: '' }),
      toolSpan(trace, 3, 'lookup_order', '{"order_id":"1042"}', { result: '{"error":{"code":503,"message":"upstream down"}}' }),
      // An error key that is null is a success, and so is a result that is not a JSON object.
      toolSpan(trace, 4, 'lookup_order', '{"order_id":"1043"}', { result: '{"error":null,"status":"shipped"}' }),
      toolSpan(trace, 5, 'summarize', '{"text":"x"}', { result: 'error: none of the above' }),
      // An error status on a span that is not a tool call is not a tool failure.
      chatSpan(trace, 6, { status: 'error' }),
    ]);
    expect(allFindings(out)).toEqual([
      {
        key: spanKey(trace, spanId(trace, 2)),
        finding: {
          ruleId: 'agent.tool_failure',
          ruleName: 'Agent tool failure',
          ruleType: 'tool_failure',
          ruleValue: 'error',
          scope: 'trace',
          severity: 'medium',
          outcome: 'triggered',
          detail: 'tool "issue_refund" failed (error status)',
        },
      },
      {
        key: spanKey(trace, spanId(trace, 3)),
        finding: expect.objectContaining({ ruleId: 'agent.tool_failure', detail: 'tool "lookup_order" failed (error result)' }),
      },
    ]);
    expect(out.records.map((r) => [r.parentSpanId, r.name])).toEqual([
      [spanId(trace, 2), 'agent_finding tool_failure'],
      [spanId(trace, 3), 'agent_finding tool_failure'],
    ]);
    expect(new Set(out.records.map((r) => r.spanId)).size).toBe(2);
    expect(JSON.stringify(out.records.map((r) => r.attributes))).not.toContain('upstream down');
  });

  test('tool_call records of the native API count as tool calls', () => {
    const d = detector();
    const trace = newTraceId();
    const native = toolSpan(trace, 2, 'get_weather', '{"city":"Oslo"}', {
      status: 'error',
      attributes: { 'gen_ai.operation.name': 'execute_tool', 'tracehouse.record_type': 'tool_call', 'error.type': 'TimeoutError' },
    });
    expect(d.inspect([native]).findings.get(spanKey(trace, native.spanId))?.map((f) => f.ruleId)).toEqual(['agent.tool_failure']);
  });

  test('a trace whose tool calls mostly fail is flagged once, on the call that tips the rate', () => {
    const d = detector();
    const trace = newTraceId();
    const first = d.inspect([
      agentSpan(trace, 1, 'Reconcile invoices'),
      toolSpan(trace, 2, 'read_ledger', '{"month":"2026-10"}', { status: 'error' }),
      toolSpan(trace, 3, 'read_ledger', '{"month":"2026-09"}', { result: '{"error":"permission denied"}' }),
    ]);
    expect(allFindings(first).map((f) => f.finding.ruleId)).toEqual(['agent.tool_failure', 'agent.tool_failure']);

    // The third call succeeds, but 2 of 3 calls have failed: the trace reaches the rate here.
    const tipping = d.inspect([toolSpan(trace, 4, 'read_invoices', '{"month":"2026-10"}')]);
    expect(allFindings(tipping)).toEqual([
      {
        key: spanKey(trace, spanId(trace, 4)),
        finding: {
          ruleId: 'agent.tool_failure_rate',
          ruleName: 'Agent tool failure rate',
          ruleType: 'tool_failure_rate',
          ruleValue: '0.5',
          scope: 'trace',
          severity: 'high',
          outcome: 'triggered',
          detail: '2 of 3 tool calls failed (67%)',
        },
      },
    ]);
    expect(tipping.records.map((r) => r.name)).toEqual(['agent_finding tool_failure_rate']);

    const more = d.inspect([toolSpan(trace, 5, 'read_ledger', '{"month":"2026-08"}', { status: 'error' })]);
    expect(allFindings(more).map((f) => f.finding.ruleId)).toEqual(['agent.tool_failure']);
  });

  test('a trace below the minimum calls or below the rate is not flagged', () => {
    const d = detector({ detections: { tool_failure: { enabled: false } } });
    const few = newTraceId();
    expect(d.inspect([toolSpan(few, 2, 'a', '{}', { status: 'error' }), toolSpan(few, 3, 'b', '{}', { status: 'error' })]).findings.size).toBe(0);
    const healthy = newTraceId();
    const calls = [2, 3, 4, 5].map((n) => toolSpan(healthy, n, `t${n}`, '{}', { status: n === 2 ? 'error' : 'ok' }));
    expect(d.inspect(calls).findings.size).toBe(0);
  });
});

describe('context failures', () => {
  test('a completion that stopped at its token limit is truncated', () => {
    const d = detector();
    const trace = newTraceId();
    const out = d.inspect([
      chatSpan(trace, 2, { finishReasons: ['length'] }),
      chatSpan(trace, 3, { finishReasons: ['stop'], question: 'other' }),
      // Anthropic's stop reason for the same thing.
      chatSpan(trace, 4, { model: 'claude-haiku-4-5', finishReasons: ['max_tokens'], question: 'third' }),
    ]);
    expect(allFindings(out)).toEqual([
      {
        key: spanKey(trace, spanId(trace, 2)),
        finding: {
          ruleId: 'agent.context_truncated',
          ruleName: 'Agent completion truncated',
          ruleType: 'context_truncated',
          ruleValue: 'length',
          scope: 'trace',
          severity: 'medium',
          outcome: 'triggered',
          detail: 'the completion stopped at its token limit (finish reason length)',
        },
      },
      { key: spanKey(trace, spanId(trace, 4)), finding: expect.objectContaining({ ruleId: 'agent.context_truncated' }) },
    ]);
    expect(out.records.map((r) => r.name)).toEqual(['agent_finding context_truncated', 'agent_finding context_truncated']);
  });

  test('input tokens at 90% of the model context window are flagged; gpt-4o at 120000 of 128000', () => {
    const d = detector();
    const trace = newTraceId();
    const out = d.inspect([
      chatSpan(trace, 2, { inputTokens: 120_000n }),
      chatSpan(trace, 3, { inputTokens: 100_000n, question: 'b' }),
      // A gateway's provider path and a dated snapshot name the same model.
      chatSpan(trace, 4, { model: 'openai/gpt-4o-2024-08-06', inputTokens: 116_000n, question: 'c' }),
    ]);
    expect(allFindings(out)).toEqual([
      {
        key: spanKey(trace, spanId(trace, 2)),
        finding: {
          ruleId: 'agent.context_window',
          ruleName: 'Agent context window nearly full',
          ruleType: 'context_window',
          ruleValue: '0.9',
          scope: 'trace',
          severity: 'medium',
          outcome: 'triggered',
          detail: '120000 input tokens, 94% of the 128000-token context window of gpt-4o',
        },
      },
      { key: spanKey(trace, spanId(trace, 4)), finding: expect.objectContaining({ ruleId: 'agent.context_window' }) },
    ]);
  });

  test('a model missing from the table, or a span without a model, gets no context-window finding', () => {
    const d = detector();
    const trace = newTraceId();
    const out = d.inspect([
      chatSpan(trace, 2, { model: 'acme-finetune-v7', inputTokens: 9_000_000n }),
      chatSpan(trace, 3, { model: 'gpt-4.7-preview', inputTokens: 9_000_000n, question: 'b' }),
      // An agent span sums the usage of its whole run: it is no model call.
      agentSpan(trace, 1, 'long task'),
    ]);
    expect(out.findings.size).toBe(0);
  });

  test('the fraction and severity follow the configuration; disabled detections stay silent', () => {
    const strict = detector({ context_fraction: 0.5, detections: { context_window: { severity: 'critical' } } });
    const trace = newTraceId();
    const found = strict.inspect([chatSpan(trace, 2, { inputTokens: 70_000n })]).findings.get(spanKey(trace, spanId(trace, 2)));
    expect(found?.map((f) => [f.ruleId, f.severity, f.ruleValue])).toEqual([['agent.context_window', 'critical', '0.5']]);

    const off = detector({
      detections: {
        context_window: { enabled: false },
        context_truncated: { enabled: false },
        tool_failure: { enabled: false },
        tool_failure_rate: { enabled: false },
        execution_loop: { enabled: false },
      },
    });
    const quiet = newTraceId();
    const noisy = [
      chatSpan(quiet, 2, { inputTokens: 127_000n, finishReasons: ['length'] }),
      ...[3, 4, 5].map((n) => toolSpan(quiet, n, 'x', '{}', { status: 'error' })),
    ];
    expect(off.inspect(noisy).findings.size).toBe(0);
    expect(off.tracesTracked).toBe(0);
    const allOff = detector({ enabled: false });
    expect(allOff.inspect(noisy)).toEqual({ findings: new Map(), records: [] });
  });
});

describe('tenants', () => {
  // The workspace is what the receiver stamped: on the span, or on the resource by an upstream tier.
  const inWorkspace = (span: Span, workspace: string): Span => ({ ...span, attributes: { ...span.attributes, 'tracehouse.workspace': workspace } });

  test('two workspaces using the same trace id keep separate loop counts', () => {
    const d = detector();
    const trace = newTraceId();
    const call = (n: number, workspace: string) => inWorkspace(toolSpan(trace, n, 'lookup_order', '{"order_id":"1042"}'), workspace);
    // Two calls each: shared state would reach the threshold of 3 on the third call overall.
    expect(d.inspect([call(2, 'acme'), call(3, 'acme')]).findings.size).toBe(0);
    expect(d.inspect([call(4, 'globex'), call(5, 'globex')]).findings.size).toBe(0);
    const third = d.inspect([call(6, 'globex')]);
    expect([...third.findings.keys()]).toEqual([spanKey(trace, spanId(trace, 6), 'globex')]);
    expect(third.records.map((r) => r.attributes['tracehouse.workspace'])).toEqual(['globex']);
    expect(d.tracesTracked).toBe(2);
  });

  test('the same span ids in two workspaces are two spans: neither replays the other\'s findings', () => {
    const d = detector();
    const trace = newTraceId();
    const failing = (n: number) => toolSpan(trace, n, 'charge_card', `{"n":${n}}`, { status: 'error' });
    const calls = [2, 3, 4].map(failing);
    // acme: three failing calls, the tool failure rate fires on the third.
    const acme = d.inspect(calls.map((s) => inWorkspace(s, 'acme')));
    expect(allFindings(acme).map((f) => f.finding.ruleId)).toContain('agent.tool_failure_rate');
    // globex sends the very same ids in one batch with acme's: each gets only its own findings.
    const mixed = d.inspect([inWorkspace(calls[0], 'globex'), inWorkspace(calls[2], 'acme')]);
    const globexFindings = mixed.findings.get(spanKey(trace, calls[0].spanId, 'globex'))?.map((f) => f.ruleId);
    expect(globexFindings).toEqual(['agent.tool_failure']);
    // acme's replayed span gets its first findings again (rate included); globex's did not.
    expect(mixed.findings.get(spanKey(trace, calls[2].spanId, 'acme'))?.map((f) => f.ruleId)).toContain('agent.tool_failure_rate');
  });
});

describe('bounded state', () => {
  test('with max_traces 2, a third trace evicts the least recently active one, whose counts are forgotten', () => {
    const d = detector({ max_traces: 2 });
    const [a, b, c] = [newTraceId(), newTraceId(), newTraceId()];
    d.inspect([toolSpan(a, 2, 'poll', '{"job":7}'), toolSpan(a, 3, 'poll', '{"job":7}')]);
    d.inspect([toolSpan(b, 2, 'poll', '{"job":7}')]);
    expect(d.tracesTracked).toBe(2);
    d.inspect([toolSpan(c, 2, 'poll', '{"job":7}')]);
    expect(d.tracesTracked).toBe(2);
    expect(d.stats.tracesEvicted).toBe(1);
    // Trace a starts over: this is its first counted call, not its third.
    expect(d.inspect([toolSpan(a, 4, 'poll', '{"job":7}')]).findings.size).toBe(0);
    // b was evicted by a's return; c is still tracked and counts on.
    expect(d.inspect([toolSpan(c, 3, 'poll', '{"job":7}'), toolSpan(c, 4, 'poll', '{"job":7}')]).findings.size).toBe(1);
  });

  test('the total budget evicts whole traces too', () => {
    const d = detector({ max_spans_per_trace: 2, max_tracked_spans: 20 });
    for (let i = 0; i < 10; i++) {
      const trace = newTraceId();
      d.inspect([toolSpan(trace, 2, 'a', '{}'), toolSpan(trace, 3, 'b', '{}')]);
    }
    expect(d.tracesTracked).toBeLessThanOrEqual(4);
    expect(d.stats.tracesEvicted).toBeGreaterThanOrEqual(6);
  });

  test('a trace past max_spans_per_trace stops counting new spans (and says so)', () => {
    const d = detector({ max_spans_per_trace: 3 });
    const trace = newTraceId();
    d.inspect([toolSpan(trace, 2, 'a', '{}'), toolSpan(trace, 3, 'b', '{}'), toolSpan(trace, 4, 'c', '{}')]);
    const out = d.inspect([toolSpan(trace, 5, 'a', '{}'), toolSpan(trace, 6, 'a', '{}')]);
    expect(out.findings.size).toBe(0);
    expect(d.stats.spansUntracked).toBe(2);
  });

  test('a trace quiet for trace_window_seconds is forgotten', () => {
    let clock = 1_000_000;
    const d = detector({ trace_window_seconds: 60 }, () => clock);
    const trace = newTraceId();
    d.inspect([toolSpan(trace, 2, 'poll', '{}'), toolSpan(trace, 3, 'poll', '{}')]);
    expect(d.tracesTracked).toBe(1);
    clock += 59_000;
    // Activity keeps the trace: the window runs from its last span.
    d.inspect([toolSpan(trace, 4, 'other', '{}')]);
    clock += 59_000;
    expect(d.tracesTracked).toBe(1);
    clock += 2_000;
    expect(d.tracesTracked).toBe(0);
    expect(d.inspect([toolSpan(trace, 5, 'poll', '{}')]).findings.size).toBe(0);
  });
});

test('the batch is left as it was', () => {
  const d = detector();
  const trace = newTraceId();
  const batch = [1, 2, 3].map((n) => toolSpan(trace, n + 1, 'lookup', '{"id":1}', { status: 'error' }));
  const before = structuredClone(batch);
  for (const s of batch) Object.freeze(s.attributes);
  const out = d.inspect(Object.freeze(batch));
  expect(out.records.length).toBeGreaterThan(0);
  expect(batch).toEqual(before);
});
