import { createHmac } from 'node:crypto';
import pino from 'pino';
import type { Finding, SpanEvaluation, Verdict } from '../../../core/evaluation';
import { makeSpan, type Attributes, type Span } from '../../../core/span';
import type { ProcessorTelemetry } from '../../../core/telemetry';
import { CallbackSender, callbacksConfigSchema, type CallbacksConfig } from '../../../processors/evaluate_rules/callbacks';
import { LocalReceiver, waitFor } from '../../core/outbound/local-receiver';

const SECRET = 'cb_signing_secret_5f2e81';
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

const KEYWORD: Finding = {
  ruleId: 'no-refunds',
  ruleName: 'Never promise refunds',
  ruleType: 'keyword',
  ruleValue: 'refund',
  scope: 'project:support-replies',
  severity: 'high',
  outcome: 'triggered',
  detail: 'keyword found in the output',
};
const LENGTH: Finding = {
  ruleId: 'short',
  ruleName: 'Short answers',
  ruleType: 'max_length',
  ruleValue: '2000',
  scope: 'global',
  severity: 'low',
  outcome: 'passed',
};
const SCHEMA_ERROR: Finding = { ...LENGTH, ruleId: 'schema', ruleName: 'Output schema', ruleType: 'json_schema', ruleValue: '{"type":"object"}', outcome: 'error', detail: 'output is not JSON' };

const evaluation = (verdict: Verdict): SpanEvaluation => ({
  verdict,
  findings: verdict === 'flagged' ? [LENGTH, KEYWORD] : verdict === 'error' ? [LENGTH, SCHEMA_ERROR] : [LENGTH],
});

let spanCounter = 0;
function logSpan(attributes: Attributes): Span {
  spanCounter++;
  return makeSpan({
    traceId: TRACE_ID,
    spanId: spanCounter.toString(16).padStart(16, '0'),
    name: 'reply',
    startTimeUnixNano: 1_767_225_600_123_000_000n,
    attributes: {
      'tracehouse.record_type': 'log',
      'tracehouse.log_id': `log-${spanCounter}`,
      'tracehouse.project': 'support-replies',
      'tracehouse.task': 'reply',
      ...attributes,
    },
  });
}

interface Harness {
  sender: CallbackSender;
  events: Map<string, number>;
  logLines: Record<string, unknown>[];
  count(kind: string): number;
}

function harness(overrides: Record<string, unknown> = {}): Harness {
  const config: CallbacksConfig = callbacksConfigSchema.parse({ allow_private_addresses: true, initial_backoff_ms: 1, max_backoff_ms: 5, ...overrides });
  const events = new Map<string, number>();
  const telemetry: ProcessorTelemetry = {
    dropped: () => undefined,
    event: (event, count, kind = '') => events.set(`${event}:${kind}`, (events.get(`${event}:${kind}`) ?? 0) + count),
  };
  const logLines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => logLines.push(JSON.parse(line) as Record<string, unknown>) });
  const sender = new CallbackSender(config, { logger, telemetry });
  return { sender, events, logLines, count: (kind) => events.get(`callback:${kind}`) ?? 0 };
}

describe('evaluate_rules callbacks', () => {
  let receiver: LocalReceiver;
  let current: Harness | undefined;
  beforeEach(async () => {
    receiver = await LocalReceiver.start();
  });
  afterEach(async () => {
    await current?.sender.shutdown();
    current = undefined;
    await receiver.stop();
  });

  it('configures enabled, unsigned, with the outbound defaults, and refuses unknown options', () => {
    expect(callbacksConfigSchema.parse(undefined)).toEqual({
      enabled: true,
      allow_private_addresses: false,
      timeout_ms: 10_000,
      max_attempts: 5,
      initial_backoff_ms: 500,
      max_backoff_ms: 60_000,
      max_pending: 10_000,
    });
    expect(callbacksConfigSchema.parse({ signing_secret: SECRET, max_attempts: 2 })).toMatchObject({ signing_secret: SECRET, max_attempts: 2 });
    expect(() => callbacksConfigSchema.parse({ url: 'http://example.com' })).toThrow();
    expect(() => callbacksConfigSchema.parse({ initial_backoff_ms: 100, max_backoff_ms: 10 })).toThrow();
  });

  it('POSTs the signed evaluation result to the callback URL', async () => {
    current = harness({ signing_secret: SECRET });
    const span = logSpan({ 'tracehouse.callback.url': receiver.url('/callbacks/tracehouse') });
    current.sender.send(span, evaluation('flagged'));
    await waitFor(() => current!.count('delivered') === 1, 'the callback');

    expect(receiver.requests).toHaveLength(1);
    const [req] = receiver.requests;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/callbacks/tracehouse');
    expect(req.headers['content-type']).toBe('application/json');
    const timestamp = String(req.headers['x-tracehouse-timestamp']);
    const expected = createHmac('sha256', SECRET).update(`${timestamp}.${req.body}`).digest('hex');
    expect(req.headers['x-tracehouse-signature']).toBe(`v1=${expected}`);

    expect(JSON.parse(req.body)).toEqual({
      event: 'evaluation.completed',
      id: span.attributes['tracehouse.log_id'],
      traceId: TRACE_ID,
      spanId: span.spanId,
      project: 'support-replies',
      task: 'reply',
      status: 'flagged',
      verdict: 'flagged',
      appliedRules: [
        { ruleId: 'short', ruleName: 'Short answers', ruleType: 'max_length', ruleValue: '2000', scope: 'global', outcome: 'passed' },
        { ruleId: 'no-refunds', ruleName: 'Never promise refunds', ruleType: 'keyword', ruleValue: 'refund', scope: 'project:support-replies', outcome: 'triggered' },
      ],
      findings: [KEYWORD],
      timestamp: '2026-01-01T00:00:00.123Z',
    });
  });

  it('sends unsigned callbacks when no signing secret is configured', async () => {
    current = harness();
    current.sender.send(logSpan({ 'tracehouse.callback.url': receiver.url() }), evaluation('pass'));
    await waitFor(() => current!.count('delivered') === 1, 'the callback');
    expect(receiver.requests[0].headers['x-tracehouse-signature']).toBeUndefined();
  });

  it.each([
    ['all', ['pass', 'flagged', 'error']],
    [undefined, ['pass', 'flagged', 'error']],
    ['flagged_error', ['flagged', 'error']],
    ['flagged_error_decisions', ['flagged', 'error']],
    ['pass', ['pass']],
    ['decisions', []],
  ])('callbackEvents %s posts only %j', async (filter, posted) => {
    current = harness();
    for (const verdict of ['pass', 'flagged', 'error'] as const) {
      const attrs: Attributes = { 'tracehouse.callback.url': receiver.url(`/${verdict}`) };
      if (filter !== undefined) attrs['tracehouse.callback.events'] = filter;
      current.sender.send(logSpan(attrs), evaluation(verdict));
    }
    // Shutdown sends everything queued before it resolves, so nothing can arrive later.
    await current.sender.shutdown();
    expect(receiver.requests.map((r) => JSON.parse(r.body).verdict).sort()).toEqual([...posted].sort());
    expect(receiver.requests.map((r) => r.url).sort()).toEqual(posted.map((v) => `/${v}`).sort());
    expect(current.count('delivered')).toBe(posted.length);
  });

  it('retries after a 500 and then delivers', async () => {
    receiver.answer({ status: 500 });
    current = harness({ signing_secret: SECRET });
    current.sender.send(logSpan({ 'tracehouse.callback.url': receiver.url() }), evaluation('error'));
    await waitFor(() => current!.count('delivered') === 1, 'the retried callback');
    expect(current.count('retried')).toBe(1);
    expect(receiver.requests).toHaveLength(2);
    expect(JSON.parse(receiver.requests[1].body)).toEqual(JSON.parse(receiver.requests[0].body));
    for (const req of receiver.requests) {
      const expected = createHmac('sha256', SECRET).update(`${String(req.headers['x-tracehouse-timestamp'])}.${req.body}`).digest('hex');
      expect(req.headers['x-tracehouse-signature']).toBe(`v1=${expected}`);
    }
  });

  it('refuses a private callback URL when not allowed: counted and logged, never thrown, never connected', async () => {
    current = harness({ allow_private_addresses: false });
    const span = logSpan({ 'tracehouse.callback.url': `http://127.0.0.1:${receiver.port}/hooks/secret-token-123` });
    expect(() => current!.sender.send(span, evaluation('flagged'))).not.toThrow();
    await waitFor(() => current!.count('failed') === 1, 'the refusal');
    expect(current.count('address_refused')).toBe(1);
    expect(current.count('retried')).toBe(0);
    expect(receiver.requests).toHaveLength(0);
    const refused = current.logLines.find((l) => l.msg === 'callback refused');
    expect(refused).toMatchObject({ code: 'OUT_ADDRESS_REFUSED', logId: span.attributes['tracehouse.log_id'], spanId: span.spanId });
    expect(JSON.stringify(current.logLines)).not.toContain('secret-token-123');
  });

  it('refuses a callback host that resolves to loopback when not allowed', async () => {
    current = harness({ allow_private_addresses: false });
    current.sender.send(logSpan({ 'tracehouse.callback.url': `http://localhost:${receiver.port}/hook` }), evaluation('pass'));
    await waitFor(() => current!.count('failed') === 1, 'the refusal');
    expect(current.count('address_refused')).toBe(1);
    expect(receiver.requests).toHaveLength(0);
  });

  it('ignores spans without a callback URL, counts unusable URLs and event filters, and never throws', async () => {
    current = harness();
    const send = (attrs: Attributes) => expect(() => current!.sender.send(logSpan(attrs), evaluation('flagged'))).not.toThrow();
    send({});
    send({ 'tracehouse.callback.url': 42 });
    send({ 'tracehouse.callback.url': 'ftp://example.com/hook' });
    send({ 'tracehouse.callback.url': receiver.url(), 'tracehouse.callback.events': 'sometimes' });
    await current.sender.shutdown();
    expect(current.count('bad_url')).toBe(1);
    expect(current.count('failed')).toBe(1);
    expect(current.count('invalid_events')).toBe(1);
    expect(receiver.requests).toHaveLength(0);
  });

  it('sends nothing when disabled', async () => {
    current = harness({ enabled: false });
    current.sender.send(logSpan({ 'tracehouse.callback.url': receiver.url() }), evaluation('flagged'));
    await current.sender.shutdown();
    expect(receiver.requests).toHaveLength(0);
    expect(current.events.size).toBe(0);
  });

  it('drops (and counts) callbacks beyond max_pending instead of blocking', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    receiver.answer({ status: 200, hold: held }, { status: 200, hold: held });
    current = harness({ max_pending: 2 });
    for (let i = 0; i < 3; i++) current.sender.send(logSpan({ 'tracehouse.callback.url': receiver.url() }), evaluation('flagged'));
    expect(current.count('dropped')).toBe(1);
    release();
    await waitFor(() => current!.count('delivered') === 2, 'the queued callbacks');
  });
});
