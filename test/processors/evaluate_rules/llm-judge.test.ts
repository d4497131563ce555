/**
 * llm_judge rules against the fake LLM provider on loopback: pass, fail, both APIs, timeout,
 * retried and unretried provider errors, Retry-After, the queue bound, provider/model/key from the
 * rule, the workspace settings or the config, the cost on the span, POST /api/rules/evaluate's
 * evaluator, and keys that never reach a finding or an attribute.
 */
import type { Host, SpanConsumer } from '../../../core/component';
import { CapabilityRegistry } from '../../../core/capabilities';
import { ObjectCatalog } from '../../../core/control/catalog';
import type { Finding } from '../../../core/evaluation';
import { silentLogger } from '../../../core/logger';
import { builtInCatalog, costUsd, PriceBook } from '../../../core/pricing/pricing';
import type { Span, SpanBatch } from '../../../core/span';
import { Telemetry } from '../../../core/telemetry';
import { WorkspaceDirectory } from '../../../core/workspaces';
import { evaluateRulesProcessorFactory } from '../../../processors/evaluate_rules/factory';
import { FakeLlmProvider } from '../../support/fake-llm-provider';
import { waitFor } from '../../support/wait';
import { chatSpan, httpSpan, messages, outputSpan } from './support';

const CONFIG_KEY = 'sk-config-judge-key-0123456789';
const WORKSPACE_KEY = 'sk-workspace-judge-key-abcdefgh';
const RULE_KEY = 'sk-rule-judge-key-zyxwvuts';

const answer = (verdict: unknown) => ({ chunks: [typeof verdict === 'string' ? verdict : JSON.stringify(verdict)] });
const PASS = answer({ verdict: 'pass', confidence: 0.9, explanation: 'The reply is polite.' });
const FAIL = answer({ verdict: 'fail', confidence: 0.82, explanation: 'The reply promises a refund.' });

interface Harness {
  run(batch: SpanBatch): Promise<Span[]>;
  evaluate(rule: Record<string, unknown>, output: string, workspace?: string): Promise<Finding[]>;
  catalog: ObjectCatalog;
  telemetry: Telemetry;
}

let provider: FakeLlmProvider;
const open: (() => Promise<void>)[] = [];

beforeAll(async () => {
  provider = await FakeLlmProvider.start();
});
beforeEach(() => provider.reset());
afterEach(async () => {
  for (const close of open.splice(0)) await close();
});
afterAll(() => provider.close());

/** A started processor whose judge talks to the fake provider for every provider. */
async function harness(rules: unknown[], judge: Record<string, unknown> = {}): Promise<Harness> {
  const url = provider.url;
  const config = evaluateRulesProcessorFactory.configSchema.parse({
    rules,
    judge: {
      timeout_ms: 5_000,
      ...judge,
      providers: {
        openai: { base_url: url, api_key: CONFIG_KEY },
        anthropic: { base_url: url, api_key: CONFIG_KEY },
        openrouter: { base_url: `${url}/api`, api_key: CONFIG_KEY },
        ...(judge.providers as object | undefined),
      },
    },
  });
  const telemetry = new Telemetry();
  let last: SpanBatch = [];
  const next: SpanConsumer = {
    consume: async (batch) => {
      last = batch;
    },
  };
  const processor = evaluateRulesProcessorFactory.createProcessor(config, { id: 'evaluate_rules', logger: silentLogger(), telemetry: telemetry.forProcessor('evaluate_rules') }, next);
  const catalog = ObjectCatalog.detached(silentLogger());
  const capabilities = new CapabilityRegistry();
  const host: Host = {
    acquireHttpListener: () => Promise.reject(new Error('not used')),
    registerQueryBackend: () => {},
    store: () => undefined,
    registerAdminAction: () => {},
    workspaces: new WorkspaceDirectory(),
    objects: catalog,
    provide: (name, implementation) => capabilities.provide(name, implementation),
    capability: (name) => capabilities.get(name),
  };
  await processor.start(host);
  open.push(() => processor.shutdown());
  return {
    catalog,
    telemetry,
    run: async (batch) => {
      await processor.consume(batch, new AbortController().signal);
      return [...last];
    },
    evaluate: (rule, output, workspace = 'acme') => capabilities.get('ruleEvaluator')!.evaluate(rule, output, { workspace }),
  };
}

const judgeRule = (fields: Record<string, unknown> = {}) => ({ id: 'polite', name: 'Polite', type: 'llm_judge', value: 'The reply is polite and promises no refund.', ...fields });
const findingsOf = (span: Span): Finding[] => JSON.parse(span.attributes['tracehouse.findings'] as string) as Finding[];
const inWorkspace = (workspace: string, text = 'We will look into it.') => outputSpan(text, { 'tracehouse.workspace': workspace });

/** The settings objects of workspaces, as the control plane holds them (secrets decrypted in memory). */
function settings(catalog: ObjectCatalog, specs: Record<string, Record<string, unknown>>): void {
  catalog.declare('test', 'settings', Object.entries(specs).map(([workspace, spec]) => ({ workspace, id: 'workspace', spec })));
}

describe('llm_judge rules', () => {
  it('passes with the judge verdict, confidence and explanation in the finding, and records the cost', async () => {
    provider.enqueue({ ...PASS, usage: { input: 400, output: 30 } });
    const h = await harness([judgeRule()]);
    const span = chatSpan({ 'gen_ai.input.messages': messages('user', 'Where is my order?'), 'gen_ai.output.messages': messages('assistant', 'It ships tomorrow.') });
    const [out] = await h.run([span]);
    expect(out.attributes['tracehouse.verdict']).toBe('pass');
    expect(findingsOf(out)).toEqual([
      { ruleId: 'polite', ruleName: 'Polite', ruleType: 'llm_judge', ruleValue: 'The reply is polite and promises no refund.', scope: 'global', severity: 'medium', outcome: 'passed', detail: 'judge gpt-4o-mini: pass (confidence 0.9): The reply is polite.', confidence: 0.9 },
    ]);
    const price = new PriceBook(builtInCatalog().entries, []).lookup('gpt-4o-mini', { provider: 'openai' })!.price;
    expect(out.attributes['tracehouse.judge.cost_usd']).toBeCloseTo(costUsd(price, { input: 400n, output: 30n }), 12);
    expect(out.attributes['tracehouse.judge.cost_usd']).toBeGreaterThan(0);
    // One Chat Completions call: the configured key, a JSON answer asked for, criteria, input and output sent.
    expect(provider.requests).toHaveLength(1);
    const [request] = provider.requests;
    expect(request.path).toBe('/v1/chat/completions');
    expect(request.headers.authorization).toBe(`Bearer ${CONFIG_KEY}`);
    expect(request.body.model).toBe('gpt-4o-mini');
    expect(request.body.response_format).toEqual({ type: 'json_object' });
    const prompt = request.body.messages[1].content as string;
    expect(prompt).toContain('The reply is polite and promises no refund.');
    expect(prompt).toContain('<input>\nWhere is my order?\n</input>');
    expect(prompt).toContain('<output>\nIt ships tomorrow.\n</output>');
    expect(JSON.stringify(out.attributes)).not.toContain(CONFIG_KEY);
  });

  it('flags on a fail verdict with the explanation, at the rule severity, after the synchronous findings', async () => {
    provider.enqueue(FAIL);
    const h = await harness([judgeRule({ severity: 'high' }), { id: 'short', type: 'max_length', value: 1000 }]);
    const [out] = await h.run([outputSpan('Sure, full refund today!')]);
    expect(out.attributes['tracehouse.verdict']).toBe('flagged');
    expect(out.attributes['tracehouse.verdict.severity']).toBe('high');
    expect(findingsOf(out).map((f) => [f.ruleId, f.outcome, f.detail])).toEqual([
      ['short', 'passed', undefined],
      ['polite', 'triggered', 'judge gpt-4o-mini: fail (confidence 0.82): The reply promises a refund.'],
    ]);
    const metrics = await h.telemetry.metricsText();
    expect(metrics).toContain('tracehouse_processor_events_total{processor="evaluate_rules",event="judge_call",kind="fail"} 1');
  });

  it('asks Anthropic through the Messages API when the rule names it, reading a fenced JSON answer', async () => {
    provider.enqueue(answer('Here is my verdict:\n```json\n{"verdict": "FAIL", "confidence": 3, "explanation": "Rude."}\n```'));
    const h = await harness([judgeRule({ provider: 'anthropic', model: 'claude-haiku-4-5' })]);
    const [out] = await h.run([outputSpan('Go away.')]);
    expect(findingsOf(out)[0]).toMatchObject({ outcome: 'triggered', detail: 'judge claude-haiku-4-5: fail (confidence 1): Rude.' });
    const [request] = provider.requests;
    expect(request.path).toBe('/v1/messages');
    expect(request.headers['x-api-key']).toBe(CONFIG_KEY);
    expect(request.headers['anthropic-version']).toBe('2023-06-01');
    expect(request.headers.authorization).toBeUndefined();
    expect(request.body).toMatchObject({ model: 'claude-haiku-4-5', max_tokens: 1024 });
    expect(request.body.messages[0].content).toContain('<output>\nGo away.\n</output>');
  });

  it('calls OpenRouter under its /api base path', async () => {
    provider.enqueue({ ...PASS, pathPrefix: '/api' });
    const h = await harness([judgeRule({ provider: 'openrouter', model: 'anthropic/claude-3.5-haiku' })]);
    const [out] = await h.run([outputSpan('Fine.')]);
    expect(findingsOf(out)[0].outcome).toBe('passed');
    expect(provider.requests[0].path).toBe('/api/v1/chat/completions');
    expect(provider.requests[0].body.model).toBe('anthropic/claude-3.5-haiku');
  });

  it('gives an error verdict with a reason when the judge is slower than timeout_ms, and abandons the call', async () => {
    provider.enqueue({ ...PASS, latencyMs: 3_000 });
    const h = await harness([judgeRule()], { timeout_ms: 150, max_retries: 2 });
    const [out] = await h.run([outputSpan('Hello.')]);
    expect(out.attributes['tracehouse.verdict']).toBe('error');
    expect(findingsOf(out)[0]).toMatchObject({ outcome: 'error', detail: 'judge error: timed out after 150 ms' });
    expect(provider.requests).toHaveLength(1);
    // The judge hung up rather than leaving the call running.
    await waitFor('the provider to see the call abandoned', () => provider.requests[0].abortedAt);
    expect(out.attributes['tracehouse.judge.cost_usd']).toBeUndefined();
  });

  it('retries a 500 and then errs with the provider message; a 500 then an answer passes', async () => {
    provider.enqueue({ status: 500, errorMessage: 'upstream exploded' }, { status: 503 }, { status: 500 });
    const h = await harness([judgeRule()], { max_retries: 2 });
    const [out] = await h.run([outputSpan('Hello.')]);
    expect(findingsOf(out)[0]).toMatchObject({ outcome: 'error', detail: 'judge error: openai answered 500: The server had an error while processing your request. Sorry about that! (after 3 attempts)' });
    expect(provider.requests).toHaveLength(3);

    provider.reset();
    provider.enqueue({ status: 502 }, PASS);
    const [again] = await h.run([outputSpan('Hello.')]);
    expect(findingsOf(again)[0].outcome).toBe('passed');
    expect(provider.requests).toHaveLength(2);
  });

  it('does not retry a 400, and scrubs a key the provider echoes', async () => {
    provider.enqueue({ status: 400, errorMessage: `Invalid request for key ${CONFIG_KEY}` });
    const h = await harness([judgeRule()], { max_retries: 3 });
    const [out] = await h.run([outputSpan('Hello.')]);
    expect(findingsOf(out)[0]).toMatchObject({ outcome: 'error', detail: 'judge error: openai answered 400: Invalid request for key [api key]' });
    expect(provider.requests).toHaveLength(1);
    expect(JSON.stringify(out.attributes)).not.toContain(CONFIG_KEY);
  });

  it('waits out a short Retry-After, and errs at once when the Retry-After is beyond the timeout', async () => {
    provider.enqueue({ status: 429, retryAfter: '0' }, PASS);
    const h = await harness([judgeRule()], { timeout_ms: 2_000 });
    const [out] = await h.run([outputSpan('Hello.')]);
    expect(findingsOf(out)[0].outcome).toBe('passed');
    expect(provider.requests).toHaveLength(2);

    provider.reset();
    provider.enqueue({ status: 429, retryAfter: '60' }, PASS);
    const [late] = await h.run([outputSpan('Hello.')]);
    expect(findingsOf(late)[0].detail).toMatch(/^judge error: openai answered 429: .*; its Retry-After \(60000 ms\) is beyond the judge timeout$/);
    expect(provider.requests).toHaveLength(1);
  });

  it('retries a dropped connection', async () => {
    provider.enqueue({ dropBeforeHeaders: true }, FAIL);
    const h = await harness([judgeRule()]);
    const [out] = await h.run([outputSpan('Hello.')]);
    expect(findingsOf(out)[0].outcome).toBe('triggered');
    expect(provider.requests).toHaveLength(2);
  });

  it('errs when the judge does not answer the verdict JSON', async () => {
    provider.enqueue(answer('I think it is fine.'), answer({ verdict: 'maybe' }));
    const h = await harness([judgeRule()]);
    const [a] = await h.run([outputSpan('One.')]);
    const [b] = await h.run([outputSpan('Two.')]);
    expect(findingsOf(a)[0].detail).toBe("judge error: the judge's answer is not a JSON object");
    expect(findingsOf(b)[0].detail).toBe('judge error: the judge\'s answer has no "verdict" of "pass" or "fail"');
    // Tokens were spent all the same.
    expect(a.attributes['tracehouse.judge.cost_usd']).toBeGreaterThan(0);
  });

  it('refuses calls beyond max_concurrency + max_queue at once', async () => {
    provider.setDefault({ ...PASS, latencyMs: 100 });
    const h = await harness([judgeRule()], { max_concurrency: 1, max_queue: 1 });
    const out = await h.run([outputSpan('One.'), outputSpan('Two.'), outputSpan('Three.')]);
    expect(out.map((s) => findingsOf(s)[0].detail)).toEqual([
      'judge gpt-4o-mini: pass (confidence 0.9): The reply is polite.',
      'judge gpt-4o-mini: pass (confidence 0.9): The reply is polite.',
      'judge error: too many judge calls: 1 already waiting',
    ]);
    expect(provider.requests).toHaveLength(2);
  });

  it('takes key, model and provider from the workspace settings before the config, and the rule before both', async () => {
    provider.setDefault(PASS);
    const h = await harness([judgeRule()]);
    settings(h.catalog, { acme: { openaiApiKey: WORKSPACE_KEY, openaiJudgeModel: 'gpt-4.1-mini' }, globex: { defaultJudgeProvider: 'anthropic', anthropicJudgeModel: 'claude-sonnet-4-5' } });
    await h.run([inWorkspace('acme')]);
    await h.run([inWorkspace('initech')]);
    await h.run([inWorkspace('globex')]);
    const [acme, initech, globex] = provider.requests;
    expect([acme.headers.authorization, acme.body.model]).toEqual([`Bearer ${WORKSPACE_KEY}`, 'gpt-4.1-mini']);
    expect([initech.headers.authorization, initech.body.model]).toEqual([`Bearer ${CONFIG_KEY}`, 'gpt-4o-mini']);
    // Provider and model from the settings, the key from the config (globex has none of its own).
    expect([globex.path, globex.headers['x-api-key'], globex.body.model]).toEqual(['/v1/messages', CONFIG_KEY, 'claude-sonnet-4-5']);

    provider.reset();
    provider.setDefault(PASS);
    const ruled = await harness([judgeRule({ api_key: RULE_KEY, model: 'gpt-4o' })]);
    settings(ruled.catalog, { acme: { openaiApiKey: WORKSPACE_KEY, openaiJudgeModel: 'gpt-4.1-mini' } });
    const [out] = await ruled.run([inWorkspace('acme')]);
    expect([provider.requests[0].headers.authorization, provider.requests[0].body.model]).toEqual([`Bearer ${RULE_KEY}`, 'gpt-4o']);
    for (const key of [RULE_KEY, WORKSPACE_KEY, CONFIG_KEY]) expect(JSON.stringify(out.attributes)).not.toContain(key);
  });

  it('errs without calling anyone when no key is configured for the provider', async () => {
    const h = await harness([judgeRule()], { providers: { openai: { base_url: provider.url, api_key: '' } } });
    const [out] = await h.run([outputSpan('Hello.')]);
    expect(findingsOf(out)[0]).toMatchObject({ outcome: 'error', detail: expect.stringMatching(/^judge error: no API key for openai/) });
    expect(provider.requests).toHaveLength(0);
  });

  it('calls nothing for spans out of scope or without output, and passes them on untouched', async () => {
    const h = await harness([judgeRule({ scope: { project: 'support' } })]);
    const plain = httpSpan({ 'http.route': '/x' });
    const other = outputSpan('Hello.', { 'tracehouse.project': 'billing' });
    const noOutput = chatSpan({ 'tracehouse.project': 'support' });
    const out = await h.run([plain, other, noOutput]);
    expect(out[0]).toBe(plain);
    expect(out[1]).toBe(other);
    expect(out[2]).toBe(noOutput);
    expect(provider.requests).toHaveLength(0);
  });

  it('evaluates an API-shaped llm_judge rule for POST /api/rules/evaluate with the caller workspace settings', async () => {
    provider.enqueue(FAIL);
    const h = await harness([]);
    settings(h.catalog, { acme: { anthropicApiKey: WORKSPACE_KEY } });
    const findings = await h.evaluate({ name: 'No refunds', type: 'llm_judge', value: 'Never promise a refund.', llmJudgeProvider: 'anthropic', llmJudgeModel: 'claude-haiku-4-5' }, 'Full refund!');
    expect(findings).toEqual([
      { ruleId: 'evaluate', ruleName: 'No refunds', ruleType: 'llm_judge', ruleValue: 'Never promise a refund.', scope: 'global', severity: 'medium', outcome: 'triggered', detail: 'judge claude-haiku-4-5: fail (confidence 0.82): The reply promises a refund.', confidence: 0.82 },
    ]);
    expect(provider.requests[0].headers['x-api-key']).toBe(WORKSPACE_KEY);
  });
});

describe('llm_judge config', () => {
  const parse = (config: unknown) => evaluateRulesProcessorFactory.configSchema.safeParse(config);
  const problems = (config: unknown) => parse(config).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];

  it('defaults the judge section and treats an empty key as none', () => {
    const parsed = parse({ rules: [judgeRule()], judge: { providers: { openai: { api_key: '' } } } });
    expect(parsed.data?.judge).toMatchObject({ timeout_ms: 30_000, max_concurrency: 4, max_queue: 1_000, max_retries: 2, default_provider: 'openai' });
    expect(parsed.data?.judge.providers.openai).toEqual({ base_url: 'https://api.openai.com', model: 'gpt-4o-mini', api_key: undefined });
    expect(parsed.data?.judge.providers.openrouter.base_url).toBe('https://openrouter.ai/api');
  });

  it('refuses bad rules and bad judge settings', () => {
    expect(problems({ rules: [judgeRule({ value: '  ' })] })).toEqual(['rules.0.value: must not be empty']);
    expect(problems({ rules: [judgeRule({ provider: 'gemini' })] })[0]).toMatch(/^rules\.0\.provider: /);
    expect(problems({ rules: [judgeRule({ target: 'input' })] })[0]).toMatch(/^rules\.0: .*target/);
    expect(problems({ judge: { timeout_ms: 0 } })[0]).toMatch(/^judge\.timeout_ms: /);
    expect(problems({ judge: { max_concurrency: 0 } })[0]).toMatch(/^judge\.max_concurrency: /);
    expect(problems({ judge: { providers: { openai: { base_url: 'ftp://example.com' } } } })).toEqual(['judge.providers.openai.base_url: must be an http(s) URL']);
    expect(problems({ judge: { providers: { gemini: {} } } })[0]).toMatch(/^judge\.providers: .*gemini/);
  });
});
