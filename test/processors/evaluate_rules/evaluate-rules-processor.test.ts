import type { SpanConsumer } from '../../../core/component';
import { ShuttingDownError } from '../../../core/errors';
import { spanKey } from '../../../core/evaluation';
import type { ConsumeResult, Finding, SpanEvaluation } from '../../../core/evaluation';
import { silentLogger } from '../../../core/logger';
import type { Span, SpanBatch } from '../../../core/span';
import { Telemetry } from '../../../core/telemetry';
import { CallbackSender } from '../../../processors/evaluate_rules/callbacks';
import { evaluateRulesProcessorFactory } from '../../../processors/evaluate_rules/factory';
import { chatSpan, httpSpan, outputSpan, TRACE_ID } from './support';

interface Harness {
  run(batch: SpanBatch): Promise<ConsumeResult | void>;
  /** What the processor handed downstream last. */
  passed(): SpanBatch;
  telemetry: Telemetry;
  shutdown(): Promise<void>;
}

function harness(config: unknown, next?: SpanConsumer): Harness {
  const telemetry = new Telemetry();
  let last: SpanBatch | undefined;
  const recording: SpanConsumer = next ?? {
    consume: async (batch) => {
      last = batch;
    },
  };
  const processor = evaluateRulesProcessorFactory.createProcessor(
    evaluateRulesProcessorFactory.configSchema.parse(config),
    { id: 'evaluate_rules', logger: silentLogger(), telemetry: telemetry.forProcessor('evaluate_rules') },
    recording,
  );
  return {
    telemetry,
    run: (batch) => processor.consume(batch, new AbortController().signal),
    passed: () => {
      if (!last) throw new Error('nothing was passed on');
      return last;
    },
    shutdown: () => processor.shutdown(),
  };
}

const rules = [
  { id: 'tone', name: 'Tone Validator', type: 'keyword_forbidden', value: ['sorry'], severity: 'high' },
  { id: 'short', type: 'max_length', value: 40, severity: 'low' },
  { id: 'unsure', type: 'confidence_threshold', value: 0.5, severity: 'critical' },
];

const findingsOf = (span: Span): Finding[] => JSON.parse(span.attributes['tracehouse.findings'] as string) as Finding[];

async function metric(telemetry: Telemetry, event: string, kind = ''): Promise<number> {
  const text = await telemetry.metricsText();
  const line = text.split('\n').find((l) => l.startsWith(`tracehouse_processor_events_total{processor="evaluate_rules",event="${event}",kind="${kind}"}`));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

describe('evaluate_rules processor', () => {
  it('records verdict, findings and severity on spans rules apply to, and nothing on the others', async () => {
    const h = harness({ rules });
    const flagged = outputSpan('So sorry about that.', { 'tracehouse.confidence': 0.9 });
    const passing = outputSpan('All good.');
    const untouched = httpSpan({ 'http.route': '/orders' });
    await h.run([flagged, passing, untouched]);
    const [a, b, c] = h.passed();
    expect(a.attributes['tracehouse.verdict']).toBe('flagged');
    expect(a.attributes['tracehouse.verdict.severity']).toBe('high');
    expect(findingsOf(a)).toEqual([
      { ruleId: 'tone', ruleName: 'Tone Validator', ruleType: 'keyword_forbidden', ruleValue: '["sorry"]', scope: 'global', severity: 'high', outcome: 'triggered', detail: 'contains the forbidden keyword' },
      { ruleId: 'short', ruleName: 'short', ruleType: 'max_length', ruleValue: '40', scope: 'global', severity: 'low', outcome: 'passed' },
      { ruleId: 'unsure', ruleName: 'unsure', ruleType: 'confidence_threshold', ruleValue: '0.5', scope: 'global', severity: 'critical', outcome: 'passed' },
    ]);
    expect(b.attributes['tracehouse.verdict']).toBe('pass');
    expect(b.attributes['tracehouse.verdict.severity']).toBeUndefined();
    expect(findingsOf(b).map((f) => [f.ruleId, f.outcome])).toEqual([
      ['tone', 'passed'],
      ['short', 'passed'],
    ]);
    expect(c).toBe(untouched);
    expect(Object.keys(c.attributes)).toEqual(['http.route']);
  });

  it('takes the gravest severity among triggered findings, and gives error when a rule erred and none triggered', async () => {
    const h = harness({ rules });
    const both = outputSpan('sorry, this reply is much longer than forty characters', { 'tracehouse.confidence': 0.1 });
    const erred = outputSpan('fine', { 'tracehouse.confidence': 'very' });
    await h.run([both, erred]);
    const [a, b] = h.passed();
    expect(a.attributes['tracehouse.verdict']).toBe('flagged');
    expect(a.attributes['tracehouse.verdict.severity']).toBe('critical');
    expect(b.attributes['tracehouse.verdict']).toBe('error');
    expect(b.attributes['tracehouse.verdict.severity']).toBeUndefined();
    expect(findingsOf(b).find((f) => f.ruleId === 'unsure')).toEqual(expect.objectContaining({ outcome: 'error', detail: 'attribute tracehouse.confidence is a string, not a number' }));
    expect(await metric(h.telemetry, 'verdict', 'flagged')).toBe(1);
    expect(await metric(h.telemetry, 'verdict', 'error')).toBe(1);
    expect(await metric(h.telemetry, 'rule_error')).toBe(1);
  });

  it('replaces a verdict an earlier evaluation left, including a severity that no longer holds', async () => {
    const h = harness({ rules });
    const stale = outputSpan('All good.', { 'tracehouse.verdict': 'flagged', 'tracehouse.verdict.severity': 'critical', 'tracehouse.findings': '[]' });
    await h.run([stale]);
    const [out] = h.passed();
    expect(out.attributes['tracehouse.verdict']).toBe('pass');
    expect('tracehouse.verdict.severity' in out.attributes).toBe(false);
    expect(findingsOf(out)).toHaveLength(2);
  });

  it('never modifies the batch it was given, and passes it on as it is when no rule applies', async () => {
    const h = harness({ rules });
    const span = outputSpan('sorry');
    const before = JSON.stringify(span.attributes);
    const batch = Object.freeze([span, httpSpan()]);
    await h.run(batch);
    expect(JSON.stringify(span.attributes)).toBe(before);
    expect(h.passed()).not.toBe(batch);
    expect(h.passed()[1]).toBe(batch[1]);
    const plain = Object.freeze([httpSpan(), httpSpan()]);
    await h.run(plain);
    expect(h.passed()).toBe(plain);
  });

  it('resolves with the evaluation of every evaluated span, merged with what downstream resolved with', async () => {
    const downstreamKey = spanKey(TRACE_ID, 'ffffffffffffffff');
    const downstream: SpanEvaluation = { verdict: 'pass', findings: [] };
    const h = harness({ rules }, { consume: async () => ({ evaluations: new Map([[downstreamKey, downstream]]) }) });
    const flagged = outputSpan('sorry');
    const plain = httpSpan();
    const result = await h.run([flagged, plain]);
    const evaluations = (result as ConsumeResult).evaluations;
    expect([...(evaluations?.keys() ?? [])].sort()).toEqual([downstreamKey, spanKey(flagged.traceId, flagged.spanId)].sort());
    const mine = evaluations?.get(spanKey(flagged.traceId, flagged.spanId));
    expect(mine?.verdict).toBe('flagged');
    expect(mine?.findings.map((f) => f.ruleId)).toEqual(['tone', 'short']);
    expect(evaluations?.get(spanKey(plain.traceId, plain.spanId))).toBeUndefined();
  });

  it('joins agent-run findings to the span that completed the pattern and appends the trace-level record', async () => {
    const h = harness({ rules: [{ id: 'slow', type: 'latency_threshold_ms', value: 60000 }] });
    const call = () => chatSpan({ 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'search', 'gen_ai.tool.call.arguments': '{"q":"refund policy"}' });
    const calls = [call(), call(), call()];
    const result = (await h.run(calls)) as ConsumeResult;
    const out = h.passed();
    expect(out).toHaveLength(4);
    const third = out[2];
    expect(third.attributes['tracehouse.verdict']).toBe('flagged');
    expect(third.attributes['tracehouse.verdict.severity']).toBe('high');
    expect(findingsOf(third).map((f) => [f.ruleId, f.outcome])).toEqual([
      ['slow', 'passed'],
      ['agent.execution_loop', 'triggered'],
    ]);
    expect(out[0].attributes['tracehouse.verdict']).toBe('pass');
    const record = out[3];
    expect(record.traceId).toBe(TRACE_ID);
    expect(record.parentSpanId).toBe(third.spanId);
    expect(record.attributes['tracehouse.record_type']).toBe('agent_finding');
    expect(result.evaluations?.get(spanKey(third.traceId, third.spanId))?.verdict).toBe('flagged');
  });

  it('hands each evaluated span to the callback sender only after downstream resolved, and never when it failed', async () => {
    const send = jest.spyOn(CallbackSender.prototype, 'send');
    try {
      const events: string[] = [];
      send.mockImplementation((span: Span, evaluation: SpanEvaluation) => {
        events.push(`callback ${span.attributes['tracehouse.log_id'] as string} ${evaluation.verdict}`);
      });
      let fail = false;
      const h = harness(
        { rules },
        {
          consume: async () => {
            events.push('downstream called');
            await new Promise((resolve) => setImmediate(resolve));
            if (fail) throw new Error('ClickHouse is down');
            events.push('downstream resolved');
          },
        },
      );
      await h.run([outputSpan('sorry', { 'tracehouse.log_id': 'log-1', 'tracehouse.callback.url': 'http://127.0.0.1:1/cb' }), httpSpan(), outputSpan('ok', { 'tracehouse.log_id': 'log-2' })]);
      expect(events).toEqual(['downstream called', 'downstream resolved', 'callback log-1 flagged', 'callback log-2 pass']);
      // The sender got the span as stored, verdict included.
      const [span] = send.mock.calls[0];
      expect(span.attributes['tracehouse.verdict']).toBe('flagged');
      events.length = 0;
      fail = true;
      await expect(h.run([outputSpan('sorry', { 'tracehouse.log_id': 'log-3' })])).rejects.toThrow('ClickHouse is down');
      expect(events).toEqual(['downstream called']);
      // A sender that throws does not fail the batch it was told about.
      fail = false;
      send.mockImplementation(() => {
        throw new Error('bug');
      });
      await expect(h.run([outputSpan('sorry')])).resolves.toBeDefined();
    } finally {
      send.mockRestore();
    }
  });

  it('refuses batches after shutdown, and shuts down twice', async () => {
    const h = harness({ rules });
    await h.shutdown();
    await h.shutdown();
    await expect(h.run([outputSpan('x')])).rejects.toBeInstanceOf(ShuttingDownError);
  });
});
