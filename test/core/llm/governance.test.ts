import { preflightConfigSchema } from '../../../core/llm/governance-config';
import { Governance, PREFLIGHT_MASKED_ATTRIBUTE, PREFLIGHT_REASON_ATTRIBUTE } from '../../../core/llm/governance';
import { InMemorySpendLedger } from '../../../core/llm/governance-ledger';
import { inputMessagesOf } from '../../../core/llm/outcome';
import type { PreflightDecision, PreflightRequest, PreflightSettlement } from '../../../core/llm/preflight';
import type { LlmApi } from '../../../core/llm/protocol';

const EMAIL = 'jane.doe@example.com';
const API_KEY = 'sk-proj-a1B2c3D4e5F6g7H8i9J0kLmNoPqRsT';

function governance(config: unknown, now?: () => number): Governance {
  return new Governance(preflightConfigSchema.parse(config), now ? { now } : {});
}

function request(body: Record<string, unknown>, api: LlmApi = 'chat', workspace = 'acme'): PreflightRequest {
  const bytes = Buffer.byteLength(JSON.stringify(body));
  return { workspace, api, model: typeof body.model === 'string' ? body.model : undefined, body, inputMessages: inputMessagesOf(api, body), bodyBytes: bytes };
}

const chat = (content: string, model = 'gpt-4o') => request({ model, messages: [{ role: 'user', content }] });

function decide(g: Governance, r: PreflightRequest): PreflightDecision {
  return g.check(r) as PreflightDecision;
}

function blocked(decision: PreflightDecision) {
  if (decision.action !== 'block') throw new Error(`expected a block, got ${decision.action}`);
  return decision;
}

const settlement = (over: Partial<PreflightSettlement> = {}): PreflightSettlement => ({
  workspace: 'acme',
  api: 'chat',
  model: 'gpt-4o',
  providerName: 'openai',
  usage: { input: 1_000_000, output: 0 },
  status: 200,
  bodyBytes: 100,
  ...over,
});

describe('Governance: personal data and secrets', () => {
  it('allows a clean request untouched', () => {
    const g = governance({ pii: { default: 'block' } });
    const r = chat('What is the capital of France?');
    expect(decide(g, r)).toEqual({ action: 'allow' });
  });

  it('blocks with 400 and names the detector, never the matched text', () => {
    const g = governance({ pii: { default: 'allow', detectors: { api_key: 'block' } } });
    const d = blocked(decide(g, chat(`here is my key ${API_KEY} please debug`)));
    expect(d.status).toBe(400);
    expect(d.findings).toEqual([{ rule: 'pii:api_key', message: 'api_key detected in the input (1 match)' }]);
    const everything = JSON.stringify(d);
    expect(everything).not.toContain(API_KEY);
    expect(everything).not.toContain('a1B2c3');
    expect(d.attributes?.[PREFLIGHT_REASON_ATTRIBUTE]).toBe('content');
  });

  it('masks with the redact masks and leaves the caller\'s body object alone', () => {
    const g = governance({ pii: { detectors: { email: 'mask' } } });
    const body = { model: 'gpt-4o', temperature: 0.2, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: [{ type: 'text', text: `Write to ${EMAIL} today` }] }] };
    const original = JSON.stringify(body);
    const d = decide(g, request(body));
    expect(d.action).toBe('rewrite');
    if (d.action !== 'rewrite') return;
    expect(d.body).toEqual({ model: 'gpt-4o', temperature: 0.2, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: [{ type: 'text', text: 'Write to [REDACTED:EMAIL] today' }] }] });
    expect(JSON.stringify(body)).toBe(original);
    expect(d.attributes).toEqual({ [PREFLIGHT_MASKED_ATTRIBUTE]: '{"email":1}' });
  });

  it('masks tool-call arguments (JSON in a string) and Anthropic system prompts, not ids or images', () => {
    const g = governance({ pii: { default: 'mask' } });
    const image = `data:image/png;base64,${'QUFB'.repeat(10)}`;
    const chatBody = {
      model: 'gpt-4o',
      messages: [
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'send', arguments: JSON.stringify({ to: EMAIL }) } }] },
        { role: 'user', content: [{ type: 'image_url', image_url: { url: image } }] },
      ],
    };
    const d1 = decide(g, request(chatBody));
    if (d1.action !== 'rewrite') throw new Error(d1.action);
    const messages = d1.body.messages as any[];
    expect(JSON.parse(messages[0].tool_calls[0].function.arguments)).toEqual({ to: '[REDACTED:EMAIL]' });
    expect(messages[0].tool_calls[0].id).toBe('call_1');
    expect(messages[1].content[0].image_url.url).toBe(image);

    const d2 = decide(g, request({ model: 'claude-sonnet-4', max_tokens: 10, system: `Operator: ${EMAIL}`, messages: [{ role: 'user', content: 'hi' }] }, 'messages'));
    if (d2.action !== 'rewrite') throw new Error(d2.action);
    expect(d2.body.system).toBe('Operator: [REDACTED:EMAIL]');
  });

  it('lets allowed detectors through and blocks for a blocking one even when others only mask', () => {
    const g = governance({ pii: { default: 'mask', detectors: { email: 'allow', us_ssn: 'block' } } });
    expect(decide(g, chat(`mail ${EMAIL}`))).toEqual({ action: 'allow' });
    const d = blocked(decide(g, chat(`mail ${EMAIL}, SSN 123-45-6789, call +44 20 7946 0958`)));
    expect(d.findings.map((f) => f.rule)).toEqual(['pii:us_ssn']);
    expect(JSON.stringify(d)).not.toContain('123-45-6789');
  });

  it('checks the input fields of every API (Responses instructions and input, Completions prompt, Embeddings input)', () => {
    const g = governance({ pii: { detectors: { email: 'block' } } });
    expect(blocked(decide(g, request({ model: 'gpt-4o', instructions: `cc ${EMAIL}`, input: 'hi' }, 'responses'))).status).toBe(400);
    expect(blocked(decide(g, request({ model: 'gpt-4o', input: [{ role: 'user', content: [{ type: 'input_text', text: EMAIL }] }] }, 'responses'))).status).toBe(400);
    expect(blocked(decide(g, request({ model: 'gpt-3.5-turbo-instruct', prompt: [`a ${EMAIL}`] }, 'completions'))).status).toBe(400);
    expect(blocked(decide(g, request({ model: 'text-embedding-3-small', input: EMAIL }, 'embeddings'))).status).toBe(400);
    // Fields that are not input are not scanned.
    expect(decide(g, request({ model: 'gpt-4o', user: EMAIL, messages: [{ role: 'user', content: 'hi' }] }))).toEqual({ action: 'allow' });
  });

  it('refuses input nested too deeply to be checked, instead of forwarding it unchecked', () => {
    const g = governance({ pii: { default: 'mask' } });
    let deep: unknown = EMAIL;
    for (let i = 0; i < 200; i++) deep = [deep];
    const d = blocked(decide(g, request({ model: 'gpt-4o', messages: [{ role: 'user', content: deep }] })));
    expect(d.findings[0].rule).toBe('pii');
  });
});

describe('Governance: input rules (evaluate_rules syntax)', () => {
  const rules = [
    { id: 'no-internal', name: 'No internal project names', type: 'keyword_forbidden', value: ['Project Falcon', 'Bluebird'] },
    { id: 'no-passwords', type: 'regex_forbidden', value: 'password\\s*[:=]', flags: 'i' },
    { id: 'short', type: 'max_length', value: 40, scope: { model: 'gpt-4o-mini*' } },
    { id: 'acme-ticket', type: 'keyword_required', value: 'TICKET-', case_sensitive: true, scope: { workspace: 'other' } },
  ];

  it('blocks with 400 on a forbidden keyword, naming the rule and the keyword by position only', () => {
    const g = governance({ rules });
    const d = blocked(decide(g, chat('Status of project falcon?')));
    expect(d.status).toBe(400);
    expect(d.findings).toEqual([{ rule: 'rule:no-internal', message: 'No internal project names: contains 1 of 2 forbidden keywords (#1)' }]);
    expect(JSON.stringify(d).toLowerCase()).not.toContain('falcon');
  });

  it('applies regex rules in linear time and reports every rule that triggered', () => {
    const g = governance({ rules });
    const d = blocked(decide(g, chat('Bluebird login: Password = hunter2')));
    expect(d.findings.map((f) => f.rule)).toEqual(['rule:no-internal', 'rule:no-passwords']);
    expect(JSON.stringify(d)).not.toContain('hunter2');
  });

  it('honours scopes: the model glob and the workspace', () => {
    const g = governance({ rules });
    const long = 'Tell me a long story about the sea and the wind';
    expect(decide(g, chat(long, 'gpt-4o'))).toEqual({ action: 'allow' });
    expect(blocked(decide(g, chat(long, 'GPT-4o-mini-2024-07-18'))).findings[0]).toEqual({ rule: 'rule:short', message: 'short: 47 characters, more than 40' });
    // keyword_required applies only to workspace "other".
    expect(decide(g, request({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }, 'chat', 'acme'))).toEqual({ action: 'allow' });
    expect(blocked(decide(g, request({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }, 'chat', 'other'))).findings[0].rule).toBe('rule:acme-ticket');
  });

  it('skips disabled rules and requests without input text', () => {
    const g = governance({ rules: [{ id: 'off', type: 'keyword_forbidden', value: 'hi', enabled: false }, { id: 'on', type: 'min_length', value: 5 }] });
    expect(decide(g, chat('hi there'))).toEqual({ action: 'allow' });
    expect(decide(g, request({ model: 'gpt-4o', messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }] }] }))).toEqual({ action: 'allow' });
  });

  it('refuses rule types and targets that cannot judge a request, and patterns RE2 cannot run', () => {
    const problems = (config: unknown) => {
      const r = preflightConfigSchema.safeParse(config);
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    expect(problems({ rules: [{ id: 'j', type: 'json_valid' }] })).toEqual([
      'rules.0.type: rule type "json_valid" cannot judge a request before forwarding: expected one of "keyword_required", "keyword_forbidden", "regex_required", "regex_forbidden", "min_length", "max_length"',
    ]);
    expect(problems({ rules: [{ id: 'o', type: 'keyword_forbidden', value: 'x', target: 'output' }] })).toEqual(['rules.0.target: must be input: a request has no output yet']);
    expect(problems({ rules: [{ id: 'l', type: 'regex_forbidden', value: '(?<=a)b' }] })[0]).toMatch(/^rules\.0\.value: /);
    expect(problems({ rules: [{ id: 'd', type: 'min_length', value: 1 }, { id: 'd', type: 'max_length', value: 9 }] })).toEqual(['rules.1.id: duplicate rule id "d" (also rules.0.id)']);
    expect(problems({ pii: { detectors: { email: 'hash' } } })).toHaveLength(1);
  });
});

describe('Governance: model allow-list and input size', () => {
  it('answers 403 for a model outside the allow-list, and for a request without a model', () => {
    const g = governance({ models: { allow: ['gpt-4o*', 'claude-*'] } });
    expect(decide(g, chat('hi', 'gpt-4o-mini'))).toEqual({ action: 'allow' });
    expect(decide(g, chat('hi', 'Claude-Sonnet-4'))).toEqual({ action: 'allow' });
    const d = blocked(decide(g, chat('hi', 'o1-pro')));
    expect(d).toMatchObject({ status: 403, findings: [{ rule: 'models.allow', message: 'model "o1-pro" is not allowed by this gateway' }], attributes: { [PREFLIGHT_REASON_ATTRIBUTE]: 'model' } });
    expect(blocked(decide(g, request({ messages: [{ role: 'user', content: 'hi' }] }))).status).toBe(403);
  });

  it('answers 400 for a body over max_input_bytes before scanning it', () => {
    const g = governance({ max_input_bytes: 100, pii: { default: 'block' } });
    const d = blocked(decide(g, chat(`${EMAIL} ${'x'.repeat(200)}`)));
    expect(d.status).toBe(400);
    expect(d.findings).toEqual([{ rule: 'max_input_bytes', message: expect.stringMatching(/^the request body has \d+ bytes, more than max_input_bytes \(100\)$/) }]);
    expect(decide(g, chat('short'))).toEqual({ action: 'allow' });
  });

  it('checks policy (403) before content (400)', () => {
    const g = governance({ models: { allow: ['gpt-4o'] }, pii: { default: 'block' } });
    expect(blocked(decide(g, chat(EMAIL, 'gpt-3.5-turbo'))).status).toBe(403);
  });
});

describe('Governance: spend budget', () => {
  it('credits usage × catalog price and answers 403 once the workspace budget is spent, per workspace', () => {
    let now = 1_000_000;
    const g = governance({ budget: { usd: 5, window_seconds: 3600, workspaces: { big: { usd: 100 } } } }, () => now);
    // gpt-4o: $2.50 per million input tokens, $10 per million output tokens.
    expect(g.settle(settlement())).toBeCloseTo(2.5, 9);
    expect(decide(g, chat('hi'))).toEqual({ action: 'allow' });
    expect(g.settle(settlement({ usage: { input: 0, output: 250_000 } }))).toBeCloseTo(2.5, 9);
    expect(g.spent('acme')).toBeCloseTo(5, 9);
    const d = blocked(decide(g, chat('hi')));
    expect(d).toMatchObject({ status: 403, attributes: { [PREFLIGHT_REASON_ATTRIBUTE]: 'budget' } });
    expect(d.findings).toEqual([{ rule: 'budget', message: 'workspace acme spent $5.000000 of its $5 budget in the last 3600 s' }]);
    // Other workspaces have budgets of their own.
    expect(decide(g, request({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }, 'chat', 'beta'))).toEqual({ action: 'allow' });
    g.settle(settlement({ workspace: 'big', usage: { input: 4_000_000 } }));
    expect(decide(g, request({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }, 'chat', 'big'))).toEqual({ action: 'allow' });
    now += 10;
    expect(decide(g, chat('hi')).action).toBe('block');
  });

  it('forgets spend once it leaves the sliding window', () => {
    let now = 50_000_000;
    const g = governance({ budget: { usd: 1, window_seconds: 60 } }, () => now);
    g.settle(settlement({ usage: { input: 400_000 } })); // $1.00
    now += 30_000;
    expect(decide(g, chat('hi')).action).toBe('block');
    now += 29_000; // 59 s after the credit: still inside the window
    expect(decide(g, chat('hi')).action).toBe('block');
    now += 2_000; // 61 s after: out of it
    expect(g.spent('acme')).toBe(0);
    expect(decide(g, chat('hi'))).toEqual({ action: 'allow' });
  });

  it('charges cached input at the cached price, estimates a cut stream, and charges nothing for failed or unpriced calls', () => {
    const g = governance({ budget: { usd: 1000, window_seconds: 60 } });
    // 1M input of which 1M cached at $1.25 + nothing else.
    expect(g.settle(settlement({ usage: { input: 1_000_000, cacheRead: 1_000_000 } }))).toBeCloseTo(1.25, 9);
    // No usage arrived on a stream that was cut: 4 MB of body ~ 1M input tokens.
    expect(g.settle(settlement({ usage: undefined, status: undefined, bodyBytes: 4_000_000 }))).toBeCloseTo(2.5, 9);
    expect(g.settle(settlement({ usage: undefined, status: 500 }))).toBe(0);
    expect(g.settle(settlement({ model: 'my-private-finetune-xyz' }))).toBe(0);
    expect(g.settle(settlement({ model: undefined }))).toBe(0);
    expect(g.spent('acme')).toBeCloseTo(3.75, 9);
  });

  it('does nothing without a budget', () => {
    const g = governance({});
    expect(g.settle(settlement())).toBe(0);
    expect(g.spent('acme')).toBe(0);
    expect(decide(g, chat('hi'))).toEqual({ action: 'allow' });
  });
});

describe('InMemorySpendLedger', () => {
  it('sums credits per workspace within the window', () => {
    const ledger = new InMemorySpendLedger(60_000);
    ledger.add('a', 1, 0);
    ledger.add('a', 2, 30_000);
    ledger.add('b', 7, 30_000);
    ledger.add('a', Number.NaN, 30_000);
    ledger.add('a', -5, 30_000);
    expect(ledger.spent('a', 30_000)).toBe(3);
    expect(ledger.spent('a', 60_500)).toBe(2);
    expect(ledger.spent('b', 60_500)).toBe(7);
    expect(ledger.spent('a', 91_000)).toBe(0);
    expect(ledger.spent('c', 0)).toBe(0);
  });
});

describe('the proxy README', () => {
  it('documents a preflight configuration the receiver accepts', async () => {
    const { readFileSync } = await import('node:fs');
    const { parse } = await import('yaml');
    const { proxyReceiverConfigSchema } = await import('../../../receivers/proxy/config');
    const md = readFileSync(`${__dirname}/../../../receivers/proxy/README.md`, 'utf8');
    const section = md.slice(md.indexOf('## Preflight governance'));
    const start = section.indexOf('```yaml') + '```yaml'.length;
    const config = proxyReceiverConfigSchema.parse(parse(section.slice(start, section.indexOf('```', start))).receivers.proxy);
    expect(config.preflight?.pii.detectors).toMatchObject({ api_key: 'block', email: 'mask' });
    expect(config.preflight?.rules.map((r) => r.type)).toEqual(['keyword_forbidden', 'regex_forbidden']);
    expect(config.preflight?.budget).toEqual({ usd: 50, window_seconds: 86400, workspaces: { acme: { usd: 500 } } });
  });
});
