import { chatSpan, engineFor, httpSpan, messages, only, outcomes, outputSpan } from './support';

/** [outcome, detail] of a single rule on a single span; undefined when the rule did not apply. */
function run(rule: Record<string, unknown>, span = chatSpan()): [string, string | undefined] | undefined {
  const findings = engineFor({ id: 'r1', ...rule }).evaluate(span);
  return findings.length === 0 ? undefined : outcomes(findings)[0];
}

describe('rule types', () => {
  describe('keyword_required', () => {
    const rule = { type: 'keyword_required', value: ['refund', 'ticket'] };
    it('passes when every keyword occurs, ignoring case by default', () => {
      expect(run(rule, outputSpan('Your REFUND is on ticket 42.'))).toEqual(['passed', undefined]);
    });
    it('triggers when a keyword is missing, naming it by position only', () => {
      expect(run(rule, outputSpan('Your refund is on its way.'))).toEqual(['triggered', 'missing 1 of 2 required keywords (#2)']);
      expect(run({ type: 'keyword_required', value: 'Refund' }, outputSpan('no money back'))).toEqual(['triggered', 'missing the required keyword']);
    });
    it('matches case-sensitively when asked', () => {
      expect(run({ ...rule, case_sensitive: true }, outputSpan('Your Refund, ticket 42'))).toEqual(['triggered', 'missing 1 of 2 required keywords (#1)']);
    });
    it('errs when the target attribute is not a string', () => {
      expect(run({ ...rule, target: { attribute: 'ticket.id' } }, outputSpan('refund ticket', { 'ticket.id': 42n }))).toEqual([
        'error',
        'attribute ticket.id is an int, not a string',
      ]);
    });
  });

  describe('keyword_forbidden', () => {
    const rule = { type: 'keyword_forbidden', value: ['guarantee', 'lawsuit', 'refund'] };
    it('passes when no keyword occurs', () => {
      expect(run(rule, outputSpan('We will look into it.'))).toEqual(['passed', undefined]);
    });
    it('triggers when one occurs, counting every hit', () => {
      expect(run(rule, outputSpan('We GUARANTEE a full refund.'))).toEqual(['triggered', 'contains 2 of 3 forbidden keywords (#1, #3)']);
    });
    it('errs when the output messages are not JSON', () => {
      expect(run(rule, chatSpan({ 'gen_ai.output.messages': '[{"role":' }))).toEqual(['error', 'attribute gen_ai.output.messages is not valid JSON']);
    });
  });

  describe('regex_required', () => {
    const rule = { type: 'regex_required', value: '^Dear [A-Z][a-z]+,', flags: 'm' };
    it('passes when the pattern matches', () => {
      expect(run(rule, outputSpan('Hello\nDear Jane,\nthanks'))).toEqual(['passed', undefined]);
    });
    it('triggers when it does not', () => {
      expect(run(rule, outputSpan('hi jane'))).toEqual(['triggered', 'no match for the pattern']);
    });
    it('errs when the output is not a string', () => {
      expect(run(rule, chatSpan({ 'gen_ai.completion': ['Dear Jane,'] }))).toEqual(['error', 'attribute gen_ai.completion is an array, not a string']);
    });
  });

  describe('regex_forbidden', () => {
    const rule = { type: 'regex_forbidden', value: '\\b\\d{4}-\\d{4}\\b', target: 'input' };
    it('passes when the input does not match', () => {
      expect(run(rule, chatSpan({ 'gen_ai.input.messages': messages('user', 'order 12') }))).toEqual(['passed', undefined]);
    });
    it('triggers when it matches, without quoting the match', () => {
      expect(run(rule, chatSpan({ 'gen_ai.input.messages': messages('user', 'card 1234-5678') }))).toEqual(['triggered', 'matches the pattern']);
    });
    it('errs when the input messages are not an array', () => {
      expect(run(rule, chatSpan({ 'gen_ai.input.messages': '{"role":"user"}' }))).toEqual(['error', 'attribute gen_ai.input.messages is not a JSON array of messages']);
    });
  });

  describe('regular expressions run in linear time (RE2)', () => {
    // Each pattern backtracks exponentially on a JavaScript engine given this text; here the
    // answer must come back at all (jest's timeout is the clock) and be right.
    const long = 'a'.repeat(100_000);
    it.each([
      ['(a+)+$', `${long}!`, 'passed'],
      ['(a|aa)+$', `${long}!`, 'passed'],
      ['^(\\w+\\s?)*$', `${long}!`, 'passed'],
      ['(a+)+$', long, 'triggered'],
    ])('regex_forbidden %s on 100,000 characters', (value, text, outcome) => {
      expect(run({ type: 'regex_forbidden', value }, outputSpan(text))?.[0]).toBe(outcome);
    });
    it('keeps JavaScript meanings the engines spell differently (\\u escapes, Unicode \\s, flags)', () => {
      expect(run({ type: 'regex_required', value: '^caf\\u00e9\\sok$', flags: 'im' }, outputSpan('x\nCAFÉ\u00a0OK'))?.[0]).toBe('passed');
      expect(run({ type: 'regex_required', value: 'a.b', flags: 's' }, outputSpan('a\nb'))?.[0]).toBe('passed');
      expect(run({ type: 'regex_required', value: 'a.b' }, outputSpan('a\nb'))?.[0]).toBe('triggered');
    });
  });

  describe('min_length', () => {
    const rule = { type: 'min_length', value: 5 };
    it('passes at exactly the minimum, counting characters not UTF-16 units', () => {
      expect(run(rule, outputSpan('ab😀cd'))).toEqual(['passed', undefined]);
    });
    it('triggers below it', () => {
      expect(run(rule, outputSpan('a😀cd'))).toEqual(['triggered', '4 characters, fewer than 5']);
    });
    it('errs when the target attribute is a kvlist', () => {
      expect(run({ ...rule, target: { attribute: 'answer' } }, chatSpan({ answer: { text: 'hello world' } }))).toEqual(['error', 'attribute answer is a kvlist, not a string']);
    });
  });

  describe('max_length', () => {
    const rule = { type: 'max_length', value: 10 };
    it('passes at exactly the maximum', () => {
      expect(run(rule, outputSpan('0123456789'))).toEqual(['passed', undefined]);
    });
    it('triggers above it', () => {
      expect(run(rule, outputSpan('0123456789!'))).toEqual(['triggered', '11 characters, more than 10']);
    });
    it('errs when the target attribute is a bool', () => {
      expect(run({ ...rule, target: { attribute: 'answer' } }, chatSpan({ answer: true }))).toEqual(['error', 'attribute answer is a bool, not a string']);
    });
  });

  describe('json_valid', () => {
    const rule = { type: 'json_valid' };
    it('passes on JSON', () => {
      expect(run(rule, outputSpan(' {"ok": true, "items": [1, 2]}\n'))).toEqual(['passed', undefined]);
    });
    it('triggers on text that is not JSON, without the parser message (it quotes the text)', () => {
      expect(run(rule, outputSpan('Sure! {"ok": true}'))).toEqual(['triggered', 'not valid JSON']);
    });
    it('errs when the target attribute holds bytes', () => {
      expect(run({ ...rule, target: { attribute: 'payload' } }, chatSpan({ payload: new Uint8Array([123, 125]) }))).toEqual(['error', 'attribute payload is bytes, not a string']);
    });
  });

  describe('json_schema', () => {
    const rule = {
      type: 'json_schema',
      value: {
        type: 'object',
        required: ['sentiment', 'email'],
        properties: { sentiment: { enum: ['positive', 'negative'] }, email: { type: 'string', format: 'email' } },
        additionalProperties: false,
      },
    };
    it('passes a document that matches', () => {
      expect(run(rule, outputSpan('{"sentiment":"positive","email":"a@example.com"}'))).toEqual(['passed', undefined]);
    });
    it('triggers on a document that does not match, naming the path and the rule only', () => {
      expect(run(rule, outputSpan('{"sentiment":"meh","email":"a@example.com"}'))).toEqual(['triggered', '/sentiment must be equal to one of the allowed values']);
      expect(run(rule, outputSpan('{"sentiment":"positive","email":"not-an-address"}'))).toEqual(['triggered', '/email must match format "email"']);
      expect(run(rule, outputSpan('{"sentiment":"positive"}'))).toEqual(['triggered', "(root) must have required property 'email'"]);
    });
    it('triggers on text that is not JSON', () => {
      expect(run(rule, outputSpan('positive'))).toEqual(['triggered', 'not valid JSON']);
    });
    it('checks patterns and formats in linear time', () => {
      const long = 'a'.repeat(100_000);
      const pattern = { type: 'json_schema', value: { type: 'object', properties: { x: { type: 'string', pattern: '^(a+)+$' } } } };
      expect(run(pattern, outputSpan(JSON.stringify({ x: `${long}!` })))).toEqual(['triggered', '/x must match pattern "^(a+)+$"']);
      expect(run(pattern, outputSpan(JSON.stringify({ x: long })))).toEqual(['passed', undefined]);
      const props = { type: 'json_schema', value: { type: 'object', patternProperties: { '^(a|aa)+$': { type: 'number' } } } };
      expect(run(props, outputSpan(JSON.stringify({ [long]: 'text' }))) ).toEqual(['triggered', `/${long} must be number`]);
      // ajv-formats' url expression is quadratic on this; the url format here is not.
      const url = { type: 'json_schema', value: { type: 'string', format: 'url' } };
      expect(run(url, outputSpan(JSON.stringify(`http://${'a:'.repeat(250_000)}`)))).toEqual(['triggered', '(root) must match format "url"']);
      expect(run(url, outputSpan(JSON.stringify('https://example.com/a?b=1')))).toEqual(['passed', undefined]);
      for (const [format, good, bad] of [
        ['hostname', 'api.example.com', `${'a.'.repeat(50_000)}-`],
        ['duration', 'P1Y2M3DT4H5M6S', `P${'1'.repeat(100_000)}`],
        ['email', 'jane@example.com', `a@${'a-'.repeat(50_000)}`],
        ['ipv6', '2001:db8::1', '1:'.repeat(50_000)],
        ['uri-reference', '/a/b?c#d', `a://${'%'.repeat(100_000)}`],
      ]) {
        const rule = { type: 'json_schema', value: { type: 'string', format } };
        expect(run(rule, outputSpan(JSON.stringify(good)))).toEqual(['passed', undefined]);
        expect(run(rule, outputSpan(JSON.stringify(bad)))).toEqual(['triggered', `(root) must match format "${format}"`]);
      }
    });
    it('errs when the validator throws (a recursive schema on data nested too deep)', () => {
      const deep = { type: 'json_schema', value: { type: 'array', items: { $ref: '#' } } };
      const depth = 200_000;
      expect(run(deep, outputSpan('['.repeat(depth) + ']'.repeat(depth)))).toEqual(['error', 'the schema validator failed (RangeError)']);
      expect(run(deep, outputSpan('[[[]]]'))).toEqual(['passed', undefined]);
    });
    it('uses the draft its $schema names (2020-12 prefixItems)', () => {
      const tuple = { type: 'json_schema', value: { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'array', prefixItems: [{ type: 'string' }, { type: 'integer' }] } };
      expect(run(tuple, outputSpan('["a", 1]'))).toEqual(['passed', undefined]);
      expect(run(tuple, outputSpan('["a", "b"]'))).toEqual(['triggered', '/1 must be integer']);
    });
  });

  describe('confidence_threshold', () => {
    const rule = { type: 'confidence_threshold', value: 0.7 };
    it('passes at or above the minimum', () => {
      expect(run(rule, chatSpan({ 'tracehouse.confidence': 0.7 }))).toEqual(['passed', undefined]);
    });
    it('triggers below it', () => {
      expect(run(rule, chatSpan({ 'tracehouse.confidence': 0.42 }))).toEqual(['triggered', 'confidence 0.42 is below 0.7']);
    });
    it('errs when the confidence is not a number', () => {
      expect(run(rule, chatSpan({ 'tracehouse.confidence': 'high' }))).toEqual(['error', 'attribute tracehouse.confidence is a string, not a number']);
    });
    it('does not apply without a confidence', () => {
      expect(run(rule, chatSpan())).toBeUndefined();
    });
  });

  describe('latency_threshold_ms', () => {
    const rule = { type: 'latency_threshold_ms', value: 3000 };
    const at = (ms: bigint, attributes = {}) => chatSpan(attributes, { startTimeUnixNano: 1_000_000_000n, endTimeUnixNano: 1_000_000_000n + ms * 1_000_000n });
    it('passes at the threshold', () => {
      expect(run(rule, at(3000n))).toEqual(['passed', undefined]);
    });
    it('triggers above it', () => {
      expect(run(rule, at(4250n))).toEqual(['triggered', 'latency 4250 ms is above 3000 ms']);
    });
    it('errs when the span ends before it starts', () => {
      expect(run(rule, chatSpan({}, { startTimeUnixNano: 2_000_000_000n, endTimeUnixNano: 1_000_000_000n }))).toEqual(['error', 'the span ends before it starts']);
    });
    it('applies to AI spans and logs only', () => {
      expect(run(rule, httpSpan())).toBeUndefined();
      const log = httpSpan({ 'tracehouse.record_type': 'log' });
      expect(run(rule, log)).toEqual(['triggered', 'latency 9000 ms is above 3000 ms']);
    });
  });

  describe('cost_threshold_usd', () => {
    const rule = { type: 'cost_threshold_usd', value: 0.05 };
    it('passes at or below the threshold', () => {
      expect(run(rule, chatSpan({ 'tracehouse.cost_usd': 0.05 }))).toEqual(['passed', undefined]);
    });
    it('triggers above it', () => {
      expect(run(rule, chatSpan({ 'tracehouse.cost_usd': 0.31 }))).toEqual(['triggered', 'cost (USD) 0.31 is above 0.05']);
    });
    it('errs when the cost is not a number', () => {
      expect(run(rule, chatSpan({ 'tracehouse.cost_usd': false }))).toEqual(['error', 'attribute tracehouse.cost_usd is a bool, not a number']);
    });
    it('does not apply without a cost', () => {
      expect(run(rule, chatSpan())).toBeUndefined();
    });
  });

  describe('pii_detected', () => {
    const any = { type: 'pii_detected' };
    const cards = { type: 'pii_detected', value: ['payment_card', 'iban'] };
    it('passes an AI span without redactions, and one whose redactions are not listed', () => {
      expect(run(any, chatSpan())).toEqual(['passed', undefined]);
      expect(run(cards, chatSpan({ 'tracehouse.redactions': { email: 2n } }))).toEqual(['passed', undefined]);
    });
    it('triggers on redactions, naming detectors and counts', () => {
      expect(run(any, chatSpan({ 'tracehouse.redactions': { email: 2n, phone: 1n } }))).toEqual(['triggered', 'redacted: email 2, phone 1']);
      expect(run(cards, chatSpan({ 'tracehouse.redactions': { email: 2n, payment_card: 1n } }))).toEqual(['triggered', 'redacted: payment_card 1']);
    });
    it('errs when tracehouse.redactions is not a kvlist of counts', () => {
      expect(run(any, chatSpan({ 'tracehouse.redactions': 'email' }))).toEqual(['error', 'attribute tracehouse.redactions is a string, not a kvlist']);
      expect(run(any, chatSpan({ 'tracehouse.redactions': { email: 'many' } }))).toEqual(['error', 'tracehouse.redactions.email is a string, not a count']);
    });
    it('applies to other spans only when they have redactions', () => {
      expect(run(any, httpSpan())).toBeUndefined();
      expect(run(any, httpSpan({ 'tracehouse.redactions': { ipv4: 1n } }))).toEqual(['triggered', 'redacted: ipv4 1']);
    });
  });

  describe('finish_reason_in', () => {
    const rule = { type: 'finish_reason_in', value: ['length', 'max_tokens'] };
    it('passes other finish reasons', () => {
      expect(run(rule, chatSpan({ 'gen_ai.response.finish_reasons': ['stop'] }))).toEqual(['passed', undefined]);
    });
    it('triggers on a listed one, ignoring case, also when sent as one string', () => {
      expect(run(rule, chatSpan({ 'gen_ai.response.finish_reasons': ['stop', 'length'] }))).toEqual(['triggered', 'finish reason "length"']);
      expect(run(rule, chatSpan({ 'gen_ai.response.finish_reasons': 'MAX_TOKENS' }))).toEqual(['triggered', 'finish reason "MAX_TOKENS"']);
    });
    it('errs when the finish reasons are not strings', () => {
      expect(run(rule, chatSpan({ 'gen_ai.response.finish_reasons': [1n] }))).toEqual(['error', 'attribute gen_ai.response.finish_reasons is an array, not a list of strings']);
    });
    it('does not apply without finish reasons', () => {
      expect(run(rule, chatSpan())).toBeUndefined();
    });
  });

  describe('model_in', () => {
    const rule = { type: 'model_in', value: ['gpt-3.5*', '*claude-2*'] };
    it('passes other models', () => {
      expect(run(rule, chatSpan({ 'gen_ai.request.model': 'gpt-4o' }))).toEqual(['passed', undefined]);
    });
    it('triggers on a matching response or request model, globs crossing / and ignoring case', () => {
      expect(run(rule, chatSpan({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.response.model': 'GPT-3.5-turbo-0125' }))).toEqual(['triggered', 'model "GPT-3.5-turbo-0125" is listed']);
      expect(run(rule, chatSpan({ 'gen_ai.request.model': 'anthropic/claude-2.1' }))).toEqual(['triggered', 'model "anthropic/claude-2.1" is listed']);
    });
    it('errs when a model attribute is not a string', () => {
      expect(run(rule, chatSpan({ 'gen_ai.response.model': 35n }))).toEqual(['error', 'attribute gen_ai.response.model is an int, not a string']);
    });
    it('does not apply without a model', () => {
      expect(run(rule, httpSpan())).toBeUndefined();
    });
    it('matches globs in linear time, whatever the model name', () => {
      const stars = { type: 'model_in', value: ['*a*a*a*a*a*b', '*claude*x'] };
      expect(run(stars, chatSpan({ 'gen_ai.request.model': 'a'.repeat(100_000) }))).toEqual(['passed', undefined]);
      expect(run(stars, chatSpan({ 'gen_ai.request.model': `${'claude'.repeat(20_000)}\nx` }))?.[0]).toBe('triggered');
      expect(run({ type: 'model_in', value: ['{gpt,o}-?o', 'claude-[0-9]*'] }, chatSpan({ 'gen_ai.request.model': 'GPT-4o' }))?.[0]).toBe('triggered');
      expect(run({ type: 'model_in', value: ['{gpt,o}-?o'] }, chatSpan({ 'gen_ai.request.model': 'gpt-/o' }))?.[0]).toBe('passed');
    });
  });
});

describe('what a text rule reads', () => {
  const rule = { id: 'kw', type: 'keyword_required', value: 'refund' };

  it('joins the text parts of every output message, skipping tool calls', () => {
    const output = JSON.stringify([
      { role: 'assistant', parts: [{ type: 'tool_call', name: 'lookup', arguments: { q: 'refund' } }, { type: 'text', content: 'Your' }] },
      { role: 'assistant', parts: [{ type: 'text', content: 'refund is issued' }] },
    ]);
    expect(outcomes(engineFor(rule).evaluate(chatSpan({ 'gen_ai.output.messages': output })))).toEqual([['passed', undefined]]);
  });

  it('does not apply to output messages without text (a tool-calling step)', () => {
    const output = JSON.stringify([{ role: 'assistant', parts: [{ type: 'tool_call', name: 'lookup', arguments: {} }] }]);
    expect(engineFor(rule).evaluate(chatSpan({ 'gen_ai.output.messages': output }))).toEqual([]);
  });

  it('falls back to gen_ai.completion, then output.value', () => {
    expect(outcomes(engineFor(rule).evaluate(chatSpan({ 'gen_ai.completion': 'no refund' })))).toEqual([['passed', undefined]]);
    expect(outcomes(engineFor(rule).evaluate(chatSpan({ 'output.value': 'nothing' })))).toEqual([['triggered', 'missing the required keyword']]);
  });

  it('reads the input from input messages, gen_ai.prompt, input.value or tracehouse.input_text', () => {
    const input = { ...rule, target: 'input' };
    for (const key of ['gen_ai.prompt', 'input.value', 'tracehouse.input_text']) {
      expect(outcomes(engineFor(input).evaluate(chatSpan({ [key]: 'I want a refund' })))).toEqual([['passed', undefined]]);
    }
    const both = chatSpan({ 'gen_ai.input.messages': messages('user', 'hello'), 'tracehouse.input_text': 'refund' });
    expect(outcomes(engineFor(input).evaluate(both))).toEqual([['triggered', 'missing the required keyword']]);
  });

  it('does not apply when the target is absent', () => {
    expect(engineFor(rule).evaluate(chatSpan())).toEqual([]);
    expect(engineFor({ ...rule, target: 'input' }).evaluate(outputSpan('refund'))).toEqual([]);
    expect(engineFor({ ...rule, target: { attribute: 'summary' } }).evaluate(outputSpan('refund'))).toEqual([]);
  });
});

describe('findings', () => {
  it('carry the rule identity, value as text, scope label, severity and outcome', () => {
    const engine = engineFor(
      { id: 'tone', name: 'Tone Validator', type: 'keyword_forbidden', value: ['sorry', 'unfortunately'], severity: 'high', scope: { project: 'support', model: 'gpt-4o*' } },
      { id: 'pattern', type: 'regex_forbidden', value: 'ssn\\s*\\d+', flags: 'i' },
      { id: 'short', type: 'max_length', value: 100 },
      { id: 'valid', type: 'json_valid', severity: 'low' },
      { id: 'pii', type: 'pii_detected' },
      { id: 'schema', type: 'json_schema', value: { type: 'object' } },
    );
    const findings = engine.evaluate(outputSpan('Sorry, no.', { 'tracehouse.project': 'support' }));
    expect(findings).toEqual([
      { ruleId: 'tone', ruleName: 'Tone Validator', ruleType: 'keyword_forbidden', ruleValue: '["sorry","unfortunately"]', scope: 'project=support,model=gpt-4o*', severity: 'high', outcome: 'triggered', detail: 'contains 1 of 2 forbidden keywords (#1)' },
      { ruleId: 'pattern', ruleName: 'pattern', ruleType: 'regex_forbidden', ruleValue: '/ssn\\s*\\d+/i', scope: 'global', severity: 'medium', outcome: 'passed' },
      { ruleId: 'short', ruleName: 'short', ruleType: 'max_length', ruleValue: '100', scope: 'global', severity: 'medium', outcome: 'passed' },
      { ruleId: 'valid', ruleName: 'valid', ruleType: 'json_valid', ruleValue: '', scope: 'global', severity: 'low', outcome: 'triggered', detail: 'not valid JSON' },
      { ruleId: 'pii', ruleName: 'pii', ruleType: 'pii_detected', ruleValue: 'any', scope: 'global', severity: 'medium', outcome: 'passed' },
      { ruleId: 'schema', ruleName: 'schema', ruleType: 'json_schema', ruleValue: '{"type":"object"}', scope: 'global', severity: 'medium', outcome: 'triggered', detail: 'not valid JSON' },
    ]);
    expect(only(engineFor({ id: 'c', type: 'confidence_threshold', value: 0.5 }).evaluate(chatSpan({ 'tracehouse.confidence': 1 }))).ruleValue).toBe('0.5');
  });
});
